// One row of the usage ledger: everything Airlock knows about one proxied request.
#pragma once

#include <QByteArray>
#include <QString>

namespace airlock {

struct UsageRecord {
    QByteArray id;          // unique, e.g. a UUID without braces; primary key (idempotent insert)
    qint64 tsMs = 0;        // request start, ms since the Unix epoch (UTC)
    QString app;            // attributed app name ("claude", "codex", "e2e_sdk", "curl", "unknown")
    qint64 pid = -1;
    QString exePath;
    QString userAgent;
    QString provider;       // provider name from config, e.g. "openai"
    QString format;         // caller's wire format: openai / anthropic / gemini
    QString endpoint;       // endpointKindName(), e.g. "chat"
    QString model;          // model requested by the client (after alias rewrite, if any)
    QString responseModel;  // model the upstream reports, when it differs
    int status = 0;         // HTTP status sent to the client
    bool stream = false;
    qint64 inputTokens = 0;
    qint64 outputTokens = 0;
    qint64 cachedTokens = 0;
    qint64 cacheWriteTokens = 0;
    qint64 reasoningTokens = 0;
    double costUsd = 0;
    double latencyMs = 0;   // request head received -> last byte sent to client
    double ttftMs = -1;     // request head received -> first body byte sent (streams); -1 unknown
    qint64 bytesIn = 0;     // request body bytes from client
    qint64 bytesOut = 0;    // response body bytes to client
    QString outcome;        // "ok", "upstream_error", "client_cancelled", "upstream_reset", "timeout", "blocked", "invalid_request", "rate_limited", "budget_exceeded"
    QString error;          // short reason when outcome != ok (never contains secrets or content)
    QString profile;        // policy profile applied, empty when none
    QString rule;           // rule that decided a block/warn, empty when none
};

}  // namespace airlock
