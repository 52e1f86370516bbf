#include "core/store/ledger_writer.h"

#include "core/store/ledger_schema.h"

#include <sqlite3.h>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QUuid>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace airlock {

namespace {

using Clock = std::chrono::steady_clock;
using Milliseconds = std::chrono::milliseconds;

constexpr int kInitialRetryBackoffMs = 50;
constexpr int kMaxRetryBackoffMs = 5000;
// At shutdown a failing disk gets this long before the queued rows are given up as lost.
constexpr int kShutdownRetryBudgetMs = 3000;

// The ledger holds per-app usage: owner-only on the file and on a directory we create.
constexpr QFileDevice::Permissions kDbFilePermissions =
    QFileDevice::ReadOwner | QFileDevice::WriteOwner;
constexpr QFileDevice::Permissions kDbDirPermissions =
    QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner;
constexpr QFileDevice::Permissions kGroupOtherPermissions =
    QFileDevice::ReadGroup | QFileDevice::WriteGroup | QFileDevice::ExeGroup |
    QFileDevice::ReadOther | QFileDevice::WriteOther | QFileDevice::ExeOther;

void setError(QString *error, const QString &message) {
    if (error) *error = message;
}

bool ensureDatabaseFile(const QString &path, QString *error) {
    const QFileInfo info(path);
    const QString dirPath = info.absolutePath();
    if (!QFileInfo::exists(dirPath)) {
        if (!QDir().mkpath(dirPath)) {
            setError(error, QStringLiteral("cannot create directory %1").arg(dirPath));
            return false;
        }
        QFile::setPermissions(dirPath, kDbDirPermissions);
    }
    if (!QFileInfo::exists(path)) {
        // Created here with 0600 so SQLite never makes it with the umask's wider default.
        QFile file(path);
        if (!file.open(QIODevice::WriteOnly | QIODevice::NewOnly, kDbFilePermissions) &&
            !QFileInfo::exists(path)) {
            setError(error, QStringLiteral("cannot create %1: %2").arg(path, file.errorString()));
            return false;
        }
    }
    if (QFile::permissions(path) & kGroupOtherPermissions) {
        if (!QFile::setPermissions(path, kDbFilePermissions)) {
            setError(error, QStringLiteral("cannot restrict permissions of %1").arg(path));
            return false;
        }
    }
    return true;
}

}  // namespace

struct LedgerWriter::Impl {
    QString dbPath;
    LedgerOptions options;

    // Everything below up to the atomics is guarded by mutex.
    mutable std::mutex mutex;
    std::condition_variable wake;        // the writer thread waits here
    std::condition_variable progressed;  // flush() waits here
    std::deque<UsageRecord> queue;
    Clock::time_point oldestQueuedAt;  // when the queue last went from empty to non-empty
    quint64 appendedSeq = 0;           // sequence number of the newest appended record
    quint64 inflightFirstSeq = 0;
    qsizetype inflightCount = 0;
    quint64 flushTargetSeq = 0;  // records up to here are wanted on disk now
    quint64 flushRequests = 0;   // a new request cuts a retry backoff short
    quint64 flushServed = 0;
    quint64 attemptsStarted = 0;
    quint64 lastFailedAttempt = 0;
    bool running = false;
    bool stopping = false;
    Clock::time_point stopRequestedAt;
    QString lastError;

    std::atomic<qint64> dropped{0};
    std::atomic<qint64> written{0};
    std::atomic<qint64> commitErrors{0};

    // Owned by the writer thread once it runs. db is declared first so statements die first.
    SqliteHandle db;
    SqliteStatement beginStatement;
    SqliteStatement insertStatement;
    SqliteStatement commitStatement;
    SqliteStatement rollbackStatement;
    std::vector<UsageRecord> inflight;
    std::thread thread;

    // Records are ordered: in-flight batch first, then the queue, whose tail is appendedSeq.
    quint64 firstPendingSeq() const {
        if (inflightCount > 0) return inflightFirstSeq;
        if (!queue.empty()) return appendedSeq - quint64(queue.size()) + 1;
        return appendedSeq + 1;
    }

    bool open(QString *error);
    void run();
    void takeBatch();
    bool commitBatch(qint64 *inserted, QString *error);
    bool stepOnce(sqlite3_stmt *statement, const QString &what, QString *error);
};

