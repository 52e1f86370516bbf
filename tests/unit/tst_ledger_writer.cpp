// Tests for LedgerWriter: batching, durability (including a kill -9 of a writing process),
// idempotent inserts, restart and migration, queue bounds, lock retries and throughput.
#include "core/store/ledger_reader.h"
#include "core/store/ledger_schema.h"
#include "core/store/ledger_writer.h"

#include <sqlite3.h>
#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

using namespace airlock;

namespace {

// When set (to a database path) the test binary acts as the writer process that gets killed.
constexpr char kCrashChildEnv[] = "AIRLOCK_LEDGER_CRASH_CHILD";
constexpr int kCrashRunMs = 1500;         // how long the child writes before SIGKILL
constexpr qint64 kCrashSafeAgeMs = 1000;  // rows appended longer ago than this must survive
constexpr int kChildStartTimeoutMs = 10000;
constexpr int kCommitDeadlineMarginMs = 900;  // commit time allowance on a loaded machine
// 100k rows take ~0.5 s here (1.5-3 s with both cores busy); the bound catches per-row synced
// commits (minutes) without failing on a loaded 2-core CI machine or under sanitizers.
constexpr int kThroughputBudgetMs = 8000;
constexpr int kShutdownBoundMs = 8000;  // the writer's 3 s retry budget plus slack

// A clock all processes share (CLOCK_MONOTONIC on Linux), so child and parent times compare.
qint64 monotonicMs() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

UsageRecord makeRecord(const QByteArray &id, qint64 tsMs = 1795615387123,
                       const QString &app = QStringLiteral("curl")) {
    UsageRecord r;
    r.id = id;
    r.tsMs = tsMs;
    r.app = app;
    r.pid = 4242;
    r.exePath = QStringLiteral("/usr/bin/curl");
    r.userAgent = QStringLiteral("curl/7.88.1");
    r.provider = QStringLiteral("openai");
    r.format = QStringLiteral("openai");
    r.endpoint = QStringLiteral("chat");
    r.model = QStringLiteral("gpt-4o-mini");
    r.status = 200;
    r.inputTokens = 120;
    r.outputTokens = 30;
    r.costUsd = 0.000036;
    r.latencyMs = 412.5;
    r.outcome = QStringLiteral("ok");
    return r;
}

// Direct read-write access for assertions the reader API does not offer.
class RawDb {
public:
    explicit RawDb(const QString &path) {
        sqlite3_open_v2(path.toUtf8().constData(), &db_, SQLITE_OPEN_READWRITE, nullptr);
        sqlite3_busy_timeout(db_, 5000);
    }
    ~RawDb() { sqlite3_close_v2(db_); }
    RawDb(const RawDb &) = delete;
    RawDb &operator=(const RawDb &) = delete;

    bool exec(const char *sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == 0; }
    QStringList column(const char *sql) {
        QStringList values;
        sqlite3_stmt *statement = nullptr;
        if (sqlite3_prepare_v2(db_, sql, -1, &statement, nullptr) != SQLITE_OK) {
            return {QStringLiteral("prepare failed: ") + QString::fromUtf8(sqlite3_errmsg(db_))};
        }
        while (sqlite3_step(statement) == SQLITE_ROW) {
            const auto *text = reinterpret_cast<const char *>(sqlite3_column_text(statement, 0));
            values << QString::fromUtf8(text ? text : "");
        }
        sqlite3_finalize(statement);
        return values;
    }
    QString value(const char *sql) { return column(sql).value(0); }

private:
    sqlite3 *db_ = nullptr;
};

// The writing half of survivesKillNineWithoutLosingRowsOlderThanOneSecond; never returns.
[[noreturn]] void runCrashChild(const QString &dbPath) {
    LedgerWriter writer(dbPath);
    QString error;
    if (!writer.start(&error)) {
        std::fprintf(stderr, "start failed: %s\n", qPrintable(error));
        std::exit(2);
    }
    for (qint64 n = 0;; ++n) {
        const QByteArray id = "crash-" + QByteArray::number(n);
        writer.append(makeRecord(id, 1795615387123 + n));
        // Printed only after append() returned: the line proves the row was handed over then.
        std::printf("%s %lld\n", id.constData(), static_cast<long long>(monotonicMs()));
        std::fflush(stdout);
        // Paces the load at a few thousand rows per second.
        if (n % 4 == 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

QList<QByteArray> numberedIds(const QByteArray &prefix, int count) {
    QList<QByteArray> ids;
    for (int i = 0; i < count; ++i) ids << prefix + QByteArray::number(i);
    return ids;
}

// Linux only: the threads of this process, to find the writer thread by its appearance.
QSet<QString> processThreads() {
    const QStringList entries =
        QDir(QStringLiteral("/proc/self/task")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    return QSet<QString>(entries.begin(), entries.end());
}

QByteArray threadState(const QString &tid) {
    QFile status(QStringLiteral("/proc/self/task/%1/status").arg(tid));
    if (!status.open(QIODevice::ReadOnly)) return {};
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("State:")) return line.mid(6).trimmed().left(1);
    }
    return {};
}

qint64 contextSwitches(const QString &tid) {
    QFile status(QStringLiteral("/proc/self/task/%1/status").arg(tid));
    if (!status.open(QIODevice::ReadOnly)) return -1;
    qint64 total = 0;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("voluntary_ctxt_switches:") ||
            line.startsWith("nonvoluntary_ctxt_switches:"))
            total += line.mid(line.indexOf(':') + 1).trimmed().toLongLong();
    }
    return total;
}

}  // namespace

