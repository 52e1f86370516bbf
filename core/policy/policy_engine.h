// The seam between the proxy pipeline and governance: the pipeline asks the engine about each
// request after identification and before routing, and tells it the outcome afterwards.
#pragma once

#include "core/providers/error_body.h"
#include "core/providers/wire_format.h"
#include "core/store/usage_record.h"

#include <QByteArray>
#include <QList>
#include <QPair>
#include <QString>
#include <functional>

namespace airlock {

// What the engine sees of one request. `body` may be rewritten in place (model alias,
// max_tokens cap, redaction); the verdict says how.
struct PolicyInput {
    QByteArray requestId;
    QString app;
    qint64 pid = -1;
    QString exePath;
    QString userAgent;
    WireFormat format = WireFormat::Unknown;
    EndpointKind kind = EndpointKind::Passthrough;
    QString provider;
    QByteArray model;
    bool stream = false;
    qint64 maxTokens = -1;
    QByteArray *body = nullptr;
};

struct PolicyVerdict {
    bool allow = true;
    // For a refusal: how to answer (in the caller's format) and how to record it.
    ErrorKind errorKind = ErrorKind::PermissionDenied;
    QString message;       // a reason a person can act on; never contains matched content
    QByteArray errorCode;  // e.g. "model_not_allowed", "insufficient_quota"
    QString outcome;       // "blocked", "rate_limited", "budget_exceeded", "policy_unavailable"
    int retryAfterSeconds = -1;
    // For any decision: which profile and rule decided (recorded in the ledger).
    QString profile;
    QString rule;
    bool bodyRewritten = false;  // the body changed: alias, max_tokens cap or redaction
    bool bodyRedacted = false;   // by redaction too: the pipeline re-inspects it
    // Without redaction the edits are known: the request's model and max_tokens after them.
    QByteArray model;
    qint64 maxTokens = -1;
    QList<QPair<QByteArray, QByteArray>> responseHeaders;  // e.g. x-airlock-budget-warning
    // The profile's response cache ("cache" key); ttl 0: caching is off for this request.
    int cacheTtlSeconds = 0;
    qint64 cacheMaxBytes = 0;
    bool cachePerApp = false;  // "scope": "app"; default shared by the device
};

class PolicyEngine {
public:
    virtual ~PolicyEngine() = default;
    // Calls done exactly once, possibly later (rate-limit queueing), on the caller's thread.
    virtual void evaluate(PolicyInput &input, std::function<void(PolicyVerdict)> done) = 0;
    // The request finished (or was refused or cancelled): release reservations, count real usage.
    virtual void settle(const QByteArray &requestId, const UsageRecord &record) = 0;
};

}  // namespace airlock
