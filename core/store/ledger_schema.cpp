#include "core/store/ledger_schema.h"

#include <sqlite3.h>

#include <array>
#include <cmath>

namespace airlock {

namespace {

// Bounds the -wal file after checkpoints; without it the file keeps its high-water size.
constexpr qint64 kWalSizeLimitBytes = qint64(16) * 1024 * 1024;

// Column order of every statement that binds or reads a whole record. Keep in sync with
// kColumnNames, bindRecord() and readRecord().
enum Column {
    kId,
    kTsMs,
    kApp,
    kPid,
    kExe,
    kUserAgent,
    kProvider,
    kFormat,
    kEndpoint,
    kModel,
    kResponseModel,
    kStatus,
    kStream,
    kInputTokens,
    kOutputTokens,
    kCachedTokens,
    kCacheWriteTokens,
    kReasoningTokens,
    kCostUsd,
    kLatencyMs,
    kTtftMs,
    kBytesIn,
    kBytesOut,
    kOutcome,
    kError,
    kProfile,
    kRule,
    kColumnCount
};

constexpr std::array<const char *, kColumnCount> kColumnNames = {"id",
                                                                 "ts_ms",
                                                                 "app",
                                                                 "pid",
                                                                 "exe",
                                                                 "user_agent",
                                                                 "provider",
                                                                 "format",
                                                                 "endpoint",
                                                                 "model",
                                                                 "response_model",
                                                                 "status",
                                                                 "stream",
                                                                 "input_tokens",
                                                                 "output_tokens",
                                                                 "cached_tokens",
                                                                 "cache_write_tokens",
                                                                 "reasoning_tokens",
                                                                 "cost_usd",
                                                                 "latency_ms",
                                                                 "ttft_ms",
                                                                 "bytes_in",
                                                                 "bytes_out",
                                                                 "outcome",
                                                                 "error",
                                                                 "profile",
                                                                 "rule"};

// kMigrations[n] takes a database from schema version n to n + 1. Columns are nullable on
// purpose: with INSERT OR IGNORE a NOT NULL violation would silently skip the whole row.
// ttft_ms is NULL when unknown.
constexpr std::array<const char *, LedgerSchema::kVersion> kMigrations = {
    "CREATE TABLE IF NOT EXISTS requests ("
    " id TEXT PRIMARY KEY,"
    " ts_ms INTEGER,"
    " app TEXT,"
    " pid INTEGER,"
    " exe TEXT,"
    " user_agent TEXT,"
    " provider TEXT,"
    " format TEXT,"
    " endpoint TEXT,"
    " model TEXT,"
    " response_model TEXT,"
    " status INTEGER,"
    " stream INTEGER,"
    " input_tokens INTEGER,"
    " output_tokens INTEGER,"
    " cached_tokens INTEGER,"
    " cache_write_tokens INTEGER,"
    " reasoning_tokens INTEGER,"
    " cost_usd REAL,"
    " latency_ms REAL,"
    " ttft_ms REAL,"
    " bytes_in INTEGER,"
    " bytes_out INTEGER,"
    " outcome TEXT,"
    " error TEXT,"
    " profile TEXT,"
    " rule TEXT);"
    "CREATE INDEX IF NOT EXISTS requests_ts ON requests(ts_ms);"
    "CREATE INDEX IF NOT EXISTS requests_app_ts ON requests(app, ts_ms);",
};

QByteArray buildSelectColumns() {
    QByteArray columns;
    for (const char *name : kColumnNames) {
        if (!columns.isEmpty()) columns += ", ";
        columns += name;
    }
    return columns;
}

QByteArray buildInsertSql() {
    QByteArray placeholders;
    for (int i = 1; i <= kColumnCount; ++i) {
        if (i > 1) placeholders += ", ";
        placeholders += '?' + QByteArray::number(i);
    }
    return "INSERT OR IGNORE INTO requests (" + buildSelectColumns() + ") VALUES (" + placeholders +
           ")";
}

// The UTF-8 of each text column of the row being written. Bound with SQLITE_STATIC: SQLite reads
// them during the step, and the writer thread steps each row before binding the next, so one
// set of buffers per thread serves every row without an allocation or a copy per field.
QByteArray &textScratch(int column) {
    thread_local std::array<QByteArray, kColumnCount> scratch;
    return scratch[size_t(column)];
}

int bindText(sqlite3_stmt *statement, int column, const QString &value) {
    const QStringView text = QStringView(value).left(LedgerSchema::kMaxTextFieldChars);
    QByteArray &bytes = textScratch(column);
    bytes.resize(text.size());
    char *out = bytes.data();
    qsizetype i = 0;
    for (; i < text.size() && text[i].unicode() < 0x80; ++i) out[i] = char(text[i].unicode());
    if (i < text.size()) bytes = text.toUtf8();  // not ASCII (rare): the general conversion
    return sqlite3_bind_text(statement, column + 1, bytes.constData(), int(bytes.size()),
                             SQLITE_STATIC);
}

double finiteOrZero(double value) {
    return std::isfinite(value) ? value : 0.0;
}

QString columnText(sqlite3_stmt *statement, int column) {
    const auto *text = reinterpret_cast<const char *>(sqlite3_column_text(statement, column));
    if (!text) return {};
    return QString::fromUtf8(text, sqlite3_column_bytes(statement, column));
}

void setError(QString *error, const QString &message) {
    if (error) *error = message;
}

}  // namespace

void SqliteCloser::operator()(sqlite3 *db) const {
    sqlite3_close_v2(db);
}

void SqliteFinalizer::operator()(sqlite3_stmt *statement) const {
    sqlite3_finalize(statement);
}

QString LedgerSchema::errorText(sqlite3 *db, const QString &what) {
    if (!db) return what + QStringLiteral(": no database connection");
    return QStringLiteral("%1: %2 (code %3)")
        .arg(what, QString::fromUtf8(sqlite3_errmsg(db)))
        .arg(sqlite3_extended_errcode(db));
}

SqliteStatement LedgerSchema::prepare(sqlite3 *db, const QByteArray &sql, bool persistent,
                                      QString *error) {
    sqlite3_stmt *raw = nullptr;
    const int rc = sqlite3_prepare_v3(db, sql.constData(), int(sql.size()),
                                      persistent ? SQLITE_PREPARE_PERSISTENT : 0, &raw, nullptr);
    SqliteStatement statement(raw);
    if (rc != SQLITE_OK) {
        setError(error, errorText(db, QStringLiteral("prepare")));
        return {};
    }
    return statement;
}

bool LedgerSchema::exec(sqlite3 *db, const char *sql, QString *error) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
        setError(error, errorText(db, QString::fromUtf8(sql).left(60)));
        return false;
    }
    return true;
}