class TestLedgerWriter : public QObject {
    Q_OBJECT

private slots:
    void createsDatabaseAndDirectoryReadableOnlyByOwner();
    void tightensPermissionsOfAnExistingDatabase();
    void refusesAFileThatIsNotADatabase();
    void refusesASchemaNewerThanThisBuild();
    void rowIsReadableWithinFlushInterval();
    void commitsEarlyWhenABatchIsFull();
    void flushCommitsWithoutWaitingForTheInterval();
    void destructorCommitsQueuedRows();
    void insertIsIdempotentById();
    void textColumnsKeepUnicodeAndAreCappedPerRow();
    void emptyIdIsReplacedByAUniqueId();
    void keepsRowsAcrossRestartAndMigrationIsANoop();
    void dropsOldestRowsWhenTheQueueIsFull();
    void keepsRowsAndRetriesWhenTheDatabaseIsLocked();
    void shutdownGivesUpOnADatabaseThatStaysLocked();
    void idleWriterThreadDoesNotWakeUp();
    void writes100kRowsFromFourThreadsWithoutLoss();
    void survivesKillNineWithoutLosingRowsOlderThanOneSecond();
};

void TestLedgerWriter::createsDatabaseAndDirectoryReadableOnlyByOwner() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString dbPath = dir.filePath(QStringLiteral("a/b/usage.db"));
    const QFileDevice::Permissions others = QFileDevice::ReadGroup | QFileDevice::WriteGroup |
                                            QFileDevice::ReadOther | QFileDevice::WriteOther;
    {
        LedgerWriter writer(dbPath);
        QString error;
        QVERIFY2(writer.start(&error), qPrintable(error));
        writer.append(makeRecord("perm-1"));
        writer.flush();
        // The WAL holds committed rows until a checkpoint: it must be as private as the db.
        for (const char *suffix : {"-wal", "-shm"}) {
            const QString path = dbPath + QLatin1String(suffix);
            QVERIFY2(QFile::exists(path), qPrintable(path));
            QCOMPARE(QFile::permissions(path) & others, QFileDevice::Permissions());
        }
    }
    QVERIFY(QFile::exists(dbPath));
    const QFileDevice::Permissions filePerms = QFile::permissions(dbPath);
    QVERIFY(filePerms & QFileDevice::ReadOwner);
    QVERIFY(filePerms & QFileDevice::WriteOwner);
    QCOMPARE(filePerms & others, QFileDevice::Permissions());
    QCOMPARE(QFile::permissions(dir.filePath(QStringLiteral("a/b"))) & others,
             QFileDevice::Permissions());

    RawDb raw(dbPath);
    QCOMPARE(raw.value("PRAGMA journal_mode"), QStringLiteral("wal"));
    QCOMPARE(raw.value("PRAGMA user_version").toInt(), LedgerSchema::kVersion);
    const QStringList indexes = raw.column(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = "
        "'requests' AND sql IS NOT NULL ORDER BY name");
    QCOMPARE(indexes,
             QStringList({QStringLiteral("requests_app_ts"), QStringLiteral("requests_ts")}));
}

