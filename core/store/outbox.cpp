#include "core/store/outbox.h"

#include <sqlite3.h>
#include <QDateTime>
#include <QFile>
#include <QFileInfo>

namespace airlock {

namespace {
constexpr int kBusyTimeoutMs = 5000;

struct Stmt {
    sqlite3_stmt *s = nullptr;
    Stmt(sqlite3 *db, const char *sql) { sqlite3_prepare_v2(db, sql, -1, &s, nullptr); }
    ~Stmt() { sqlite3_finalize(s); }
    Stmt(const Stmt &) = delete;
    Stmt &operator=(const Stmt &) = delete;
};
}  // namespace

Outbox::Outbox(QString dbPath) : m_path(std::move(dbPath)) {}

Outbox::~Outbox() {
    if (m_db) sqlite3_close_v2(m_db);
}

bool Outbox::open(QString *error) {
    std::lock_guard lock(m_mutex);
    if (m_db) return true;
    if (!QFileInfo::exists(m_path)) {
        QFile f(m_path);  // 0600: usage records name apps and models
        if (!f.open(QIODevice::WriteOnly | QIODevice::NewOnly,
                    QFileDevice::ReadOwner | QFileDevice::WriteOwner) &&
            !QFileInfo::exists(m_path)) {
            *error = QStringLiteral("cannot create %1: %2").arg(m_path, f.errorString());
            return false;
        }
    }
    if (sqlite3_open_v2(m_path.toUtf8().constData(), &m_db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
        *error = QStringLiteral("cannot open %1: %2")
                     .arg(m_path, QString::fromUtf8(sqlite3_errmsg(m_db)));
        sqlite3_close_v2(m_db);
        m_db = nullptr;
        return false;
    }
    sqlite3_busy_timeout(m_db, kBusyTimeoutMs);
    char *msg = nullptr;
    // WAL + NORMAL: a commit survives a process crash; enqueue costs no fsync on the event loop.
    if (sqlite3_exec(m_db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id "
                     "BLOB NOT NULL UNIQUE,"
                     " enqueued_ms INTEGER NOT NULL, record BLOB NOT NULL)",
                     nullptr, nullptr, &msg) != SQLITE_OK) {
        *error = QStringLiteral("%1: %2").arg(m_path, QString::fromUtf8(msg));
        sqlite3_free(msg);
        return false;
    }
    return true;
}

bool Outbox::enqueue(const QByteArray &id, const QByteArray &json) {
    std::lock_guard lock(m_mutex);
    if (!m_db) return false;
    Stmt st(m_db, "INSERT OR IGNORE INTO outbox (id, enqueued_ms, record) VALUES (?, ?, ?)");
    sqlite3_bind_blob(st.s, 1, id.constData(), int(id.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(st.s, 2, QDateTime::currentMSecsSinceEpoch());
    sqlite3_bind_blob(st.s, 3, json.constData(), int(json.size()), SQLITE_TRANSIENT);
    const bool ok = sqlite3_step(st.s) == SQLITE_DONE;
    if (!ok) qWarning("airlockd: outbox: %s", sqlite3_errmsg(m_db));
    // Bounded: beyond the cap the oldest records go (logged), rather than filling the disk.
    sqlite3_exec(m_db, "DELETE FROM outbox WHERE seq <= (SELECT MAX(seq) FROM outbox) - 1000000",
                 nullptr, nullptr, nullptr);
    return ok;
}

QList<QPair<QByteArray, QByteArray>> Outbox::peek(int limit) {
    std::lock_guard lock(m_mutex);
    QList<QPair<QByteArray, QByteArray>> out;
    if (!m_db) return out;
    Stmt st(m_db, "SELECT id, record FROM outbox ORDER BY seq LIMIT ?");
    sqlite3_bind_int(st.s, 1, limit);
    while (sqlite3_step(st.s) == SQLITE_ROW) {
        out.append({QByteArray(static_cast<const char *>(sqlite3_column_blob(st.s, 0)),
                               sqlite3_column_bytes(st.s, 0)),
                    QByteArray(static_cast<const char *>(sqlite3_column_blob(st.s, 1)),
                               sqlite3_column_bytes(st.s, 1))});
    }
    return out;
}

bool Outbox::remove(const QList<QByteArray> &ids) {
    std::lock_guard lock(m_mutex);
    if (!m_db) return false;
    sqlite3_exec(m_db, "BEGIN", nullptr, nullptr, nullptr);
    bool ok = true;
    {
        Stmt st(m_db, "DELETE FROM outbox WHERE id = ?");
        for (const QByteArray &id : ids) {
            sqlite3_bind_blob(st.s, 1, id.constData(), int(id.size()), SQLITE_TRANSIENT);
            ok = sqlite3_step(st.s) == SQLITE_DONE && ok;
            sqlite3_reset(st.s);
        }
    }
    sqlite3_exec(m_db, ok ? "COMMIT" : "ROLLBACK", nullptr, nullptr, nullptr);
    return ok;
}

qint64 Outbox::count() {
    std::lock_guard lock(m_mutex);
    if (!m_db) return -1;
    Stmt st(m_db, "SELECT COUNT(*) FROM outbox");
    return sqlite3_step(st.s) == SQLITE_ROW ? sqlite3_column_int64(st.s, 0) : -1;
}

}  // namespace airlock
