#include "core/store/ledger_reader.h"

#include "core/store/ledger_schema.h"

#include <sqlite3.h>
#include <QDateTime>
#include <QFileInfo>
#include <QJsonObject>
#include <QJsonValue>

#include <algorithm>
#include <cmath>

namespace airlock {

namespace {

// A reader waits this long for a writer's checkpoint or recovery before giving up.
constexpr int kReaderBusyTimeoutMs = 2000;
// requests() never materialises more rows than this in one call.
constexpr int kMaxRequestsLimit = 100000;  // same bound as the local API and airlockctl

// The only SQL text derived from caller input: a whitelisted key picks a fixed expression.
const char *groupExpression(const QString &key) {
    if (key == QLatin1String("app")) return "app";
    if (key == QLatin1String("provider")) return "provider";
    if (key == QLatin1String("model")) return "model";
    if (key == QLatin1String("format")) return "format";
    if (key == QLatin1String("outcome")) return "outcome";
    if (key == QLatin1String("day")) return "date(ts_ms / 1000, 'unixepoch', 'localtime')";
    return nullptr;
}

void setError(QString *error, const QString &message) {
    if (error) *error = message;
}

// Filters shared by both queries; the clauses are constants, the values are bound by name.
struct Filters {
    qint64 fromMs = 0;
    qint64 toMs = 0;
    QString app;
    QString outcome;
    bool billableOnly = false;

    [[nodiscard]] QByteArray whereClause() const {
        QList<QByteArray> clauses;
        if (billableOnly) clauses << "(rule IS NULL OR instr(rule, 'cache:hit') = 0)";
        if (fromMs > 0) clauses << "ts_ms >= :from_ms";
        if (toMs > 0) clauses << "ts_ms < :to_ms";
        if (!app.isEmpty()) clauses << "app = :app";
        if (!outcome.isEmpty()) clauses << "outcome = :outcome";
        if (clauses.isEmpty()) return {};
        QByteArray where = " WHERE ";
        for (qsizetype i = 0; i < clauses.size(); ++i) {
            if (i > 0) where += " AND ";
            where += clauses[i];
        }
        return where;
    }

    void bind(sqlite3_stmt *statement) const {
        const auto index = [statement](const char *name) {
            return sqlite3_bind_parameter_index(statement, name);
        };
        if (fromMs > 0) sqlite3_bind_int64(statement, index(":from_ms"), fromMs);
        if (toMs > 0) sqlite3_bind_int64(statement, index(":to_ms"), toMs);
        const auto bindText = [&](const char *name, const QString &value) {
            if (value.isEmpty()) return;
            const QByteArray bytes = value.toUtf8();
            sqlite3_bind_text(statement, index(name), bytes.constData(), int(bytes.size()),
                              SQLITE_TRANSIENT);
        };
        bindText(":app", app);
        bindText(":outcome", outcome);
    }
};

QString columnText(sqlite3_stmt *statement, int column) {
    const auto *text = reinterpret_cast<const char *>(sqlite3_column_text(statement, column));
    if (!text) return {};
    return QString::fromUtf8(text, sqlite3_column_bytes(statement, column));
}

QJsonValue finiteOrNull(double value) {
    return std::isfinite(value) ? QJsonValue(value) : QJsonValue(QJsonValue::Null);
}

}  // namespace

struct LedgerReader::Impl {
    QString dbPath;
    bool opened = false;
    bool tableSeen = false;
    SqliteHandle db;