void TestLedgerWriter::tightensPermissionsOfAnExistingDatabase() {
    QTemporaryDir dir;
    const QString dbPath = dir.filePath(QStringLiteral("usage.db"));
    QFile file(dbPath);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.close();
    QVERIFY(QFile::setPermissions(dbPath, QFileDevice::ReadOwner | QFileDevice::WriteOwner |
                                              QFileDevice::ReadGroup | QFileDevice::ReadOther));
    LedgerWriter writer(dbPath);
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    QCOMPARE(QFile::permissions(dbPath) & (QFileDevice::ReadGroup | QFileDevice::ReadOther),
             QFileDevice::Permissions());
}

void TestLedgerWriter::refusesAFileThatIsNotADatabase() {
    QTemporaryDir dir;
    const QString dbPath = dir.filePath(QStringLiteral("usage.db"));
    QFile file(dbPath);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QByteArray(8192, 'x'));
    file.close();
    LedgerWriter writer(dbPath);
    QString error;
    QVERIFY(!writer.start(&error));
    QVERIFY2(error.contains(QStringLiteral("not a database")), qPrintable(error));
    writer.flush();  // must not block without a running thread
}

void TestLedgerWriter::refusesASchemaNewerThanThisBuild() {
    QTemporaryDir dir;
    const QString dbPath = dir.filePath(QStringLiteral("usage.db"));
    {
        LedgerWriter writer(dbPath);
        QString error;
        QVERIFY2(writer.start(&error), qPrintable(error));
    }
    {
        RawDb raw(dbPath);
        QVERIFY(raw.exec("PRAGMA user_version = 99"));
    }
    LedgerWriter writer(dbPath);
    QString error;
    QVERIFY(!writer.start(&error));
    QVERIFY2(error.contains(QStringLiteral("newer")), qPrintable(error));
}

void TestLedgerWriter::rowIsReadableWithinFlushInterval() {
    QTemporaryDir dir;
    const QString dbPath = dir.filePath(QStringLiteral("usage.db"));
    LedgerOptions options;
    options.flushIntervalMs = 100;
    LedgerWriter writer(dbPath, options);
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    LedgerReader reader(dbPath);
    QVERIFY2(reader.open(&error), qPrintable(error));
    QCOMPARE(reader.count(), 0);

    QElapsedTimer sinceAppend;
    sinceAppend.start();
    writer.append(makeRecord("timing-1"));
    QTRY_COMPARE_WITH_TIMEOUT(reader.count(), 1, options.flushIntervalMs + kCommitDeadlineMarginMs);
    QVERIFY(sinceAppend.elapsed() <= options.flushIntervalMs + kCommitDeadlineMarginMs);
    QCOMPARE(writer.writtenRows(), 1);
}

void TestLedgerWriter::textColumnsKeepUnicodeAndAreCappedPerRow() {
    QTemporaryDir dir;
    const QString dbPath = dir.filePath(QStringLiteral("usage.db"));
    QString error;
    {
        LedgerWriter writer(dbPath);
        QVERIFY2(writer.start(&error), qPrintable(error));
        // One batch: each row's text must be its own, not what an earlier row left behind.
        UsageRecord a = makeRecord("text-a", 1, QStringLiteral("Zoë's tool ✓ 🚀"));
        a.userAgent = QString(LedgerSchema::kMaxTextFieldChars + 500, QLatin1Char('u'));
        UsageRecord b = makeRecord("text-b", 2, QStringLiteral("b"));
        b.userAgent = QStringLiteral("short");
        b.exePath = QString();
        UsageRecord c = makeRecord("text-c", 3, QStringLiteral("日本語のアプリ"));
        c.userAgent = QString(LedgerSchema::kMaxTextFieldChars + 1, QChar(0x00e9));
        writer.append(a);
        writer.append(b);
        writer.append(c);
        writer.flush();
        QCOMPARE(writer.writtenRows(), 3);
    }
    RawDb db(dbPath);
    QCOMPARE(db.column("SELECT app FROM requests ORDER BY ts_ms"),
             QStringList({QStringLiteral("Zoë's tool ✓ 🚀"), QStringLiteral("b"),
                          QStringLiteral("日本語のアプリ")}));
    QCOMPARE(db.column("SELECT length(user_agent) FROM requests ORDER BY ts_ms"),
             QStringList({QString::number(LedgerSchema::kMaxTextFieldChars), QStringLiteral("5"),
                          QString::number(LedgerSchema::kMaxTextFieldChars)}));
    QCOMPARE(db.value("SELECT user_agent FROM requests WHERE id = 'text-c'"),
             QString(LedgerSchema::kMaxTextFieldChars, QChar(0x00e9)));
    // An absent text is stored as an empty string, never NULL.
    QCOMPARE(db.value("SELECT typeof(exe) FROM requests WHERE id = 'text-b'"),
             QStringLiteral("text"));
}

