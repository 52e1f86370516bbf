#include "core/store/response_cache.h"

#include <sqlite3.h>
#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QPointer>

namespace airlock {

namespace {

constexpr int kBusyTimeoutMs = 1000;
// Eviction deletes the least recently used entries in chunks of this many rows.
constexpr int kEvictChunkRows = 64;
// Serialised headers larger than this are not worth keeping (real answers carry a few KB).
constexpr qsizetype kMaxStoredHeaderBytes = 64 * 1024;

constexpr QFileDevice::Permissions kDbFilePermissions =
    QFileDevice::ReadOwner | QFileDevice::WriteOwner;

struct StatementDeleter {
    void operator()(sqlite3_stmt *s) const { sqlite3_finalize(s); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

Statement prepare(sqlite3 *db, const char *sql) {
    sqlite3_stmt *s = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) {
        sqlite3_finalize(s);
        return {};
    }
    return Statement(s);
}

void bindText(sqlite3_stmt *s, int i, const QByteArray &v) {
    sqlite3_bind_text(s, i, v.constData(), int(v.size()), SQLITE_TRANSIENT);
}

void bindBlob(sqlite3_stmt *s, int i, const QByteArray &v) {
    sqlite3_bind_blob(s, i, v.constData(), int(v.size()), SQLITE_TRANSIENT);
}

QByteArray columnBytes(sqlite3_stmt *s, int i) {
    const void *p = sqlite3_column_blob(s, i);
    const int n = sqlite3_column_bytes(s, i);
    return p && n > 0 ? QByteArray(static_cast<const char *>(p), n) : QByteArray();
}

// One header per line, "name: value"; parsed values cannot contain CR or LF.
QByteArray encodeHeaders(const QList<QPair<QByteArray, QByteArray>> &headers) {
    QByteArray out;
    for (const auto &[name, value] : headers) {
        if (name.contains('\n') || value.contains('\n') || name.contains('\r') ||
            value.contains('\r'))
            continue;
        out += name + ": " + value + '\n';
    }
    return out;
}

QList<QPair<QByteArray, QByteArray>> decodeHeaders(const QByteArray &data) {
    QList<QPair<QByteArray, QByteArray>> out;
    for (const QByteArray &line : data.split('\n')) {
        const qsizetype colon = line.indexOf(": ");
        if (colon <= 0) continue;
        out.append({line.left(colon), line.mid(colon + 2)});
    }
    return out;
}

void addField(QCryptographicHash &h, const QByteArray &v) {
    // Length-prefixed so no two different inputs serialise alike.
    const QByteArray len = QByteArray::number(v.size()) + ':';
    h.addData(len);
    h.addData(v);
}

}  // namespace

bool replayableCacheHeader(const QByteArray &name) {
    static const char *const kDrop[] = {"connection",         "keep-alive", "proxy-connection",
                                        "proxy-authenticate", "te",         "trailer",
                                        "transfer-encoding",  "upgrade",    "content-length",
                                        "content-encoding",   "date",       "set-cookie",
                                        "retry-after"};
    for (const char *d : kDrop)
        if (name.compare(d, Qt::CaseInsensitive) == 0) return false;
    return !name.toLower().startsWith("x-airlock-") && !name.isEmpty();
}

ResponseCacheStore::ResponseCacheStore() = default;

ResponseCacheStore::~ResponseCacheStore() {
    if (m_db) sqlite3_close_v2(m_db);
}

bool ResponseCacheStore::exec(const char *sql, QString *error) {
    char *msg = nullptr;
    if (sqlite3_exec(m_db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
        if (error)
            *error = QStringLiteral("response cache: %1").arg(QString::fromUtf8(msg ? msg : "?"));
        sqlite3_free(msg);
        return false;
    }
    return true;
}

bool ResponseCacheStore::open(const QString &path, QString *error) {
    const QString dir = QFileInfo(path).absolutePath();
    if (!QDir().mkpath(dir)) {
        if (error) *error = QStringLiteral("cannot create directory %1").arg(dir);
        return false;
    }
    if (!QFileInfo::exists(path)) {
        // Created here with 0600 so SQLite never makes it with the umask's wider default;
        // SQLite gives the -wal and -shm files the same permissions.
        QFile file(path);
        if (!file.open(QIODevice::WriteOnly | QIODevice::NewOnly, kDbFilePermissions) &&
            !QFileInfo::exists(path)) {
            if (error)
                *error = QStringLiteral("cannot create %1: %2").arg(path, file.errorString());
            return false;
        }
    }
    QFile::setPermissions(path, kDbFilePermissions);
    sqlite3 *db = nullptr;
    const int rc = sqlite3_open_v2(path.toUtf8().constData(), &db,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        if (error)
            *error = QStringLiteral("cannot open %1: %2")
                         .arg(path, QString::fromUtf8(db ? sqlite3_errmsg(db) : "out of memory"));
        sqlite3_close_v2(db);
        return false;
    }
    m_db = db;
    sqlite3_busy_timeout(m_db, kBusyTimeoutMs);
    // A cache may lose its last writes in a crash: NORMAL keeps commits cheap under WAL.
    if (!exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
              "CREATE TABLE IF NOT EXISTS entries ("
              " key TEXT PRIMARY KEY, bucket TEXT NOT NULL, status INTEGER NOT NULL,"
              " headers BLOB, body BLOB, size INTEGER NOT NULL, expires_ms INTEGER NOT NULL,"
              " last_used_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL);"
              "CREATE INDEX IF NOT EXISTS entries_lru ON entries(bucket, last_used_ms);"
              "CREATE INDEX IF NOT EXISTS entries_expiry ON entries(expires_ms);",
              error)) {
        sqlite3_close_v2(m_db);
        m_db = nullptr;
        return false;
    }
    return true;
}

QByteArray ResponseCacheStore::key(const CacheKeyInput &input) {
    QCryptographicHash h(QCryptographicHash::Sha256);
    addField(h, "airlock-response-cache-v1");
    addField(h, input.provider.toUtf8());
    addField(h, input.format);
    addField(h, input.method.toUpper());
    addField(h, input.path);
    addField(h, input.body);
    addField(h, input.app.toUtf8());
    return h.result().toHex();
}

std::optional<CachedResponse> ResponseCacheStore::lookup(const QByteArray &key, qint64 nowMs) {
    if (!m_db) return std::nullopt;
    Statement sel =
        prepare(m_db, "SELECT status, headers, body, expires_ms FROM entries WHERE key = ?1");
    if (!sel) return std::nullopt;
    bindText(sel.get(), 1, key);
    if (sqlite3_step(sel.get()) != SQLITE_ROW) return std::nullopt;
    CachedResponse r;
    r.status = sqlite3_column_int(sel.get(), 0);
    const QByteArray headers = columnBytes(sel.get(), 1);
    r.body = columnBytes(sel.get(), 2);
    const qint64 expires = sqlite3_column_int64(sel.get(), 3);
    sel.reset();
    if (expires <= nowMs) {
        if (Statement del = prepare(m_db, "DELETE FROM entries WHERE key = ?1")) {
            bindText(del.get(), 1, key);
            sqlite3_step(del.get());
        }
        return std::nullopt;
    }
    r.headers = decodeHeaders(headers);
    if (Statement touch = prepare(m_db, "UPDATE entries SET last_used_ms = ?2 WHERE key = ?1")) {
        bindText(touch.get(), 1, key);
        sqlite3_bind_int64(touch.get(), 2, nowMs);
        sqlite3_step(touch.get());
    }
    return r;
}

bool ResponseCacheStore::store(const QByteArray &key, const QString &bucket,
                               const CachedResponse &response, qint64 expiresAtMs, qint64 maxBytes,
                               qint64 nowMs, QString *error) {
    if (!m_db) return false;
    const QByteArray headers = encodeHeaders(response.headers);
    const qint64 size = headers.size() + response.body.size() + key.size();
    if (maxBytes <= 0 || size > maxBytes || headers.size() > kMaxStoredHeaderBytes ||
        expiresAtMs <= nowMs)
        return false;
    const QByteArray b = bucket.toUtf8();
    if (!exec("BEGIN IMMEDIATE", error)) return false;
    bool ok = false;
    {
        Statement expire = prepare(m_db, "DELETE FROM entries WHERE expires_ms <= ?1");
        Statement ins = prepare(
            m_db,
            "INSERT OR REPLACE INTO entries (key, bucket, status, headers, body, size, "
            "expires_ms, last_used_ms, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)");
        Statement sum =
            prepare(m_db, "SELECT COALESCE(SUM(size), 0) FROM entries WHERE bucket = ?1");
        Statement oldest = prepare(m_db,
                                   "SELECT key, size FROM entries WHERE bucket = ?1 AND key != ?2 "
                                   "ORDER BY last_used_ms, rowid LIMIT ?3");
        Statement del = prepare(m_db, "DELETE FROM entries WHERE key = ?1");
        if (expire && ins && sum && oldest && del) {
            sqlite3_bind_int64(expire.get(), 1, nowMs);
            sqlite3_step(expire.get());
            bindText(ins.get(), 1, key);
            bindText(ins.get(), 2, b);
            sqlite3_bind_int(ins.get(), 3, response.status);
            bindBlob(ins.get(), 4, headers);
            bindBlob(ins.get(), 5, response.body);
            sqlite3_bind_int64(ins.get(), 6, size);
            sqlite3_bind_int64(ins.get(), 7, expiresAtMs);
            sqlite3_bind_int64(ins.get(), 8, nowMs);
            ok = sqlite3_step(ins.get()) == SQLITE_DONE;
            bindText(sum.get(), 1, b);
            qint64 total =
                sqlite3_step(sum.get()) == SQLITE_ROW ? sqlite3_column_int64(sum.get(), 0) : 0;
            while (ok && total > maxBytes) {
                sqlite3_reset(oldest.get());
                bindText(oldest.get(), 1, b);
                bindText(oldest.get(), 2, key);
                sqlite3_bind_int(oldest.get(), 3, kEvictChunkRows);
                QList<QPair<QByteArray, qint64>> victims;
                while (sqlite3_step(oldest.get()) == SQLITE_ROW)
                    victims.append(
                        {columnBytes(oldest.get(), 0), sqlite3_column_int64(oldest.get(), 1)});
                if (victims.isEmpty()) break;  // only the new entry is left, and it fits
                for (const auto &[victim, victimSize] : victims) {
                    if (total <= maxBytes) break;
                    sqlite3_reset(del.get());
                    bindText(del.get(), 1, victim);
                    if (sqlite3_step(del.get()) != SQLITE_DONE) {
                        ok = false;
                        break;
                    }
                    total -= victimSize;
                }
            }
        }
    }
    if (!ok) {
        if (error && error->isEmpty())
            *error =
                QStringLiteral("response cache: %1").arg(QString::fromUtf8(sqlite3_errmsg(m_db)));
        exec("ROLLBACK", nullptr);
        return false;
    }
    return exec("COMMIT", error);
}

qint64 ResponseCacheStore::bucketBytes(const QString &bucket) {
    if (!m_db) return 0;
    Statement s = prepare(m_db, "SELECT COALESCE(SUM(size), 0) FROM entries WHERE bucket = ?1");
    if (!s) return 0;
    bindText(s.get(), 1, bucket.toUtf8());
    return sqlite3_step(s.get()) == SQLITE_ROW ? sqlite3_column_int64(s.get(), 0) : 0;
}

qint64 ResponseCacheStore::entryCount() {
    if (!m_db) return 0;
    Statement s = prepare(m_db, "SELECT COUNT(*) FROM entries");
    return s && sqlite3_step(s.get()) == SQLITE_ROW ? sqlite3_column_int64(s.get(), 0) : 0;
}

ResponseCache::ResponseCache(QObject *parent)
    : QObject(parent),
      m_idleWorker(std::make_unique<QObject>()),
      m_store(std::make_shared<ResponseCacheStore>()) {
    m_thread.setObjectName(QStringLiteral("response-cache"));
    m_worker = m_idleWorker.get();
}

ResponseCache::~ResponseCache() {
    if (!m_started) return;  // m_idleWorker still owns the worker
    // Stores already posted are written before the thread ends (a restart finds them).
    QMetaObject::invokeMethod(
        m_worker, [] {}, Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
}

void ResponseCache::start() {
    if (m_started) return;
    m_started = true;
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    (void)m_idleWorker.release();  // from here deleteLater on the thread's end frees it
    m_thread.start();              // lookups sit on the request path: not a low-priority thread
    if (m_deferredPath.isEmpty()) return;
    // Queued ahead of the call that started the thread, so that call finds the database open.
    QMetaObject::invokeMethod(m_worker, [store = m_store, path = m_deferredPath] {
        QString error;
        if (!store->open(path, &error))
            qWarning("airlockd: response cache disabled: %s", qPrintable(error));
    });
}

void ResponseCache::openOnFirstUse(const QString &path) {
    m_deferredPath = path;
}

bool ResponseCache::open(const QString &path, QString *error) {
    m_deferredPath.clear();  // opened here, not twice
    start();
    bool ok = false;
    QString err;
    std::shared_ptr<ResponseCacheStore> store = m_store;
    QMetaObject::invokeMethod(
        m_worker, [&] { ok = store->open(path, &err); }, Qt::BlockingQueuedConnection);
    if (!ok && error) *error = err;
    return ok;
}

void ResponseCache::lookup(const QByteArray &key, QObject *context,
                           std::function<void(std::optional<CachedResponse>)> done) {
    start();
    QPointer<QObject> target(context);
    std::shared_ptr<ResponseCacheStore> store = m_store;
    QMetaObject::invokeMethod(m_worker, [store, key, target, done = std::move(done)]() mutable {
        std::optional<CachedResponse> r = store->lookup(key, QDateTime::currentMSecsSinceEpoch());
        if (!target) return;
        QMetaObject::invokeMethod(
            target.data(),
            [target, r = std::move(r), done = std::move(done)]() mutable {
                if (target) done(std::move(r));
            },
            Qt::QueuedConnection);
    });
}

void ResponseCache::store(const QByteArray &key, const QString &bucket, CachedResponse response,
                          int ttlSeconds, qint64 maxBytes) {
    start();
    std::shared_ptr<ResponseCacheStore> store = m_store;
    QMetaObject::invokeMethod(
        m_worker, [store, key, bucket, response = std::move(response), ttlSeconds, maxBytes] {
            const qint64 now = QDateTime::currentMSecsSinceEpoch();
            QString error;
            if (!store->store(key, bucket, response, now + qint64(ttlSeconds) * 1000, maxBytes, now,
                              &error) &&
                !error.isEmpty())
                qWarning("airlockd: %s", qPrintable(error));
        });
}

void ResponseCache::whenIdle(QObject *context, std::function<void()> done) {
    start();
    QPointer<QObject> target(context);
    QMetaObject::invokeMethod(m_worker, [target, done = std::move(done)]() mutable {
        if (!target) return;
        QMetaObject::invokeMethod(
            target.data(),
            [target, done = std::move(done)] {
                if (target) done();
            },
            Qt::QueuedConnection);
    });
}

}  // namespace airlock
