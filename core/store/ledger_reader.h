// Read-side queries over the usage ledger, used by the local API and by airlockctl offline.
// Each instance opens its own read-only connection; use it from one thread.
#pragma once

#include "core/store/usage_record.h"

#include <QJsonArray>
#include <QList>
#include <QString>
#include <QStringList>
#include <memory>

namespace airlock {

struct UsageQuery {
    qint64 fromMs = 0;          // inclusive, 0 = beginning
    qint64 toMs = 0;            // exclusive, 0 = no end
    // Any of "app", "provider", "model", "day" (local-time YYYY-MM-DD), "format", "outcome".
    QStringList groupBy = {QStringLiteral("app"), QStringLiteral("provider"), QStringLiteral("model")};
    QString app;                // filter, empty = all
    bool billableOnly = false;  // leave out answers served from the response cache (rule "cache:hit")
};

struct UsageRow {
    QStringList keys;           // values of the groupBy columns, same order
    qint64 requests = 0;
    qint64 inputTokens = 0;
    qint64 outputTokens = 0;
    qint64 cachedTokens = 0;
    double costUsd = 0;
    qint64 errors = 0;          // outcome != ok
    qint64 blocked = 0;
};

struct RequestsQuery {
    int limit = 100;
    int offset = 0;
    qint64 fromMs = 0;
    qint64 toMs = 0;
    QString app;                // filters, empty = all
    QString outcome;
};

class LedgerReader {
public:
    explicit LedgerReader(QString dbPath);
    ~LedgerReader();
    // False when the file cannot be opened; a missing file is not an error (empty results).
    bool open(QString *error);
    QList<UsageRow> usage(const UsageQuery &query, QString *error = nullptr) const;
    QList<UsageRecord> requests(const RequestsQuery &query, QString *error = nullptr) const;  // newest first
    qint64 count() const;  // 0 without a database, -1 on error

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

// Contract JSON (ARCHITECTURE.md): usage rows as {"app","provider","model",…,"requests",
// "input_tokens","output_tokens","cost_usd", …} with the groupBy keys as fields, and request
// records as {"id","ts" (ISO 8601 UTC with ms),"app","pid","provider","model","status",
// "input_tokens","output_tokens","cost_usd","latency_ms","ttft_ms","outcome", …extra fields}.
QJsonArray usageRowsToJson(const QStringList &groupBy, const QList<UsageRow> &rows);
QJsonObject usageRecordToJson(const UsageRecord &record);

}  // namespace airlock