void TestLedgerWriter::commitsEarlyWhenABatchIsFull() {
    QTemporaryDir dir;
    const QString dbPath = dir.filePath(QStringLiteral("usage.db"));
    LedgerOptions options;
    options.flushIntervalMs = 600000;  // only the batch size can trigger this commit
    options.maxBatchRows = 8;
    LedgerWriter writer(dbPath, options);
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    LedgerReader reader(dbPath);
    QVERIFY2(reader.open(&error), qPrintable(error));
    for (const QByteArray &id : numberedIds("batch-", 8)) writer.append(makeRecord(id));
    QTRY_COMPARE_WITH_TIMEOUT(reader.count(), 8, 5000);
}

void TestLedgerWriter::flushCommitsWithoutWaitingForTheInterval() {
    QTemporaryDir dir;
    const QString dbPath = dir.filePath(QStringLiteral("usage.db"));
    LedgerOptions options;
    options.flushIntervalMs = 600000;
    LedgerWriter writer(dbPath, options);
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    for (const QByteArray &id : numberedIds("flush-", 3)) writer.append(makeRecord(id));
    writer.flush();
    LedgerReader reader(dbPath);
    QVERIFY2(reader.open(&error), qPrintable(error));
    QCOMPARE(reader.count(), 3);
    QCOMPARE(writer.writtenRows(), 3);
    writer.flush();  // nothing pending: returns at once
}

void TestLedgerWriter::destructorCommitsQueuedRows() {
    QTemporaryDir dir;
    const QString dbPath = dir.filePath(QStringLiteral("usage.db"));
    {
        LedgerOptions options;
        options.flushIntervalMs = 600000;
        LedgerWriter writer(dbPath, options);
        QString error;
        QVERIFY2(writer.start(&error), qPrintable(error));
        for (const QByteArray &id : numberedIds("dtor-", 20)) writer.append(makeRecord(id));
    }
    LedgerReader reader(dbPath);
    QString error;
    QVERIFY2(reader.open(&error), qPrintable(error));
    QCOMPARE(reader.count(), 20);
}

void TestLedgerWriter::insertIsIdempotentById() {
    QTemporaryDir dir;
    const QString dbPath = dir.filePath(QStringLiteral("usage.db"));
    LedgerWriter writer(dbPath);
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    writer.append(makeRecord("same-id", 1000, QStringLiteral("first")));
    writer.append(makeRecord("same-id", 2000, QStringLiteral("second")));
    writer.flush();
    writer.append(makeRecord("same-id", 3000, QStringLiteral("third")));
    writer.flush();
    QCOMPARE(writer.writtenRows(), 1);
    QCOMPARE(writer.commitErrors(), 0);

    LedgerReader reader(dbPath);
    QVERIFY2(reader.open(&error), qPrintable(error));
    const QList<UsageRecord> rows = reader.requests({});
    QCOMPARE(rows.size(), 1);
    QCOMPARE(rows[0].id, QByteArray("same-id"));
    QCOMPARE(rows[0].app, QStringLiteral("first"));
    QCOMPARE(rows[0].tsMs, 1000);
}