    // The database may not exist yet (daemon never ran) or be created after open(): every
    // query checks again, so a long-lived reader starts seeing rows once there are some.
    // Returns false only on a real error; *ready says whether there is a table to query.
    bool ensureReady(bool *ready, QString *error);
};

bool LedgerReader::Impl::ensureReady(bool *ready, QString *error) {
    *ready = false;
    if (!opened) {
        setError(error, QStringLiteral("ledger reader is not open"));
        return false;
    }
    if (!db) {
        if (!QFileInfo::exists(dbPath)) return true;
        sqlite3 *raw = nullptr;
        const int rc =
            sqlite3_open_v2(dbPath.toUtf8().constData(), &raw, SQLITE_OPEN_READONLY, nullptr);
        db.reset(raw);
        if (rc != SQLITE_OK) {
            setError(error,
                     LedgerSchema::errorText(db.get(), QStringLiteral("open %1").arg(dbPath)));
            db.reset();
            return false;
        }
        sqlite3_extended_result_codes(db.get(), 1);
        sqlite3_busy_timeout(db.get(), kReaderBusyTimeoutMs);
    }
    if (!tableSeen) {
        bool exists = false;
        QString why;
        if (!LedgerSchema::hasRequestsTable(db.get(), &exists, &why)) {
            setError(error, QStringLiteral("%1: %2").arg(dbPath, why));
            // A file that is not a database stays an error; drop the handle to retry later.
            db.reset();
            return false;
        }
        tableSeen = exists;
    }
    *ready = tableSeen;
    return true;
}

LedgerReader::LedgerReader(QString dbPath) : d(std::make_unique<Impl>()) {
    d->dbPath = std::move(dbPath);
}

LedgerReader::~LedgerReader() = default;

bool LedgerReader::open(QString *error) {
    d->opened = true;
    bool ready = false;
    if (!d->ensureReady(&ready, error)) {
        d->opened = false;
        return false;
    }
    return true;
}

QList<UsageRow> LedgerReader::usage(const UsageQuery &query, QString *error) const {
    QList<QByteArray> expressions;
    for (const QString &key : query.groupBy) {
        const char *expression = groupExpression(key);
        if (!expression) {
            setError(error, QStringLiteral("unknown group-by key '%1' (use app, provider, model, "
                                           "day, format or outcome)")
                                .arg(key.left(64)));
            return {};
        }
        if (query.groupBy.count(key) > 1) {
            setError(error, QStringLiteral("group-by key '%1' given twice").arg(key));
            return {};
        }
        expressions << expression;
    }
    bool ready = false;
    if (!d->ensureReady(&ready, error) || !ready) return {};

    QByteArray select = "SELECT ";
    QByteArray positions;
    for (qsizetype i = 0; i < expressions.size(); ++i) {
        select += "COALESCE(" + expressions[i] + ", ''), ";
        positions += (i > 0 ? ", " : "") + QByteArray::number(i + 1);
    }
    select +=
        "COUNT(*), TOTAL(input_tokens), TOTAL(output_tokens), TOTAL(cached_tokens), "
        "TOTAL(cost_usd), TOTAL(COALESCE(outcome, '') != 'ok'), "
        "TOTAL(outcome IN ('blocked', 'rate_limited', 'budget_exceeded')) FROM requests";
    const Filters filters{query.fromMs, query.toMs, query.app, {}, query.billableOnly};
    select += filters.whereClause();
    if (!positions.isEmpty()) select += " GROUP BY " + positions;
    select += " ORDER BY TOTAL(cost_usd) DESC, COUNT(*) DESC";
    if (!positions.isEmpty()) select += ", " + positions;

    QString why;
    SqliteStatement statement = LedgerSchema::prepare(d->db.get(), select, false, &why);
    if (!statement) {
        setError(error, QStringLiteral("usage query: %1").arg(why));
        return {};
    }
    filters.bind(statement.get());
    QList<UsageRow> rows;
    const int keyCount = int(expressions.size());
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(statement.get())) == SQLITE_ROW) {
        sqlite3_stmt *s = statement.get();
        UsageRow row;
        for (int i = 0; i < keyCount; ++i) row.keys << columnText(s, i);
        // TOTAL() is a float so sums never overflow; token totals fit a double exactly.
        row.requests = sqlite3_column_int64(s, keyCount);
        row.inputTokens = qint64(sqlite3_column_double(s, keyCount + 1));
        row.outputTokens = qint64(sqlite3_column_double(s, keyCount + 2));
        row.cachedTokens = qint64(sqlite3_column_double(s, keyCount + 3));
        row.costUsd = sqlite3_column_double(s, keyCount + 4);
        row.errors = qint64(sqlite3_column_double(s, keyCount + 5));
        row.blocked = qint64(sqlite3_column_double(s, keyCount + 6));
        // Without GROUP BY an empty table still yields one all-zero row; that is no usage.
        if (row.requests > 0) rows << row;
    }
    if (rc != SQLITE_DONE) {
        setError(error, LedgerSchema::errorText(d->db.get(), QStringLiteral("usage query")));
        return {};
    }
    return rows;
}

