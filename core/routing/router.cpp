#include "core/routing/router.h"

#include "core/api/event_bus.h"
#include "core/providers/price_table.h"

#include <QJsonObject>
#include <cmath>
#include <limits>

namespace airlock {

QString routeStrategyName(RouteStrategy strategy) {
    switch (strategy) {
        case RouteStrategy::Fallback:
            return QStringLiteral("fallback");
        case RouteStrategy::Weighted:
            return QStringLiteral("weighted");
        case RouteStrategy::Latency:
            return QStringLiteral("latency");
        case RouteStrategy::LeastInFlight:
            return QStringLiteral("least_inflight");
        case RouteStrategy::Cheapest:
            return QStringLiteral("cheapest");
        case RouteStrategy::Hash:
            return QStringLiteral("hash");
    }
    return QStringLiteral("fallback");
}

bool routeStrategyFromName(const QString &name, RouteStrategy *out) {
    for (RouteStrategy s :
         {RouteStrategy::Fallback, RouteStrategy::Weighted, RouteStrategy::Latency,
          RouteStrategy::LeastInFlight, RouteStrategy::Cheapest, RouteStrategy::Hash}) {
        if (routeStrategyName(s) == name) {
            *out = s;
            return true;
        }
    }
    return false;
}

Router::Router(const QList<RouteConfig> &routes, const PriceTable *prices, EventBus *events,
               QObject *parent)
    : QObject(parent), m_events(events) {
    for (const RouteConfig &config : routes) {
        auto state = std::make_unique<RouteState>();
        state->config = config;
        state->nameUtf8 = config.name.toUtf8();
        for (const RouteTarget &t : config.targets) {
            auto &slot = m_health[t.key()];
            if (!slot) slot = std::make_unique<TargetHealth>();
            m_targets.emplace(t.key(), t);
            state->health.push_back(slot.get());
            state->wrrCurrent.push_back(0);
            double price = std::numeric_limits<double>::infinity();
            if (prices) {
                const ModelPrice p = prices->lookup(t.model.toUtf8());
                if (p.known) price = p.inputPerMTok + p.outputPerMTok;
            }
            state->price.push_back(price);
        }
        m_routes.push_back(std::move(state));
    }
}

Router::RouteState *Router::routeFor(QByteArrayView model) {
    if (model.isEmpty()) return nullptr;
    for (const auto &r : m_routes)
        if (r->nameUtf8 == model) return r.get();
    return nullptr;
}

quint64 Router::stableHash(QByteArrayView a, QByteArrayView b) {
    quint64 h = 1469598103934665603ULL;
    auto mix = [&h](QByteArrayView s) {
        for (char c : s) {
            h ^= quint8(c);
            h *= 1099511628211ULL;
        }
    };
    mix(a);
    h ^= 0xff;
    h *= 1099511628211ULL;
    mix(b);
    // splitmix64 finaliser: FNV's low bits alone are poorly distributed.
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

int Router::pick(RouteState &route, quint64 triedMask, QByteArrayView hashInput, qint64 nowMs,
                 quint64 excludeMask) {
    const int n = int(route.config.targets.size());
    if (n == 0) return -1;
    // Candidates: untried and available; else available (a retry on a tried one); else none.
    quint64 candidates = 0;
    for (int i = 0; i < n && i < 64; ++i)
        if (route.health[i]->available(nowMs) && !((triedMask | excludeMask) & (1ULL << i)))
            candidates |= 1ULL << i;
    if (!candidates)
        for (int i = 0; i < n && i < 64; ++i)
            if (route.health[i]->available(nowMs) && !(excludeMask & (1ULL << i)))
                candidates |= 1ULL << i;
    if (!candidates) return -1;
    auto isCandidate = [candidates](int i) { return (candidates >> i) & 1ULL; };
    const qint64 seq = ++route.seq;
    int best = -1;

    switch (route.config.strategy) {
        case RouteStrategy::Fallback:
            for (int i = 0; i < n && best < 0; ++i)
                if (isCandidate(i)) best = i;
            break;
        case RouteStrategy::Weighted: {
            // Smooth weighted round-robin (nginx): even spread, exact proportions over a cycle.
            qint64 total = 0;
            for (int i = 0; i < n; ++i) {
                if (!isCandidate(i)) continue;
                const int w = std::max(1, route.config.targets[i].weight);
                route.wrrCurrent[i] += w;
                total += w;
                if (best < 0 || route.wrrCurrent[i] > route.wrrCurrent[best]) best = i;
            }
            route.wrrCurrent[best] -= total;
            break;
        }
        case RouteStrategy::Latency: {
            // Warm-up first, then a probe for a long-unchosen target, then the fastest.
            for (int i = 0; i < n; ++i) {
                if (!isCandidate(i)) continue;
                const TargetHealth *h = route.health[i];
                if (h->samples() + h->inFlight() < kWarmupSamples &&
                    (best < 0 || h->samples() < route.health[best]->samples()))
                    best = i;
            }
            if (best < 0) {
                for (int i = 0; i < n; ++i) {
                    if (!isCandidate(i)) continue;
                    if (seq - route.health[i]->lastPickSeq > kProbeEveryPicks &&
                        (best < 0 ||
                         route.health[i]->lastPickSeq < route.health[best]->lastPickSeq))
                        best = i;
                }
            }
            if (best < 0) {
                double bestScore = 0;
                for (int i = 0; i < n; ++i) {
                    if (!isCandidate(i)) continue;
                    const TargetHealth *h = route.health[i];
                    const double score = h->ewmaLatencyMs() * (1.0 + 4.0 * h->errorRate());
                    if (best < 0 || score < bestScore) {
                        best = i;
                        bestScore = score;
                    }
                }
            }
            route.health[best]->lastPickSeq = seq;
            break;
        }
        case RouteStrategy::LeastInFlight: {
            // Ties rotate so equal targets share the load.
            for (int k = 0; k < n; ++k) {
                const int i = int((seq + k) % n);
                if (!isCandidate(i)) continue;
                if (best < 0 || route.health[i]->inFlight() < route.health[best]->inFlight())
                    best = i;
            }
            break;
        }
        case RouteStrategy::Cheapest:
            for (int i = 0; i < n; ++i)
                if (isCandidate(i) && (best < 0 || route.price[i] < route.price[best])) best = i;
            break;
        case RouteStrategy::Hash: {
            // Rendezvous (highest random weight) hashing: a key keeps its target while that target
            // is there; when one leaves, only its keys move.
            double bestScore = 0;
            for (int i = 0; i < n; ++i) {
                if (!isCandidate(i)) continue;
                const quint64 h = stableHash(hashInput, route.config.targets[i].key().toUtf8());
                const double u = (double(h >> 11) + 0.5) * (1.0 / 9007199254740992.0);
                const double score =
                    -double(std::max(1, route.config.targets[i].weight)) / std::log(u);
                if (best < 0 || score > bestScore) {
                    best = i;
                    bestScore = score;
                }
            }
            break;
        }
    }
    return best;
}

qint64 Router::nextAvailableMs(const RouteState &route, qint64 nowMs) const {
    qint64 soonest = std::numeric_limits<qint64>::max();
    for (const TargetHealth *h : route.health) soonest = std::min(soonest, h->cooldownUntilMs());
    return std::max(soonest, nowMs);
}

void Router::begin(RouteState &route, int index, qint64 nowMs) {
    route.health[index]->begin(nowMs);
}

void Router::succeed(RouteState &route, int index, double latencyMs, double ttftMs, qint64 nowMs) {
    noteTransition(route, index, route.health[index]->succeed(latencyMs, ttftMs, nowMs), nowMs);
}

void Router::fail(RouteState &route, int index, qint64 nowMs, qint64 retryAfterMs) {
    const CircuitPolicy &c = route.config.circuit;
    noteTransition(route, index,
                   route.health[index]->fail(nowMs, c.failureThreshold, c.cooldownMs, retryAfterMs),
                   nowMs);
}

void Router::abandon(RouteState &route, int index) {
    route.health[index]->abandon();
}

void Router::noteTransition(const RouteState &route, int index, const TargetHealth::Transition &t,
                            qint64 nowMs) {
    if (!t.changed || !m_events) return;
    const RouteTarget &target = route.config.targets[index];
    const TargetHealth *h = route.health[index];
    m_events->notify(
        "health", QJsonObject{{QStringLiteral("target"), target.key()},
                              {QStringLiteral("provider"), target.provider},
                              {QStringLiteral("model"), target.model},
                              {QStringLiteral("circuit"), QLatin1String(circuitStateName(t.to))},
                              {QStringLiteral("previous"), QLatin1String(circuitStateName(t.from))},
                              {QStringLiteral("error_rate"), h->errorRate()},
                              {QStringLiteral("cooldown_until"), h->cooldownUntilMs()},
                              {QStringLiteral("ts"), nowMs}});
}

QJsonArray Router::targetsJson(qint64 nowMs) const {
    QJsonArray out;
    for (const auto &[key, health] : m_health) {
        const RouteTarget &t = m_targets.at(key);
        const CircuitState s = health->state(nowMs);
        out.append(QJsonObject{
            {QStringLiteral("name"), key},
            {QStringLiteral("provider"), t.provider},
            {QStringLiteral("model"), t.model},
            {QStringLiteral("healthy"), health->available(nowMs) && s == CircuitState::Closed},
            {QStringLiteral("circuit"), QLatin1String(circuitStateName(s))},
            {QStringLiteral("ewma_latency_ms"), health->ewmaLatencyMs()},
            {QStringLiteral("ewma_ttft_ms"), health->ewmaTtftMs()},
            {QStringLiteral("error_rate"), health->errorRate()},
            {QStringLiteral("in_flight"), health->inFlight()},
            {QStringLiteral("requests"), health->requests()},
            {QStringLiteral("failures"), health->failures()},
            {QStringLiteral("cooldown_until"), health->cooldownUntilMs()}});
    }
    return out;
}

int Router::backoffDelayMs(const RetryPolicy &policy, int attempt, quint32 random) {
    if (attempt < 2 || policy.backoffMs <= 0) return 0;
    const int shift = std::min(attempt - 2, 20);
    const qint64 raw = std::min<qint64>(qint64(policy.backoffMs) << shift, policy.maxBackoffMs);
    const qint64 half = raw / 2;
    return int(half + (raw - half > 0 ? qint64(random % quint32(raw - half + 1)) : 0));
}

}  // namespace airlock