void TestLedgerWriter::emptyIdIsReplacedByAUniqueId() {
    QTemporaryDir dir;
    const QString dbPath = dir.filePath(QStringLiteral("usage.db"));
    LedgerWriter writer(dbPath);
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    writer.append(makeRecord(QByteArray()));
    writer.append(makeRecord(QByteArray()));
    writer.flush();
    LedgerReader reader(dbPath);
    QVERIFY2(reader.open(&error), qPrintable(error));
    const QList<UsageRecord> rows = reader.requests({});
    QCOMPARE(rows.size(), 2);
    QVERIFY(!rows[0].id.isEmpty());
    QVERIFY(!rows[1].id.isEmpty());
    QVERIFY(rows[0].id != rows[1].id);
}

void TestLedgerWriter::keepsRowsAcrossRestartAndMigrationIsANoop() {
    QTemporaryDir dir;
    const QString dbPath = dir.filePath(QStringLiteral("usage.db"));
    QString error;
    {
        LedgerWriter writer(dbPath);
        QVERIFY2(writer.start(&error), qPrintable(error));
        for (const QByteArray &id : numberedIds("before-", 10)) writer.append(makeRecord(id));
    }
    QStringList schemaBefore;
    {
        RawDb raw(dbPath);
        schemaBefore = raw.column("SELECT sql FROM sqlite_master ORDER BY name");
        QCOMPARE(raw.value("PRAGMA user_version").toInt(), LedgerSchema::kVersion);
    }
    {
        LedgerWriter writer(dbPath);
        QVERIFY2(writer.start(&error), qPrintable(error));
        for (const QByteArray &id : numberedIds("after-", 5)) writer.append(makeRecord(id));
        writer.append(makeRecord("before-3"));  // already stored before the restart
        writer.flush();
        QCOMPARE(writer.writtenRows(), 5);
    }
    RawDb raw(dbPath);
    QCOMPARE(raw.column("SELECT sql FROM sqlite_master ORDER BY name"), schemaBefore);
    QCOMPARE(raw.value("PRAGMA user_version").toInt(), LedgerSchema::kVersion);
    LedgerReader reader(dbPath);
    QVERIFY2(reader.open(&error), qPrintable(error));
    QCOMPARE(reader.count(), 15);
}

void TestLedgerWriter::dropsOldestRowsWhenTheQueueIsFull() {
    QTemporaryDir dir;
    const QString dbPath = dir.filePath(QStringLiteral("usage.db"));
    LedgerOptions options;
    options.maxQueuedRows = 10;
    LedgerWriter writer(dbPath, options);
    // Not started yet: nothing drains the queue, so the bound must act.
    for (const QByteArray &id : numberedIds("q-", 15)) writer.append(makeRecord(id));
    QCOMPARE(writer.droppedRows(), 5);
    writer.flush();  // not running: returns at once
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    writer.flush();
    QCOMPARE(writer.writtenRows(), 10);

    RawDb raw(dbPath);
    QStringList expected;
    for (int i = 5; i < 15; ++i) expected << QStringLiteral("q-%1").arg(i);
    expected.sort();
    QCOMPARE(raw.column("SELECT id FROM requests ORDER BY id"), expected);
}

void TestLedgerWriter::keepsRowsAndRetriesWhenTheDatabaseIsLocked() {
    QTemporaryDir dir;
    const QString dbPath = dir.filePath(QStringLiteral("usage.db"));
    LedgerOptions options;
    options.busyTimeoutMs = 50;
    LedgerWriter writer(dbPath, options);
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));

    RawDb locker(dbPath);
    QVERIFY(locker.exec("BEGIN IMMEDIATE"));  // holds the write lock: commits fail with BUSY
    for (const QByteArray &id : numberedIds("locked-", 3)) writer.append(makeRecord(id));
    writer.flush();  // returns once an attempt failed
    QVERIFY(writer.commitErrors() >= 1);
    QVERIFY2(writer.lastError().contains(QStringLiteral("locked")), qPrintable(writer.lastError()));
    LedgerReader reader(dbPath);
    QVERIFY2(reader.open(&error), qPrintable(error));
    QCOMPARE(reader.count(), 0);

    QVERIFY(locker.exec("ROLLBACK"));
    writer.flush();
    QCOMPARE(reader.count(), 3);
    QCOMPARE(writer.writtenRows(), 3);
    QCOMPARE(writer.droppedRows(), 0);
}

