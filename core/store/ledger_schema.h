// Schema of the usage ledger (table `requests`) and the SQLite plumbing its writer and reader
// share: connection settings, migrations keyed on PRAGMA user_version, and the column order.
#pragma once

#include "core/store/usage_record.h"

#include <QByteArray>
#include <QString>
#include <memory>

struct sqlite3;
struct sqlite3_stmt;

namespace airlock {

struct SqliteCloser {
    void operator()(sqlite3 *db) const;
};
struct SqliteFinalizer {
    void operator()(sqlite3_stmt *statement) const;
};
using SqliteHandle = std::unique_ptr<sqlite3, SqliteCloser>;
using SqliteStatement = std::unique_ptr<sqlite3_stmt, SqliteFinalizer>;

class LedgerSchema {
public:
    // Bump when a migration step is added to ledger_schema.cpp; stored in PRAGMA user_version.
    static constexpr int kVersion = 1;
    // Text fields longer than this are cut before they are stored (bounded row size).
    static constexpr int kMaxTextFieldChars = 2048;

    // Writer connection: busy timeout, WAL, synchronous=NORMAL, then creates or upgrades the
    // schema. Refuses a file whose schema is newer than this build knows.
    static bool prepareForWriting(sqlite3 *db, int busyTimeoutMs, QString *error);
    // Brings the schema to kVersion inside one write transaction; a no-op when already there.
    static bool migrate(sqlite3 *db, QString *error);
    // PRAGMA user_version, or -1 with *error.
    static int version(sqlite3 *db, QString *error);
    // Whether the `requests` table exists (a reader may see a file before its schema).
    static bool hasRequestsTable(sqlite3 *db, bool *exists, QString *error);

    // "INSERT OR IGNORE INTO requests(<all columns>) VALUES(?1, …)", columns in select order.
    static const QByteArray &insertSql();
    // "id, ts_ms, app, …": every column in the order readRecord() expects.
    static const QByteArray &selectColumns();
    // Binds every field to the insert statement; SQLITE_OK or the failing sqlite code.
    static int bindRecord(sqlite3_stmt *statement, const UsageRecord &record);
    // Reads the columns of selectColumns() starting at column 0.
    static UsageRecord readRecord(sqlite3_stmt *statement);

    static SqliteStatement prepare(sqlite3 *db, const QByteArray &sql, bool persistent,
                                   QString *error);
    // Runs statements that return no rows; false with *error on the first failure.
    static bool exec(sqlite3 *db, const char *sql, QString *error);
    // "<what>: <sqlite message> (code N)".
    static QString errorText(sqlite3 *db, const QString &what);
};

}  // namespace airlock
