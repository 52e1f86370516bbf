// A route maps a logical model name to a set of targets (provider + real model) with a selection
// strategy and a retry policy. Plain data so any loader (local config, policy bundle) can fill it.
#pragma once

#include <QList>
#include <QString>

namespace airlock {

enum class RouteStrategy { Fallback, Weighted, Latency, LeastInFlight, Cheapest, Hash };

QString routeStrategyName(RouteStrategy strategy);
bool routeStrategyFromName(const QString &name, RouteStrategy *out);

struct RouteTarget {
    QString provider;  // a configured provider's name
    QString model;     // the model name that provider knows
    int weight = 1;    // Weighted and Hash strategies
    // Per-target upstream timeouts; <= 0 means "use limits.upstream_*_timeout_ms".
    int connectTimeoutMs = 0;
    int firstByteTimeoutMs = 0;
    int idleTimeoutMs = 0;

    QString key() const { return provider + QLatin1Char('/') + model; }
};

struct RetryPolicy {
    int maxAttempts = 3;       // attempts in total, first one included
    int backoffMs = 100;       // base of the exponential backoff
    int maxBackoffMs = 2'000;  // cap of one backoff pause
    int deadlineMs = 60'000;   // no new attempt starts after this much time since the request
};

struct CircuitPolicy {
    int failureThreshold = 5;  // consecutive failures that open the circuit
    int cooldownMs = 30'000;   // open -> half-open after this long
};

struct RouteConfig {
    QString name;  // the model name clients ask for
    RouteStrategy strategy = RouteStrategy::Fallback;
    // Hash strategy: "header:<name>" or "app" (the attributed app name).
    QString hashKey = QStringLiteral("app");
    QList<RouteTarget> targets;
    RetryPolicy retry;
    CircuitPolicy circuit;
};

}  // namespace airlock