int LedgerSchema::version(sqlite3 *db, QString *error) {
    SqliteStatement statement = prepare(db, "PRAGMA user_version", false, error);
    if (!statement) return -1;
    if (sqlite3_step(statement.get()) != SQLITE_ROW) {
        setError(error, errorText(db, QStringLiteral("read schema version")));
        return -1;
    }
    return sqlite3_column_int(statement.get(), 0);
}

bool LedgerSchema::hasRequestsTable(sqlite3 *db, bool *exists, QString *error) {
    SqliteStatement statement = prepare(
        db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'requests'", false, error);
    if (!statement) return false;
    const int rc = sqlite3_step(statement.get());
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        setError(error, errorText(db, QStringLiteral("read schema")));
        return false;
    }
    *exists = rc == SQLITE_ROW;
    return true;
}

bool LedgerSchema::migrate(sqlite3 *db, QString *error) {
    int current = version(db, error);
    if (current < 0) return false;
    if (current == kVersion) return true;
    const auto tooNew = [&](int found) {
        setError(error, QStringLiteral("usage ledger schema version %1 is newer than this build "
                                       "supports (%2); refusing to write to it")
                            .arg(found)
                            .arg(kVersion));
    };
    if (current > kVersion) {
        tooNew(current);
        return false;
    }
    // IMMEDIATE takes the write lock first, so two processes cannot run the same step twice.
    if (!exec(db, "BEGIN IMMEDIATE", error)) return false;
    const auto rollback = [db] { sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr); };
    current = version(db, error);
    if (current < 0 || current > kVersion) {
        if (current > kVersion) tooNew(current);
        rollback();
        return false;
    }
    for (int step = current; step < kVersion; ++step) {
        if (!exec(db, kMigrations[step], error)) {
            rollback();
            return false;
        }
    }
    const QByteArray setVersion = "PRAGMA user_version = " + QByteArray::number(kVersion);
    if (!exec(db, setVersion.constData(), error) || !exec(db, "COMMIT", error)) {
        rollback();
        return false;
    }
    return true;
}

bool LedgerSchema::prepareForWriting(sqlite3 *db, int busyTimeoutMs, QString *error) {
    sqlite3_busy_timeout(db, busyTimeoutMs);
    // journal_mode answers with the mode in force; a file that cannot do WAL says so here.
    SqliteStatement walStatement = prepare(db, "PRAGMA journal_mode = WAL", false, error);
    if (!walStatement) return false;
    if (sqlite3_step(walStatement.get()) != SQLITE_ROW) {
        setError(error, errorText(db, QStringLiteral("set journal_mode=WAL")));
        return false;
    }
    const QString mode = columnText(walStatement.get(), 0);
    walStatement.reset();
    if (mode.compare(QLatin1String("wal"), Qt::CaseInsensitive) != 0) {
        setError(error, QStringLiteral("journal_mode=WAL refused (mode is '%1')").arg(mode));
        return false;
    }
    // In WAL mode NORMAL loses nothing committed on a process crash; only power loss can
    // roll back the last transactions.
    const QByteArray pragmas = "PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = " +
                               QByteArray::number(kWalSizeLimitBytes) + ";";
    if (!exec(db, pragmas.constData(), error)) return false;
    return migrate(db, error);
}