QList<UsageRecord> LedgerReader::requests(const RequestsQuery &query, QString *error) const {
    bool ready = false;
    if (!d->ensureReady(&ready, error) || !ready) return {};
    const int limit = std::clamp(query.limit, 0, kMaxRequestsLimit);
    if (limit == 0) return {};
    const Filters filters{query.fromMs, query.toMs, query.app, query.outcome};
    const QByteArray sql = "SELECT " + LedgerSchema::selectColumns() + " FROM requests" +
                           filters.whereClause() +
                           " ORDER BY ts_ms DESC, rowid DESC LIMIT :limit OFFSET :offset";
    QString why;
    SqliteStatement statement = LedgerSchema::prepare(d->db.get(), sql, false, &why);
    if (!statement) {
        setError(error, QStringLiteral("requests query: %1").arg(why));
        return {};
    }
    sqlite3_stmt *s = statement.get();
    filters.bind(s);
    sqlite3_bind_int(s, sqlite3_bind_parameter_index(s, ":limit"), limit);
    sqlite3_bind_int(s, sqlite3_bind_parameter_index(s, ":offset"), std::max(query.offset, 0));
    QList<UsageRecord> records;
    records.reserve(std::min(limit, 1000));
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) records << LedgerSchema::readRecord(s);
    if (rc != SQLITE_DONE) {
        setError(error, LedgerSchema::errorText(d->db.get(), QStringLiteral("requests query")));
        return {};
    }
    return records;
}

qint64 LedgerReader::count() const {
    bool ready = false;
    if (!d->ensureReady(&ready, nullptr)) return -1;
    if (!ready) return 0;
    SqliteStatement statement =
        LedgerSchema::prepare(d->db.get(), "SELECT COUNT(*) FROM requests", false, nullptr);
    if (!statement || sqlite3_step(statement.get()) != SQLITE_ROW) return -1;
    return sqlite3_column_int64(statement.get(), 0);
}

QJsonArray usageRowsToJson(const QStringList &groupBy, const QList<UsageRow> &rows) {
    QJsonArray array;
    for (const UsageRow &row : rows) {
        QJsonObject object;
        for (qsizetype i = 0; i < groupBy.size(); ++i) object.insert(groupBy[i], row.keys.value(i));
        object.insert(QStringLiteral("requests"), row.requests);
        object.insert(QStringLiteral("input_tokens"), row.inputTokens);
        object.insert(QStringLiteral("output_tokens"), row.outputTokens);
        object.insert(QStringLiteral("cached_tokens"), row.cachedTokens);
        object.insert(QStringLiteral("cost_usd"), finiteOrNull(row.costUsd));
        object.insert(QStringLiteral("errors"), row.errors);
        object.insert(QStringLiteral("blocked"), row.blocked);
        array.append(object);
    }
    return array;
}

QJsonObject usageRecordToJson(const UsageRecord &r) {
    QJsonObject o;
    o.insert(QStringLiteral("id"), QString::fromUtf8(r.id));
    o.insert(QStringLiteral("ts"),
             QDateTime::fromMSecsSinceEpoch(r.tsMs, Qt::UTC).toString(Qt::ISODateWithMs));
    o.insert(QStringLiteral("ts_ms"), r.tsMs);
    o.insert(QStringLiteral("app"), r.app);
    o.insert(QStringLiteral("pid"), r.pid);
    o.insert(QStringLiteral("exe"), r.exePath);
    o.insert(QStringLiteral("user_agent"), r.userAgent);
    o.insert(QStringLiteral("provider"), r.provider);
    o.insert(QStringLiteral("format"), r.format);
    o.insert(QStringLiteral("endpoint"), r.endpoint);
    o.insert(QStringLiteral("model"), r.model);
    o.insert(QStringLiteral("response_model"), r.responseModel);
    o.insert(QStringLiteral("status"), r.status);
    o.insert(QStringLiteral("stream"), r.stream);
    o.insert(QStringLiteral("input_tokens"), r.inputTokens);
    o.insert(QStringLiteral("output_tokens"), r.outputTokens);
    o.insert(QStringLiteral("cached_tokens"), r.cachedTokens);
    o.insert(QStringLiteral("cache_write_tokens"), r.cacheWriteTokens);
    o.insert(QStringLiteral("reasoning_tokens"), r.reasoningTokens);
    o.insert(QStringLiteral("cost_usd"), finiteOrNull(r.costUsd));
    o.insert(QStringLiteral("latency_ms"), finiteOrNull(r.latencyMs));
    o.insert(QStringLiteral("ttft_ms"),
             r.ttftMs < 0 ? QJsonValue(QJsonValue::Null) : finiteOrNull(r.ttftMs));
    o.insert(QStringLiteral("bytes_in"), r.bytesIn);
    o.insert(QStringLiteral("bytes_out"), r.bytesOut);
    o.insert(QStringLiteral("outcome"), r.outcome);
    o.insert(QStringLiteral("error"), r.error);
    o.insert(QStringLiteral("profile"), r.profile);
    o.insert(QStringLiteral("rule"), r.rule);
    return o;
}

}  // namespace airlock