void TestLedgerWriter::shutdownGivesUpOnADatabaseThatStaysLocked() {
    QTemporaryDir dir;
    const QString dbPath = dir.filePath(QStringLiteral("usage.db"));
    std::unique_ptr<RawDb> locker;
    QElapsedTimer timer;
    {
        LedgerOptions options;
        options.busyTimeoutMs = 50;
        LedgerWriter writer(dbPath, options);
        QString error;
        QVERIFY2(writer.start(&error), qPrintable(error));
        locker = std::make_unique<RawDb>(dbPath);
        QVERIFY(locker->exec("BEGIN IMMEDIATE"));
        writer.append(makeRecord("stuck-1"));
        timer.start();
    }
    // Bounded by the writer's shutdown retry budget (3 s), not by the lock holder.
    QVERIFY2(timer.elapsed() < kShutdownBoundMs, qPrintable(QString::number(timer.elapsed())));
    QVERIFY(locker->exec("ROLLBACK"));
    QCOMPARE(locker->value("SELECT COUNT(*) FROM requests"), QStringLiteral("0"));
}

void TestLedgerWriter::idleWriterThreadDoesNotWakeUp() {
    if (!QFile::exists(QStringLiteral("/proc/self/task")))
        QSKIP("needs /proc to observe the writer thread");
    QTemporaryDir dir;
    const QString dbPath = dir.filePath(QStringLiteral("usage.db"));
    LedgerOptions options;
    options.flushIntervalMs = 20;
    LedgerWriter writer(dbPath, options);
    const QSet<QString> before = processThreads();
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    const QSet<QString> added = processThreads() - before;
    if (added.size() != 1) QSKIP("cannot tell the writer thread apart");
    const QString tid = *added.begin();

    writer.append(makeRecord("idle-1"));
    writer.flush();
    // Sampled once it is asleep, so its last switch into the wait is not counted below.
    QTRY_COMPARE(threadState(tid), QByteArray("S"));
    const qint64 switchesBefore = contextSwitches(tid);
    QVERIFY(switchesBefore >= 0);
    // Observation window: a periodic timer at flushIntervalMs would switch ~25 times here.
    QTest::qWait(500);
    QCOMPARE(contextSwitches(tid), switchesBefore);
}

void TestLedgerWriter::writes100kRowsFromFourThreadsWithoutLoss() {
    constexpr int kThreads = 4;
    constexpr int kRowsPerThread = 25000;
    QTemporaryDir dir;
    const QString dbPath = dir.filePath(QStringLiteral("usage.db"));
    LedgerWriter writer(dbPath);
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));

    QElapsedTimer timer;
    timer.start();
    std::vector<std::thread> producers;
    producers.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
        producers.emplace_back([&writer, t] {
            const QByteArray prefix = "t" + QByteArray::number(t) + "-";
            for (int i = 0; i < kRowsPerThread; ++i)
                writer.append(makeRecord(prefix + QByteArray::number(i), 1795615387123 + i));
        });
    }
    for (std::thread &producer : producers) producer.join();
    const qint64 appendMs = timer.elapsed();
    writer.flush();
    const qint64 totalMs = timer.elapsed();
    qInfo("100k rows: appended in %lld ms, committed in %lld ms", appendMs, totalMs);
    QVERIFY2(totalMs < kThroughputBudgetMs, qPrintable(QString::number(totalMs)));
    QCOMPARE(writer.writtenRows(), kThreads * kRowsPerThread);
    QCOMPARE(writer.droppedRows(), 0);
    QCOMPARE(writer.commitErrors(), 0);

    LedgerReader reader(dbPath);
    QVERIFY2(reader.open(&error), qPrintable(error));
    QCOMPARE(reader.count(), kThreads * kRowsPerThread);
    RawDb raw(dbPath);
    const QStringList stored = raw.column("SELECT id FROM requests");
    const QSet<QString> storedIds(stored.begin(), stored.end());
    for (int t = 0; t < kThreads; ++t) {
        for (int i = 0; i < kRowsPerThread; ++i) {
            const QString id = QStringLiteral("t%1-%2").arg(t).arg(i);
            QVERIFY2(storedIds.contains(id), qPrintable(id));
        }
    }
}

