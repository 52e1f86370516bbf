// The long-lived services every request handler uses, owned by the ProxyServer.
#pragma once

#include "core/api/event_bus.h"
#include "core/api/metrics.h"
#include "core/config/config.h"
#include "core/providers/price_table.h"

#include <QString>

namespace airlock {

class UpstreamPool;
class LedgerWriter;
class ProviderKeys;
class AttributionService;
class PolicyEngine;
class Router;
class ResponseCache;
class InterceptionPause;

struct ProxyContext {
    Config config;
    PriceTable prices;
    QString dataDir;
    QByteArray apiToken;  // local admin API bearer token (also in dataDir/api-token, 0600)
    qint64 startedMs = 0;
    UpstreamPool *pool = nullptr;
    LedgerWriter *ledger = nullptr;
    ProviderKeys *keys = nullptr;
    AttributionService *attribution = nullptr;
    PolicyEngine *policy = nullptr;  // nullptr: no governance configured, everything is allowed
    Metrics metrics;
    EventBus *events = nullptr;
    Router *router = nullptr;  // config "routes" (core/routing); nullptr: nothing is routed
    ResponseCache *responseCache = nullptr;  // cache.db; used when a profile has a "cache" key
    InterceptionPause *pause = nullptr;  // user pause of TLS interception; nullptr: never paused

    QString ledgerPath() const { return dataDir + QStringLiteral("/usage.db"); }
    QString responseCachePath() const { return dataDir + QStringLiteral("/cache.db"); }
};

QByteArray newRequestId();

}  // namespace airlock
