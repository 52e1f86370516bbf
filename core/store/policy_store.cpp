#include "core/store/policy_store.h"

#include <sqlite3.h>
#include <QFile>
#include <QFileInfo>

#include <memory>

namespace airlock {

namespace {

constexpr int kBusyTimeoutMs = 2000;

struct DbClose {
    void operator()(sqlite3 *db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
    void operator()(sqlite3_stmt *s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbClose>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

DbPtr openDb(const QString &path, QString *error) {
    if (!QFileInfo::exists(path)) {
        QFile f(path);  // created 0600: it names the policy in force
        if (!f.open(QIODevice::WriteOnly | QIODevice::NewOnly,
                    QFileDevice::ReadOwner | QFileDevice::WriteOwner) &&
            !QFileInfo::exists(path)) {
            *error = QStringLiteral("cannot create %1: %2").arg(path, f.errorString());
            return {};
        }
    }
    sqlite3 *raw = nullptr;
    const int rc = sqlite3_open_v2(path.toUtf8().constData(), &raw,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr);
    DbPtr db(raw);
    if (rc != SQLITE_OK) {
        *error =
            QStringLiteral("cannot open %1: %2").arg(path, QString::fromUtf8(sqlite3_errstr(rc)));
        return {};
    }
    sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
    char *msg = nullptr;
    if (sqlite3_exec(
            db.get(),
            "CREATE TABLE IF NOT EXISTS policy_cache (id INTEGER PRIMARY KEY CHECK (id = 1), "
            "envelope BLOB NOT NULL, version INTEGER NOT NULL, source TEXT, fetched_at_ms INTEGER, "
            "etag BLOB)",
            nullptr, nullptr, &msg) != SQLITE_OK) {
        *error = QStringLiteral("%1: %2").arg(path, QString::fromUtf8(msg));
        sqlite3_free(msg);
        return {};
    }
    return db;
}

}  // namespace

PolicyStore::PolicyStore(QString dbPath) : m_path(std::move(dbPath)) {}

bool PolicyStore::load(CachedPolicy *out, bool *found, QString *error) const {
    *found = false;
    DbPtr db = openDb(m_path, error);
    if (!db) return false;
    sqlite3_stmt *raw = nullptr;
    if (sqlite3_prepare_v2(
            db.get(),
            "SELECT envelope, version, source, fetched_at_ms, etag FROM policy_cache WHERE id = 1",
            -1, &raw, nullptr) != SQLITE_OK) {
        *error = QString::fromUtf8(sqlite3_errmsg(db.get()));
        return false;
    }
    StmtPtr st(raw);
    const int rc = sqlite3_step(st.get());
    if (rc == SQLITE_DONE) return true;
    if (rc != SQLITE_ROW) {
        *error = QString::fromUtf8(sqlite3_errmsg(db.get()));
        return false;
    }
    auto blob = [&](int col) {
        return QByteArray(static_cast<const char *>(sqlite3_column_blob(st.get(), col)),
                          sqlite3_column_bytes(st.get(), col));
    };
    out->envelope = blob(0);
    out->version = sqlite3_column_int64(st.get(), 1);
    out->source =
        QString::fromUtf8(reinterpret_cast<const char *>(sqlite3_column_text(st.get(), 2)));
    out->fetchedAtMs = sqlite3_column_int64(st.get(), 3);
    out->etag = blob(4);
    *found = true;
    return true;
}

bool PolicyStore::save(const CachedPolicy &p, QString *error) {
    DbPtr db = openDb(m_path, error);
    if (!db) return false;
    sqlite3_stmt *raw = nullptr;
    if (sqlite3_prepare_v2(db.get(),
                           "INSERT OR REPLACE INTO policy_cache (id, envelope, version, source, "
                           "fetched_at_ms, etag) "
                           "VALUES (1, ?, ?, ?, ?, ?)",
                           -1, &raw, nullptr) != SQLITE_OK) {
        *error = QString::fromUtf8(sqlite3_errmsg(db.get()));
        return false;
    }
    StmtPtr st(raw);
    const QByteArray source = p.source.toUtf8();
    sqlite3_bind_blob(st.get(), 1, p.envelope.constData(), int(p.envelope.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(st.get(), 2, p.version);
    sqlite3_bind_text(st.get(), 3, source.constData(), int(source.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(st.get(), 4, p.fetchedAtMs);
    sqlite3_bind_blob(st.get(), 5, p.etag.constData(), int(p.etag.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(st.get()) != SQLITE_DONE) {
        *error = QStringLiteral("cannot save the policy cache: %1")
                     .arg(QString::fromUtf8(sqlite3_errmsg(db.get())));
        return false;
    }
    return true;
}

}  // namespace airlock