void TestLedgerWriter::survivesKillNineWithoutLosingRowsOlderThanOneSecond() {
    QTemporaryDir dir;
    const QString dbPath = dir.filePath(QStringLiteral("usage.db"));
    QProcess child;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QString::fromLatin1(kCrashChildEnv), dbPath);
    child.setProcessEnvironment(env);
    child.setProgram(QCoreApplication::applicationFilePath());
    child.start();
    QVERIFY2(child.waitForStarted(kChildStartTimeoutMs), qPrintable(child.errorString()));

    QList<QPair<QByteArray, qint64>> appended;  // id, child's monotonic ms after append()
    QByteArray pending;
    const auto parseLines = [&] {
        pending += child.readAllStandardOutput();
        qsizetype lineEnd = -1;
        while ((lineEnd = pending.indexOf('\n')) >= 0) {
            const QList<QByteArray> parts = pending.left(lineEnd).split(' ');
            pending.remove(0, lineEnd + 1);
            if (parts.size() == 2) appended.append({parts[0], parts[1].toLongLong()});
        }
    };

    QElapsedTimer sinceStart;
    sinceStart.start();
    QElapsedTimer sinceFirstRow;
    while (!sinceFirstRow.isValid() || sinceFirstRow.elapsed() < kCrashRunMs) {
        child.waitForReadyRead(20);
        parseLines();
        QVERIFY2(child.state() == QProcess::Running,
                 qPrintable(QString::fromLocal8Bit(child.readAllStandardError())));
        if (!appended.isEmpty() && !sinceFirstRow.isValid()) sinceFirstRow.start();
        QVERIFY2(sinceFirstRow.isValid() || sinceStart.elapsed() < kChildStartTimeoutMs,
                 "the child wrote nothing");
    }
    const qint64 killedAtMs = monotonicMs();
    child.kill();  // SIGKILL: no destructor, no final flush
    QVERIFY(child.waitForFinished(kChildStartTimeoutMs));
    QCOMPARE(child.exitStatus(), QProcess::CrashExit);
    parseLines();  // lines written before the kill still sit in the pipe

    QSet<QByteArray> mustSurvive;
    for (const auto &[id, appendedAtMs] : appended) {
        if (killedAtMs - appendedAtMs > kCrashSafeAgeMs) mustSurvive.insert(id);
    }
    qInfo("child appended %lld rows; %lld older than %lld ms at the kill", qint64(appended.size()),
          qint64(mustSurvive.size()), kCrashSafeAgeMs);
    QVERIFY2(mustSurvive.size() >= 200, "the child wrote too little to test anything");
    QVERIFY2(appended.size() > mustSurvive.size(), "the kill did not happen under load");

    LedgerReader reader(dbPath);
    QString error;
    QVERIFY2(reader.open(&error), qPrintable(error));
    QSet<QByteArray> stored;
    RequestsQuery page;
    page.limit = 1000;
    for (;;) {
        const QList<UsageRecord> rows = reader.requests(page, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        for (const UsageRecord &row : rows) stored.insert(row.id);
        if (rows.size() < page.limit) break;
        page.offset += page.limit;
    }
    QByteArrayList missing;
    for (const QByteArray &id : std::as_const(mustSurvive)) {
        if (!stored.contains(id)) missing << id;
    }
    QVERIFY2(missing.isEmpty(), qPrintable(QStringLiteral("%1 rows lost, e.g. %2")
                                               .arg(missing.size())
                                               .arg(QString::fromLatin1(missing.value(0)))));

    RawDb raw(dbPath);
    QCOMPARE(raw.value("PRAGMA integrity_check"), QStringLiteral("ok"));
}

int main(int argc, char **argv) {
    const QByteArray crashChildDb = qgetenv(kCrashChildEnv);
    if (!crashChildDb.isEmpty()) runCrashChild(QString::fromLocal8Bit(crashChildDb));
    QCoreApplication app(argc, argv);
    TestLedgerWriter test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}

#include "tst_ledger_writer.moc"
