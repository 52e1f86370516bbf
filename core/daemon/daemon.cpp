#include "core/daemon/daemon.h"

#include "core/daemon/daemon_files.h"
#include "core/http/upstream_pool.h"
#include "core/policy/governance.h"
#include "core/policy/policy_config.h"
#include "core/policy/policy_enforcer.h"
#include "core/proxy/attribution_service.h"
#include "core/proxy/interception_pause.h"
#include "core/proxy/provider_keys.h"
#include "core/proxy/proxy_server.h"
#include "core/routing/router.h"
#include "core/store/ledger_writer.h"
#include "core/store/response_cache.h"
#include "platform/process_resolver.h"

#include <QDateTime>
#include <QFileInfo>
#include <QThreadPool>

namespace airlock {

bool buildConfig(const DaemonOptions &options, Config *config, QString *error)
{
    *config = Config::defaults();
    const QString userPath = options.configPath.isEmpty() ? defaultUserConfigPath() : options.configPath;
    if (!options.configPath.isEmpty() || QFileInfo::exists(userPath)) {
        if (!loadConfigFile(userPath, config, error)) return false;
    }
    if (QFileInfo::exists(managedConfigPath())) {
        if (!loadConfigFile(managedConfigPath(), config, error)) return false;
    }
    // "policy" / "usage_upload" are read by Governance; checked here so --check-config reports them.
    if (PolicyConfig policy; !loadPolicyConfig(options.configPath, &policy, error)) return false;
    for (const QString &spec : options.upstreams)
        if (!applyUpstreamFlag(spec, config, error)) return false;
    if (!options.listen.isEmpty() &&
        !parseListenAddress(options.listen, &config->listenAddress, &config->listenPort, error))
        return false;
    return true;
}

struct Daemon::Impl {
    ProxyContext ctx;
    std::unique_ptr<LedgerWriter> ledger;
    std::unique_ptr<UpstreamPool> pool;
    std::unique_ptr<ProviderKeys> keys;
    std::unique_ptr<AttributionService> attribution;
    std::unique_ptr<EventBus> events;
    std::unique_ptr<Router> router;
    std::unique_ptr<Governance> governance;  // nullptr: neither policy nor usage_upload configured
    std::unique_ptr<ResponseCache> responseCache;
    std::unique_ptr<InterceptionPause> pause;  // in memory only: a restart ends a pause
    std::unique_ptr<ProxyServer> server;
    bool running = false;
};

Daemon::Daemon(QObject *parent) : QObject(parent), d(std::make_unique<Impl>()) {}

Daemon::~Daemon()
{
    stop();
}

bool Daemon::start(const DaemonOptions &options, QString *error)
{
    ProxyContext &ctx = d->ctx;
    if (!buildConfig(options, &ctx.config, error)) return false;
    ctx.dataDir = options.dataDir.isEmpty() ? defaultDataDir() : options.dataDir;
    if (!ensureDataDir(ctx.dataDir, error)) return false;
    ctx.apiToken = loadOrCreateApiToken(ctx.dataDir, error);
    if (ctx.apiToken.isEmpty()) return false;

    ctx.prices = PriceTable::builtIn();
    ctx.prices.merge(ctx.config.priceOverrides);
    ctx.startedMs = QDateTime::currentMSecsSinceEpoch();

    LedgerOptions ledgerOptions;
    ledgerOptions.flushIntervalMs = ctx.config.ledgerFlushIntervalMs;
    d->ledger = std::make_unique<LedgerWriter>(ctx.ledgerPath(), ledgerOptions);
    if (!d->ledger->start(error)) return false;
    ctx.ledger = d->ledger.get();

    HttpParseLimits upstreamLimits;
    upstreamLimits.maxHeaderBytes = ctx.config.limits.maxHeaderBytes;
    upstreamLimits.maxBodyBytes = 0;  // responses stream through; no size cap
    ProxyServer::ignoreProxyEnvironmentPointingAt(ctx.config.listenAddress, ctx.config.listenPort);
    d->pool = std::make_unique<UpstreamPool>(OutboundProxy::fromEnvironment(), upstreamLimits,
                                             ctx.config.limits.upstreamPoolIdleMs);
    ctx.pool = d->pool.get();
    d->keys = std::make_unique<ProviderKeys>();
    d->keys->reload(ctx.config.providers);
    ctx.keys = d->keys.get();
    d->attribution = std::make_unique<AttributionService>(ProcessResolver::create());
    ctx.attribution = d->attribution.get();
    d->events = std::make_unique<EventBus>();
    ctx.events = d->events.get();
    d->router = std::make_unique<Router>(ctx.config.routes, &ctx.prices, ctx.events);
    ctx.router = d->router.get();

    QString governanceError;
    d->governance = Governance::create(options.configPath, &ctx, &governanceError);
    if (!d->governance && !governanceError.isEmpty()) {
        *error = governanceError;
        return false;
    }
    ctx.policy = d->governance ? d->governance->engine() : nullptr;
    if (ctx.policy) {
        // Only a policy profile can turn caching on, and most never do: the cache's thread and
        // database start once a bundle with a "cache" key is in force (or on first use); one
        // that cannot open then is a warning.
        d->responseCache = std::make_unique<ResponseCache>();
        d->responseCache->openOnFirstUse(ctx.responseCachePath());
        ctx.responseCache = d->responseCache.get();
        PolicyEnforcer *enforcer = d->governance->enforcer();
        ResponseCache *cache = d->responseCache.get();
        const auto startCacheIfUsed = [enforcer, cache] {
            if (enforcer->bundleUsesCache()) cache->start();
        };
        startCacheIfUsed();  // the cached bundle, enforced already
        connect(ctx.events, &EventBus::notice, this,
                [startCacheIfUsed](const QByteArray &type, const QJsonObject &) {
                    if (type == "policy") startCacheIfUsed();
                });
    }
    d->pause = std::make_unique<InterceptionPause>(ctx.policy, ctx.events);
    ctx.pause = d->pause.get();

    d->server = std::make_unique<ProxyServer>(&ctx);
    if (!d->server->listenOn(ctx.config.listenAddress, ctx.config.listenPort, error)) return false;
    ctx.config.listenPort = d->server->serverPort();
    if (!writeRuntimeFile(ctx.dataDir, ctx.config.listenAddress, ctx.config.listenPort, error))
        return false;
    d->running = true;
    return true;
}

void Daemon::stop()
{
    if (!d->running) return;
    d->running = false;
    d->server->close();
    removeRuntimeFile(d->ctx.dataDir);
    QThreadPool::globalInstance()->waitForDone(5000);
    d->ledger->flush();
}

quint16 Daemon::port() const
{
    return d->server ? d->server->serverPort() : 0;
}

}  // namespace airlock