bool LedgerWriter::Impl::open(QString *error) {
    if (!ensureDatabaseFile(dbPath, error)) return false;
    sqlite3 *raw = nullptr;
    const int rc = sqlite3_open_v2(dbPath.toUtf8().constData(), &raw,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    db.reset(raw);
    if (rc != SQLITE_OK) {
        setError(error, LedgerSchema::errorText(db.get(), QStringLiteral("open %1").arg(dbPath)));
        db.reset();
        return false;
    }
    sqlite3_extended_result_codes(db.get(), 1);
    QString why;
    if (!LedgerSchema::prepareForWriting(db.get(), options.busyTimeoutMs, &why)) {
        setError(error, QStringLiteral("%1: %2").arg(dbPath, why));
        db.reset();
        return false;
    }
    beginStatement = LedgerSchema::prepare(db.get(), "BEGIN IMMEDIATE", true, &why);
    if (beginStatement)
        insertStatement = LedgerSchema::prepare(db.get(), LedgerSchema::insertSql(), true, &why);
    if (insertStatement) commitStatement = LedgerSchema::prepare(db.get(), "COMMIT", true, &why);
    if (commitStatement)
        rollbackStatement = LedgerSchema::prepare(db.get(), "ROLLBACK", true, &why);
    if (!rollbackStatement) {
        setError(error, QStringLiteral("%1: %2").arg(dbPath, why));
        beginStatement.reset();
        insertStatement.reset();
        commitStatement.reset();
        db.reset();
        return false;
    }
    return true;
}

bool LedgerWriter::Impl::stepOnce(sqlite3_stmt *statement, const QString &what, QString *error) {
    const int rc = sqlite3_step(statement);
    // The message must be read before reset, which may replace it.
    if (rc != SQLITE_DONE) setError(error, LedgerSchema::errorText(db.get(), what));
    sqlite3_reset(statement);
    return rc == SQLITE_DONE;
}

bool LedgerWriter::Impl::commitBatch(qint64 *inserted, QString *error) {
    sqlite3 *handle = db.get();
    const auto rollback = [&] {
        if (!sqlite3_get_autocommit(handle)) {
            sqlite3_step(rollbackStatement.get());
            sqlite3_reset(rollbackStatement.get());
        }
    };
    if (!stepOnce(beginStatement.get(), QStringLiteral("begin"), error)) {
        rollback();
        return false;
    }
    qint64 changes = 0;
    for (const UsageRecord &record : inflight) {
        const int bindRc = LedgerSchema::bindRecord(insertStatement.get(), record);
        if (bindRc != SQLITE_OK) {
            setError(error, QStringLiteral("bind: %1 (code %2)")
                                .arg(QString::fromUtf8(sqlite3_errstr(bindRc)))
                                .arg(bindRc));
            sqlite3_reset(insertStatement.get());
            rollback();
            return false;
        }
        if (!stepOnce(insertStatement.get(), QStringLiteral("insert"), error)) {
            rollback();
            return false;
        }
        changes += sqlite3_changes(handle);
    }
    if (!stepOnce(commitStatement.get(), QStringLiteral("commit"), error)) {
        rollback();
        return false;
    }
    *inserted = changes;
    return true;
}

void LedgerWriter::Impl::takeBatch() {
    const qsizetype count = std::min<qsizetype>(qsizetype(queue.size()), options.maxBatchRows);
    inflightFirstSeq = firstPendingSeq();
    inflight.clear();
    inflight.reserve(size_t(count));
    for (qsizetype i = 0; i < count; ++i) {
        inflight.push_back(std::move(queue.front()));
        queue.pop_front();
    }
    inflightCount = count;
}

void LedgerWriter::Impl::run() {
    std::unique_lock lock(mutex);
    int backoffMs = 0;
    bool stopSeen = false;
    const auto flushWanted = [this] {
        return !queue.empty() && flushTargetSeq >= appendedSeq - quint64(queue.size()) + 1;
    };
    const auto batchDue = [&] {
        return stopping || flushWanted() || qsizetype(queue.size()) >= options.maxBatchRows;
    };
    for (;;) {
        if (inflightCount == 0) {
            if (queue.empty()) {
                if (stopping) break;
                // Idle: no timeout, so an idle writer never wakes up.
                wake.wait(lock, [this] { return stopping || !queue.empty(); });
                continue;
            }
            if (!batchDue())
                wake.wait_until(lock, oldestQueuedAt + Milliseconds(options.flushIntervalMs),
                                batchDue);
            takeBatch();
        } else if (backoffMs > 0) {
            Clock::time_point until = Clock::now() + Milliseconds(backoffMs);
            if (stopping)
                until = std::min(until, stopRequestedAt + Milliseconds(kShutdownRetryBudgetMs));
            // A new flush() or the start of shutdown retries at once.
            wake.wait_until(lock, until, [&] {
                return flushRequests != flushServed || (stopping && !stopSeen);
            });
            stopSeen = stopping;
        }

        flushServed = flushRequests;
        const quint64 attempt = ++attemptsStarted;
        lock.unlock();
        qint64 inserted = 0;
        QString error;
        const bool ok = commitBatch(&inserted, &error);
        // Freed outside the lock so append() never waits for a batch's destructors.
        if (ok) inflight.clear();
        lock.lock();
        if (ok) {
            written += inserted;
            inflightCount = 0;
            backoffMs = 0;
        } else {
            ++commitErrors;
            lastError = error;
            lastFailedAttempt = attempt;
            backoffMs = backoffMs == 0 ? kInitialRetryBackoffMs
                                       : std::min(backoffMs * 2, kMaxRetryBackoffMs);
            if (stopping &&
                Clock::now() >= stopRequestedAt + Milliseconds(kShutdownRetryBudgetMs)) {
                const qint64 lost = inflightCount + qint64(queue.size());
                dropped += lost;
                inflight.clear();
                inflightCount = 0;
                queue.clear();
                lastError =
                    QStringLiteral("%1; gave up on %2 rows at shutdown").arg(error).arg(lost);
            }
        }
        progressed.notify_all();
    }
    running = false;
    progressed.notify_all();
}

LedgerWriter::LedgerWriter(QString dbPath, LedgerOptions options) : d(std::make_unique<Impl>()) {
    d->dbPath = std::move(dbPath);
    options.flushIntervalMs = std::max(options.flushIntervalMs, 0);
    options.maxBatchRows = std::max(options.maxBatchRows, 1);
    options.maxQueuedRows = std::max<qint64>(options.maxQueuedRows, 1);
    options.busyTimeoutMs = std::max(options.busyTimeoutMs, 0);
    d->options = options;
}

LedgerWriter::~LedgerWriter() {
    if (!d->thread.joinable()) return;
    {
        std::lock_guard lock(d->mutex);
        d->stopping = true;
        d->stopRequestedAt = Clock::now();
    }
    d->wake.notify_all();
    d->thread.join();
}

bool LedgerWriter::start(QString *error) {
    if (d->thread.joinable()) return true;
    if (!d->open(error)) return false;
    {
        std::lock_guard lock(d->mutex);
        d->running = true;
    }
    try {
        d->thread = std::thread([impl = d.get()] { impl->run(); });
    } catch (const std::system_error &e) {
        std::lock_guard lock(d->mutex);
        d->running = false;
        setError(error, QStringLiteral("cannot start ledger writer thread: %1").arg(e.what()));
        return false;
    }
    return true;
}

void LedgerWriter::append(UsageRecord record) {
    // The primary key makes inserts idempotent; an empty id would collapse unrelated rows.
    if (record.id.isEmpty()) record.id = QUuid::createUuid().toByteArray(QUuid::WithoutBraces);
    bool notify = false;
    {
        std::lock_guard lock(d->mutex);
        while (qint64(d->queue.size()) >= d->options.maxQueuedRows) {
            d->queue.pop_front();
            ++d->dropped;
        }
        if (d->queue.empty()) d->oldestQueuedAt = Clock::now();
        d->queue.push_back(std::move(record));
        ++d->appendedSeq;
        // Only these two transitions can end a wait of the writer thread.
        notify = d->queue.size() == 1 || qsizetype(d->queue.size()) == d->options.maxBatchRows;
    }
    if (notify) d->wake.notify_one();
}

void LedgerWriter::flush() {
    std::unique_lock lock(d->mutex);
    if (!d->running) return;
    const quint64 target = d->appendedSeq;
    if (d->firstPendingSeq() > target) return;
    const quint64 attemptsAtCall = d->attemptsStarted;
    d->flushTargetSeq = std::max(d->flushTargetSeq, target);
    ++d->flushRequests;
    d->wake.notify_one();
    d->progressed.wait(lock, [&] {
        return !d->running || d->firstPendingSeq() > target ||
               d->lastFailedAttempt > attemptsAtCall;
    });
}

qint64 LedgerWriter::droppedRows() const {
    return d->dropped.load();
}

qint64 LedgerWriter::writtenRows() const {
    return d->written.load();
}

qint64 LedgerWriter::commitErrors() const {
    return d->commitErrors.load();
}

QString LedgerWriter::lastError() const {
    std::lock_guard lock(d->mutex);
    return d->lastError;
}

}  // namespace airlock