const QByteArray &LedgerSchema::insertSql() {
    static const QByteArray sql = buildInsertSql();
    return sql;
}

const QByteArray &LedgerSchema::selectColumns() {
    static const QByteArray columns = buildSelectColumns();
    return columns;
}

int LedgerSchema::bindRecord(sqlite3_stmt *statement, const UsageRecord &r) {
    const auto bindInt = [statement](int column, qint64 value) {
        return sqlite3_bind_int64(statement, column + 1, value);
    };
    const auto bindReal = [statement](int column, double value) {
        return sqlite3_bind_double(statement, column + 1, value);
    };
    const std::array<int, kColumnCount> results = {
        sqlite3_bind_text(statement, kId + 1, r.id.isNull() ? "" : r.id.constData(),
                          int(std::min<qsizetype>(r.id.size(), kMaxTextFieldChars)),
                          SQLITE_TRANSIENT),
        bindInt(kTsMs, r.tsMs),
        bindText(statement, kApp, r.app),
        bindInt(kPid, r.pid),
        bindText(statement, kExe, r.exePath),
        bindText(statement, kUserAgent, r.userAgent),
        bindText(statement, kProvider, r.provider),
        bindText(statement, kFormat, r.format),
        bindText(statement, kEndpoint, r.endpoint),
        bindText(statement, kModel, r.model),
        bindText(statement, kResponseModel, r.responseModel),
        bindInt(kStatus, r.status),
        bindInt(kStream, r.stream ? 1 : 0),
        bindInt(kInputTokens, r.inputTokens),
        bindInt(kOutputTokens, r.outputTokens),
        bindInt(kCachedTokens, r.cachedTokens),
        bindInt(kCacheWriteTokens, r.cacheWriteTokens),
        bindInt(kReasoningTokens, r.reasoningTokens),
        bindReal(kCostUsd, finiteOrZero(r.costUsd)),
        bindReal(kLatencyMs, finiteOrZero(r.latencyMs)),
        std::isfinite(r.ttftMs) && r.ttftMs >= 0 ? bindReal(kTtftMs, r.ttftMs)
                                                 : sqlite3_bind_null(statement, kTtftMs + 1),
        bindInt(kBytesIn, r.bytesIn),
        bindInt(kBytesOut, r.bytesOut),
        bindText(statement, kOutcome, r.outcome),
        bindText(statement, kError, r.error),
        bindText(statement, kProfile, r.profile),
        bindText(statement, kRule, r.rule),
    };
    for (int rc : results) {
        if (rc != SQLITE_OK) return rc;
    }
    return SQLITE_OK;
}

UsageRecord LedgerSchema::readRecord(sqlite3_stmt *s) {
    UsageRecord r;
    const auto *id = static_cast<const char *>(sqlite3_column_blob(s, kId));
    r.id = id ? QByteArray(id, sqlite3_column_bytes(s, kId)) : QByteArray();
    r.tsMs = sqlite3_column_int64(s, kTsMs);
    r.app = columnText(s, kApp);
    r.pid = sqlite3_column_type(s, kPid) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, kPid);
    r.exePath = columnText(s, kExe);
    r.userAgent = columnText(s, kUserAgent);
    r.provider = columnText(s, kProvider);
    r.format = columnText(s, kFormat);
    r.endpoint = columnText(s, kEndpoint);
    r.model = columnText(s, kModel);
    r.responseModel = columnText(s, kResponseModel);
    r.status = sqlite3_column_int(s, kStatus);
    r.stream = sqlite3_column_int(s, kStream) != 0;
    r.inputTokens = sqlite3_column_int64(s, kInputTokens);
    r.outputTokens = sqlite3_column_int64(s, kOutputTokens);
    r.cachedTokens = sqlite3_column_int64(s, kCachedTokens);
    r.cacheWriteTokens = sqlite3_column_int64(s, kCacheWriteTokens);
    r.reasoningTokens = sqlite3_column_int64(s, kReasoningTokens);
    r.costUsd = sqlite3_column_double(s, kCostUsd);
    r.latencyMs = sqlite3_column_double(s, kLatencyMs);
    r.ttftMs =
        sqlite3_column_type(s, kTtftMs) == SQLITE_NULL ? -1.0 : sqlite3_column_double(s, kTtftMs);
    r.bytesIn = sqlite3_column_int64(s, kBytesIn);
    r.bytesOut = sqlite3_column_int64(s, kBytesOut);
    r.outcome = columnText(s, kOutcome);
    r.error = columnText(s, kError);
    r.profile = columnText(s, kProfile);
    r.rule = columnText(s, kRule);
    return r;
}

}  // namespace airlock
