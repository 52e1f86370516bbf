// Chooses the target of each attempt of a routed request (per the route's strategy, skipping
// unhealthy and already-tried targets) and keeps every target's passive health.
#pragma once

#include "core/routing/route.h"
#include "core/routing/target_health.h"

#include <QByteArrayView>
#include <QJsonArray>
#include <QObject>
#include <map>
#include <memory>
#include <vector>

namespace airlock {

class PriceTable;
class EventBus;

class Router : public QObject {
    Q_OBJECT
public:
    // Latency strategy: a target is sampled this many times before averages decide.
    static constexpr int kWarmupSamples = 3;
    // Latency strategy: a target not chosen for this many picks gets one probe request, so a
    // recovered target is noticed and a fast one is never starved.
    static constexpr int kProbeEveryPicks = 20;

    struct RouteState {
        RouteConfig config;
        QByteArray nameUtf8;                 // config.name as the bytes requests carry
        std::vector<TargetHealth *> health;  // per target, shared between routes by provider/model
        std::vector<qint64> wrrCurrent;      // smooth weighted round-robin state
        std::vector<double> price;           // USD per MTok (input + output); inf when unknown
        qint64 seq = 0;
    };

    Router(const QList<RouteConfig> &routes, const PriceTable *prices, EventBus *events = nullptr,
           QObject *parent = nullptr);

    bool empty() const { return m_routes.empty(); }
    // The route serving this requested model, or nullptr (then the request is not routed).
    RouteState *routeFor(QByteArrayView model);

    // Target index for the next attempt, or -1 when every target is cooling down.
    // triedMask has bit i set for targets already tried by this request; they are chosen again
    // only when no untried target is available. Targets in excludeMask are never chosen (they
    // cannot serve this request at all). hashInput feeds the Hash strategy.
    int pick(RouteState &route, quint64 triedMask, QByteArrayView hashInput, qint64 nowMs,
             quint64 excludeMask = 0);
    // The earliest time a target of this route is available again (for Retry-After).
    qint64 nextAvailableMs(const RouteState &route, qint64 nowMs) const;

    void begin(RouteState &route, int index, qint64 nowMs);
    void succeed(RouteState &route, int index, double latencyMs, double ttftMs, qint64 nowMs);
    void fail(RouteState &route, int index, qint64 nowMs, qint64 retryAfterMs = 0);
    void abandon(RouteState &route, int index);

    // {"name","provider","model","base_url"?, "healthy","circuit",...} per distinct target.
    QJsonArray targetsJson(qint64 nowMs) const;

    // Exponential backoff with jitter before attempt number `attempt` (2 = first retry):
    // min(max, base * 2^(attempt-2)) scaled into [50%, 100%] by random.
    static int backoffDelayMs(const RetryPolicy &policy, int attempt, quint32 random);
    // Stable 64-bit hash (FNV-1a + mix), identical across runs and machines.
    static quint64 stableHash(QByteArrayView a, QByteArrayView b);

private:
    void noteTransition(const RouteState &route, int index, const TargetHealth::Transition &t,
                        qint64 nowMs);

    std::vector<std::unique_ptr<RouteState>> m_routes;
    std::map<QString, std::unique_ptr<TargetHealth>> m_health;  // by "provider/model"
    std::map<QString, RouteTarget> m_targets;
    EventBus *m_events;
};

}  // namespace airlock
