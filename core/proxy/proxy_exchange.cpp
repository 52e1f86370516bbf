#include "core/proxy/proxy_exchange.h"

#include "core/http/upstream_pool.h"
#include "core/policy/policy_engine.h"
#include "core/providers/json_scan.h"
#include "core/proxy/attribution_service.h"
#include "core/proxy/provider_keys.h"
#include "core/store/ledger_writer.h"
#include "core/store/response_cache.h"

#include <QDateTime>
#include <QRandomGenerator>
#include <QTimer>
#include <atomic>

namespace airlock {

QByteArray newRequestId() {
    // Milliseconds first (12 hex digits): ids sort by time, so the ledger's primary-key index
    // grows at its end instead of touching random pages. Then 24 random bits drawn once per
    // process and a 24-bit sequence: unique within the process without a syscall per id.
    static const quint64 processBits = QRandomGenerator::system()->generate() & 0xff'ffffU;
    static std::atomic<quint32> sequence{QRandomGenerator::system()->generate()};
    const quint64 ms = quint64(QDateTime::currentMSecsSinceEpoch()) & 0xffff'ffff'ffffULL;
    const quint64 tail = (processBits << 24) | (sequence.fetch_add(1) & 0xff'ffffU);
    return "req_" + QByteArray::number(ms, 16).rightJustified(12, '0') +
           QByteArray::number(tail, 16).rightJustified(12, '0');
}

namespace {

bool isHopByHop(const QByteArray &name) {
    static constexpr QByteArrayView kHop[] = {"connection",
                                              "keep-alive",
                                              "proxy-connection",
                                              "proxy-authorization",
                                              "proxy-authenticate",
                                              "te",
                                              "trailer",
                                              "transfer-encoding",
                                              "upgrade"};
    // Runs for every header of every answer: compare only names of a matching length.
    for (const QByteArrayView h : kHop) {
        if (name.size() == h.size() && name.compare(h, Qt::CaseInsensitive) == 0) return true;
    }
    return false;
}

bool accountedKind(EndpointKind kind) {
    return kind != EndpointKind::Passthrough && kind != EndpointKind::Models;
}

double msBetween(qint64 fromNs, qint64 toNs) {
    return double(toNs - fromNs) / 1e6;
}

// A cache lookup slower than this is treated as a miss: the request must not wait on the disk.
constexpr int kCacheLookupTimeoutMs = 10;

// Answers worth caching: the accounted, non-streamed kinds.
bool cacheableKind(EndpointKind kind) {
    return kind == EndpointKind::ChatCompletions || kind == EndpointKind::Completions ||
           kind == EndpointKind::Responses || kind == EndpointKind::Embeddings ||
           kind == EndpointKind::Messages || kind == EndpointKind::GenerateContent;
}

// The client asked for a fresh answer (Cache-Control: no-cache / no-store, Pragma: no-cache).
bool clientRefusesCache(const HttpHeaders &headers) {
    return headers.hasToken("cache-control", "no-cache") ||
           headers.hasToken("cache-control", "no-store") || headers.hasToken("pragma", "no-cache");
}

// Longest Retry-After we honour for cooling a target down.
constexpr qint64 kMaxRetryAfterMs = 600'000;

qint64 wallMs() {
    return QDateTime::currentMSecsSinceEpoch();
}

// Statuses after which another target (or a later try) may well succeed.
bool retryableStatus(int status) {
    return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
           status == 504 || status == 529;
}

bool routableKind(EndpointKind kind) {
    return kind == EndpointKind::ChatCompletions || kind == EndpointKind::Completions ||
           kind == EndpointKind::Responses || kind == EndpointKind::Embeddings ||
           kind == EndpointKind::Messages || kind == EndpointKind::CountTokens ||
           kind == EndpointKind::GenerateContent || kind == EndpointKind::StreamGenerateContent;
}

// The body with its top-level "model" value replaced, every other byte as the client sent it.
QByteArray withModel(const QByteArray &body, const QByteArray &model) {
    const qsizetype open = json_scan::skipWhitespace(body, 0);
    QList<json_scan::Member> members;
    if (open >= body.size() || body.at(open) != '{' ||
        !json_scan::objectMembers(body, open, &members))
        return body;
    const json_scan::Member *m = json_scan::findMember(members, "model");
    if (!m) return body;
    QByteArray escaped = model;
    escaped.replace('\\', "\\\\").replace('"', "\\\"");
    return body.left(m->valueBegin) + '"' + escaped + '"' + body.mid(m->valueEnd);
}

// A provider-specific request header that must not reach a provider of another format.
bool foreignHeader(const QByteArray &name) {
    return name.startsWith("anthropic-") || name.startsWith("Anthropic-") ||
           name.startsWith("openai-") || name.startsWith("OpenAI-") || name.startsWith("x-goog-") ||
           name.startsWith("X-Goog-");
}

}  // namespace

ProxyExchange::ProxyExchange(ProxyContext *context, ClientConnection *connection)
    : ExchangeHandler(connection), m_ctx(context), m_conn(connection) {}

ProxyExchange::~ProxyExchange() {
    if (m_upstream) m_ctx->pool->discard(std::exchange(m_upstream, nullptr));
}

void ProxyExchange::start(const HttpRequestHead &head, QByteArray body) {
    m_head = head;
    m_body = std::move(body);
    m_startNs = m_conn->requestStartNs();
    m_record.id = newRequestId();
    m_record.tsMs = QDateTime::currentMSecsSinceEpoch();
    m_record.userAgent = QString::fromUtf8(head.headers.value("user-agent").left(256));
    m_record.bytesIn = m_body.size();

    // A configured provider's name may prefix the path: /<name>/v1/... goes to that provider.
    QByteArray target = head.target;
    const qsizetype second = target.indexOf('/', 1);
    if (target.startsWith('/') && second > 1) {
        const QString first = QString::fromUtf8(target.mid(1, second - 1));
        if (const ProviderConfig *named = m_ctx->config.providerByName(first)) {
            m_provider = named;
            m_namedProvider = true;
            target = '/' + wireFormatName(named->format) + target.mid(second);
        }
    }
    m_match = classifyEndpoint(head.method, target);
    if (!m_provider && m_match.format != WireFormat::Unknown)
        m_provider = m_ctx->config.defaultProviderFor(m_match.format);
    m_record.format = QString::fromUtf8(wireFormatName(m_match.format));
    m_record.endpoint = QString::fromUtf8(endpointKindName(m_match.kind));

    if (m_match.format == WireFormat::Unknown) {
        m_recorded = true;  // not AI traffic: answered, not recorded
        reject(ErrorKind::NotFound,
               QStringLiteral(
                   "Airlock does not serve %1 %2. AI paths: /v1/chat/completions, "
                   "/v1/responses, /v1/embeddings, /v1/models, /v1/messages, "
                   "/v1beta/models/{model}:generateContent, or /openai|/anthropic|/gemini/...")
                   .arg(QString::fromUtf8(head.method), QString::fromUtf8(head.path().left(200))),
               QStringLiteral("not_found"));
        return;
    }
    if (!m_provider) {
        reject(ErrorKind::Unavailable,
               QStringLiteral("no provider is configured for the %1 format")
                   .arg(QString::fromUtf8(wireFormatName(m_match.format))),
               QStringLiteral("no_provider"));
        return;
    }
    m_record.provider = m_provider->name;
    // Only bodies that carry a request are inspected: a GET on an AI path is passed through.
    const bool hasRequestBody =
        head.method == "POST" || head.method == "PUT" || head.method == "PATCH";
    if ((accountedKind(m_match.kind) && hasRequestBody) || !m_match.pathModel.isEmpty()) {
        m_info = inspectRequest(m_match, m_body);
        m_record.model = QString::fromUtf8(m_info.model.left(200));
        m_record.stream = m_info.stream;
        if (accountedKind(m_match.kind) && hasRequestBody && !m_info.validJson) {
            reject(ErrorKind::InvalidRequest,
                   QStringLiteral("the request body is not valid JSON: %1")
                       .arg(QString::fromUtf8(m_info.jsonError)),
                   QStringLiteral("invalid_request"));
            return;
        }
    }
    m_usage.emplace(m_match.format, m_match.kind);
    m_conn->whenIdentified(this, [this] { forward(); });
}

void ProxyExchange::forward() {
    const ClientIdentity &who = m_conn->identity();
    m_record.pid = who.pid;
    m_record.exePath = who.exePath;
    m_record.app =
        who.pid >= 0 ? who.app : AttributionService::appFromUserAgent(m_record.userAgent.toUtf8());
    applyPolicy();
}

void ProxyExchange::applyPolicy() {
    if (!m_ctx->policy) {
        route();
        return;
    }
    PolicyInput input;
    input.requestId = m_record.id;
    input.app = m_record.app;
    input.pid = m_record.pid;
    input.exePath = m_record.exePath;
    input.userAgent = m_record.userAgent;
    input.format = m_match.format;
    input.kind = m_match.kind;
    input.provider = m_provider->name;
    input.model = m_info.model;
    input.stream = m_info.stream;
    input.maxTokens = m_info.maxTokens;
    input.body = &m_body;
    m_policyPending = true;
    QPointer<ProxyExchange> self(this);
    m_ctx->policy->evaluate(input, [self](PolicyVerdict verdict) {
        if (!self || !self->m_policyPending) return;
        self->m_policyPending = false;
        self->m_record.profile = verdict.profile;
        self->m_record.rule = verdict.rule;
        self->m_policyHeaders = verdict.responseHeaders;
        if (!verdict.allow) {
            self->reject(verdict.errorKind, verdict.message,
                         verdict.outcome.isEmpty() ? QStringLiteral("blocked") : verdict.outcome,
                         verdict.errorCode, verdict.retryAfterSeconds);
            return;
        }
        if (verdict.bodyRewritten) {
            if (verdict.bodyRedacted) {
                self->m_info = inspectRequest(self->m_match, self->m_body);
            } else {  // an alias or a token cap: no need to read a large body again
                self->m_info.model = verdict.model;
                self->m_info.maxTokens = verdict.maxTokens;
            }
            self->m_record.model = QString::fromUtf8(self->m_info.model.left(200));
            self->m_record.bytesIn = self->m_body.size();
        }
        self->consultCache(verdict);
    });
}

void ProxyExchange::consultCache(const PolicyVerdict &verdict) {
    if (!m_ctx->responseCache || verdict.cacheTtlSeconds <= 0) {
        route();
        return;
    }
    m_cacheState = CacheState::Bypass;
    if (!cacheableKind(m_match.kind) || m_info.stream || m_head.method != "POST" ||
        clientRefusesCache(m_head.headers)) {
        route();
        return;
    }
    m_cacheTtlSeconds = verdict.cacheTtlSeconds;
    m_cacheMaxBytes = verdict.cacheMaxBytes;
    m_cacheBucket = verdict.profile;
    CacheKeyInput k;
    k.provider = m_provider->name;
    k.format = wireFormatName(m_match.format);
    k.method = m_head.method;
    k.path = m_match.upstreamPath;
    k.body = m_body;
    if (verdict.cachePerApp) k.app = m_record.app;
    m_cacheKey = ResponseCacheStore::key(k);
    m_cacheState = CacheState::Miss;
    m_cachePending = true;
    QPointer<ProxyExchange> self(this);
    m_ctx->responseCache->lookup(m_cacheKey, this, [self](std::optional<CachedResponse> hit) {
        if (!self || !self->m_cachePending) return;
        self->m_cachePending = false;
        if (hit && hit->status >= 200 && hit->status < 300)
            self->serveFromCache(*hit);
        else
            self->route();
    });
    QTimer::singleShot(kCacheLookupTimeoutMs, this, [self] {
        if (!self || !self->m_cachePending) return;
        self->m_cachePending = false;
        self->route();
    });
}

void ProxyExchange::serveFromCache(const CachedResponse &cached) {
    m_cacheState = CacheState::Hit;
    m_record.rule = m_record.rule.isEmpty() ? QStringLiteral("cache:hit")
                                            : m_record.rule + QStringLiteral(",cache:hit");
    m_record.status = cached.status;
    m_usage->addJsonBody(cached.body);
    HttpHeaders h;
    for (const auto &[name, value] : cached.headers) h.add(name, value);
    const HttpHeaders ours = airlockHeaders();
    for (const auto &[name, value] : ours.entries()) h.add(name, value);
    m_firstByteNs = ClientConnection::nowNs();
    m_record.bytesOut = cached.body.size();
    finishRecord(QStringLiteral("ok"));
    m_conn->sendComplete(cached.status, h, cached.body);
}

void ProxyExchange::storeInCache(const HttpResponseHead &upstream, const QByteArray &body,
                                 const QByteArray &contentType) {
    if (!m_cacheStore || !m_ctx->responseCache) return;
    m_cacheStore = false;
    CachedResponse r;
    r.status = upstream.status;
    r.body = body;
    for (const auto &[name, value] : upstream.headers.entries()) {
        if (!replayableCacheHeader(name)) continue;
        if (!contentType.isEmpty() && name.compare("content-type", Qt::CaseInsensitive) == 0)
            continue;
        r.headers.append({name, value});
    }
    if (!contentType.isEmpty()) r.headers.append({"Content-Type", contentType});
    m_ctx->responseCache->store(m_cacheKey, m_cacheBucket, std::move(r), m_cacheTtlSeconds,
                                m_cacheMaxBytes);
}

void ProxyExchange::route() {
    if (m_ctx->router && !m_namedProvider && routableKind(m_match.kind))
        m_route = m_ctx->router->routeFor(m_info.model);
    if (m_route) {
        // An endpoint none of the targets can serve (e.g. count_tokens across formats) is not
        // routed: it goes where it would go without the route.
        bool servable = false;
        for (const RouteTarget &t : m_route->config.targets) {
            const ProviderConfig *p = m_ctx->config.providerByName(t.provider);
            servable = servable || (p && canTranslate(m_match.format, m_match.kind, p->format));
        }
        if (!servable) m_route = nullptr;
    }
    if (m_route) {
        const QString &key = m_route->config.hashKey;
        if (key.startsWith(QLatin1String("header:")))
            m_hashInput = m_head.headers.value(key.mid(7).toUtf8());
        if (m_hashInput.isEmpty()) m_hashInput = m_record.app.toUtf8();
        m_routeStartNs = ClientConnection::nowNs();
        nextAttempt();
        return;
    }
    m_forwardBody = m_body;
    m_forwardPath = m_match.upstreamPath;
    QString error;
    m_upstreamRequest = buildUpstreamRequest(&error);
    if (m_upstreamRequest.isEmpty()) {
        reject(ErrorKind::Authentication, error, QStringLiteral("no_key"));
        return;
    }
    sendToUpstream(false);
}

bool ProxyExchange::prepareTarget(const RouteTarget &target, const ProviderConfig *provider,
                                  QString *error) {
    m_keyMissing = false;
    m_provider = provider;
    m_targetFormat = provider->format;
    m_targetModel = target.model.toUtf8();
    m_translating = provider->format != m_match.format;
    m_translator.reset();
    if (!m_translating) {
        m_forwardPath = m_match.upstreamPath;
        if (m_match.format == WireFormat::Gemini && !m_match.pathModel.isEmpty()) {
            const qsizetype at = m_forwardPath.indexOf("/models/" + m_match.pathModel);
            if (at >= 0) m_forwardPath.replace(at + 8, m_match.pathModel.size(), m_targetModel);
            m_forwardBody = m_body;
        } else {
            m_forwardBody = withModel(m_body, m_targetModel);
        }
        m_usage.emplace(m_match.format, m_match.kind);
    } else {
        if (!canTranslate(m_match.format, m_match.kind, provider->format)) {
            *error = QStringLiteral("%1 %2 requests cannot be served by the %3 target %4")
                         .arg(QString::fromUtf8(wireFormatName(m_match.format)),
                              QString::fromUtf8(endpointKindName(m_match.kind)),
                              QString::fromUtf8(wireFormatName(provider->format)), target.key());
            return false;
        }
        TranslatedRequest t = translateRequest(m_match.format, provider->format, m_body,
                                               m_targetModel, m_info.stream);
        if (!t.error.isEmpty()) {
            *error = QStringLiteral("cannot be translated for %1: %2").arg(target.key(), t.error);
            return false;
        }
        m_forwardBody = std::move(t.body);
        m_forwardPath = t.path;
        m_usage.emplace(provider->format, t.kind);
    }
    m_upstreamRequest = buildUpstreamRequest(error);
    m_keyMissing = m_upstreamRequest.isEmpty();
    return !m_keyMissing;
}

void ProxyExchange::nextAttempt() {
    if (m_recorded) return;
    const qint64 nowMs = wallMs();
    const QList<RouteTarget> &targets = m_route->config.targets;
    const quint64 all = targets.size() >= 64 ? ~0ULL : (1ULL << targets.size()) - 1;
    for (;;) {
        const int index =
            m_ctx->router->pick(*m_route, m_triedMask, m_hashInput, nowMs, m_unusableMask);
        if (index < 0) {
            if (m_unusableMask == all) {
                // No target can take this request at all: say why (translation or key).
                reject(m_skipForKey ? ErrorKind::Authentication : ErrorKind::InvalidRequest,
                       m_skipReason,
                       m_skipForKey ? QStringLiteral("no_key") : QStringLiteral("invalid_request"));
            } else if (m_attempts == 0) {
                const qint64 wait = m_ctx->router->nextAvailableMs(*m_route, nowMs) - nowMs;
                reject(ErrorKind::Unavailable,
                       QStringLiteral("every target of route '%1' is cooling down after failures")
                           .arg(m_route->config.name),
                       QStringLiteral("unavailable"), {}, int((wait + 999) / 1000));
            } else {
                reject(ErrorKind::UpstreamError,
                       QStringLiteral("no target of route '%1' is left to try")
                           .arg(m_route->config.name),
                       QStringLiteral("upstream_error"));
            }
            return;
        }
        const RouteTarget &target = targets[index];
        const ProviderConfig *provider = m_ctx->config.providerByName(target.provider);
        QString error;
        if (provider && prepareTarget(target, provider, &error)) {
            m_targetIndex = index;
            break;
        }
        // Skipped without a verdict on its health; a translation refusal explains best.
        m_unusableMask |= 1ULL << index;
        const bool keyMissing = provider && m_keyMissing;
        if (m_skipReason.isEmpty() || !keyMissing) {
            m_skipReason =
                provider ? error
                         : QStringLiteral("provider '%1' is not configured").arg(target.provider);
            m_skipForKey = keyMissing;
        }
    }
    m_triedMask |= 1ULL << m_targetIndex;
    ++m_attempts;
    m_record.provider = m_provider->name;
    m_ctx->router->begin(*m_route, m_targetIndex, nowMs);
    m_attemptOpen = true;
    m_upstreamHeadNs = 0;
    m_retried = false;  // each attempt may meet one stale pooled connection
    sendToUpstream(false);
}

bool ProxyExchange::mayRetry() const {
    if (!m_route || m_conn->headSent() || m_recorded) return false;
    if (m_attempts >= m_route->config.retry.maxAttempts) return false;
    const qint64 elapsedMs = (ClientConnection::nowNs() - m_routeStartNs) / 1'000'000;
    if (elapsedMs >= m_route->config.retry.deadlineMs) return false;
    const qint64 nowMs = wallMs();
    for (int i = 0; i < int(m_route->health.size()); ++i)
        if (!((m_unusableMask >> i) & 1ULL) && m_route->health[i]->available(nowMs)) return true;
    return false;
}

void ProxyExchange::attemptSucceeded() {
    if (!m_route || !m_attemptOpen) return;
    m_attemptOpen = false;
    const qint64 now = ClientConnection::nowNs();
    m_ctx->router->succeed(*m_route, m_targetIndex, msBetween(m_attemptStartNs, now),
                           m_upstreamHeadNs ? msBetween(m_attemptStartNs, m_upstreamHeadNs) : -1,
                           wallMs());
}

void ProxyExchange::attemptFailed(qint64 retryAfterMs) {
    if (!m_route || !m_attemptOpen) return;
    m_attemptOpen = false;
    m_ctx->router->fail(*m_route, m_targetIndex, wallMs(),
                        std::min(retryAfterMs, kMaxRetryAfterMs));
}

void ProxyExchange::retryAfterFailure(qint64 retryAfterMs) {
    attemptFailed(retryAfterMs);
    // Another untried target needs no pause; coming back to a tried one backs off first.
    const qint64 nowMs = wallMs();
    bool untried = false;
    for (int i = 0; i < int(m_route->health.size()); ++i)
        if (!(((m_triedMask | m_unusableMask) >> i) & 1ULL) && m_route->health[i]->available(nowMs))
            untried = true;
    const int delay = untried ? 0
                              : Router::backoffDelayMs(m_route->config.retry, m_attempts + 1,
                                                       QRandomGenerator::global()->generate());
    m_capture.clear();
    m_captureOverflow = false;
    m_framer = SseFramer();
    m_sse = false;
    m_holdBody = false;
    m_upstreamStatus = 0;
    QTimer::singleShot(delay, this, [this] { nextAttempt(); });
}

QByteArray ProxyExchange::buildUpstreamRequest(QString *error) {
    QByteArray body = m_forwardBody;
    m_injectedUsage = false;
    if (m_info.stream && !m_translating)
        body = withStreamUsageRequested(m_match, m_info, m_forwardBody, &m_injectedUsage);

    const Origin origin = Origin::fromUrl(m_provider->baseUrl);
    QByteArray req;
    req.reserve(body.size() + 2048);
    req += m_head.method;
    req += ' ';
    req += m_provider->baseUrl.path(QUrl::FullyEncoded).toUtf8();
    req += m_forwardPath;
    req += " HTTP/1.1\r\nHost: ";
    req += origin.hostHeader();
    req += "\r\n";

    bool inject = m_provider->auth == AuthMode::Inject;
    // Passthrough across formats: the client's key moves to the header the target expects.
    QByteArray passKey;
    if (m_translating && !inject) {
        passKey = m_head.headers.value("x-api-key");
        if (passKey.isEmpty()) passKey = m_head.headers.value("x-goog-api-key");
        const QByteArray bearer = m_head.headers.value("authorization");
        if (passKey.isEmpty() && bearer.startsWith("Bearer ")) passKey = bearer.mid(7).trimmed();
    }
    QByteArray key;
    if (inject) {
        key = m_ctx->keys->keyFor(m_provider->name);
        if (key.isEmpty()) {
            *error = QStringLiteral(
                         "provider '%1' injects its key, but none is set: run "
                         "`airlockctl keys set %1`%2")
                         .arg(m_provider->name,
                              m_provider->keyEnv.isEmpty()
                                  ? QString()
                                  : QStringLiteral(" or set %1").arg(m_provider->keyEnv));
            return {};
        }
    }
    const QList<QByteArray> connectionTokens = m_head.headers.value("connection").split(',');
    for (const auto &[name, value] : m_head.headers.entries()) {
        if (isHopByHop(name) || name.compare("host", Qt::CaseInsensitive) == 0 ||
            name.compare("content-length", Qt::CaseInsensitive) == 0 ||
            name.compare("accept-encoding", Qt::CaseInsensitive) == 0 ||
            name.compare("expect", Qt::CaseInsensitive) == 0)
            continue;
        bool listed = false;
        for (const QByteArray &t : connectionTokens)
            if (t.trimmed().compare(name, Qt::CaseInsensitive) == 0) listed = true;
        if (listed) continue;
        if ((inject || m_translating) && (name.compare("authorization", Qt::CaseInsensitive) == 0 ||
                                          name.compare("x-api-key", Qt::CaseInsensitive) == 0 ||
                                          name.compare("x-goog-api-key", Qt::CaseInsensitive) == 0))
            continue;
        if (m_translating &&
            (foreignHeader(name) || name.compare("content-type", Qt::CaseInsensitive) == 0))
            continue;
        req += name;
        req += ": ";
        req += value;
        req += "\r\n";
    }
    if (m_translating) {
        req += "Content-Type: application/json\r\n";
        if (m_provider->format == WireFormat::Anthropic) req += "anthropic-version: 2023-06-01\r\n";
        if (!inject && !passKey.isEmpty()) {
            inject = true;
            key = passKey;
        }
    }
    if (inject) {
        switch (m_provider->format) {
            case WireFormat::Anthropic:
                req += "x-api-key: " + key + "\r\n";
                break;
            case WireFormat::Gemini:
                req += "x-goog-api-key: " + key + "\r\n";
                break;
            default:
                req += "Authorization: Bearer " + key + "\r\n";
                break;
        }
    }
    // Identity encoding so usage can be read from the body as it passes.
    req += "Accept-Encoding: identity\r\n";
    if (!body.isEmpty() || m_head.method == "POST" || m_head.method == "PUT" ||
        m_head.method == "PATCH")
        req += "Content-Length: " + QByteArray::number(body.size()) + "\r\n";
    req += "\r\n";
    req += body;
    return req;
}

void ProxyExchange::sendToUpstream(bool freshConnection) {
    const Origin origin = Origin::fromUrl(m_provider->baseUrl);
    m_upstream = m_ctx->pool->acquire(origin, freshConnection);
    UpstreamTimeouts t;
    t.connectMs = m_ctx->config.limits.upstreamConnectTimeoutMs;
    t.firstByteMs = m_ctx->config.limits.upstreamFirstByteTimeoutMs;
    t.idleMs = m_ctx->config.limits.upstreamIdleTimeoutMs;
    if (m_route) {
        const RouteTarget &target = m_route->config.targets[m_targetIndex];
        if (target.connectTimeoutMs > 0) t.connectMs = target.connectTimeoutMs;
        if (target.firstByteTimeoutMs > 0) t.firstByteMs = target.firstByteTimeoutMs;
        if (target.idleTimeoutMs > 0) t.idleMs = target.idleTimeoutMs;
    }
    const qint64 now = ClientConnection::nowNs();
    if (m_forwardNs == 0) {
        m_forwardNs = now;
        m_ctx->metrics.recordOverhead(double(m_forwardNs - m_startNs) / 1e9);
    }
    if (!freshConnection) m_attemptStartNs = now;
    m_upstream->send(m_upstreamRequest, m_head.method == "HEAD", t, this);
}

HttpHeaders ProxyExchange::airlockHeaders() const {
    HttpHeaders h;
    h.add("x-airlock-request-id", m_record.id);
    if (m_provider) h.add("x-airlock-provider", m_provider->name.toUtf8());
    if (m_forwardNs > 0)
        h.add("x-airlock-overhead-us", QByteArray::number((m_forwardNs - m_startNs) / 1000));
    if (m_route && m_targetIndex >= 0) {
        h.add("x-airlock-target", m_route->config.targets[m_targetIndex].key().toUtf8());
        h.add("x-airlock-attempts", QByteArray::number(m_attempts));
    }
    for (const auto &[name, value] : m_policyHeaders) h.add(name, value);
    switch (m_cacheState) {
        case CacheState::Off:
            break;
        case CacheState::Hit:
            h.add("x-airlock-cache", "hit");
            break;
        case CacheState::Miss:
            h.add("x-airlock-cache", "miss");
            break;
        case CacheState::Bypass:
            h.add("x-airlock-cache", "bypass");
            break;
    }
    return h;
}

void ProxyExchange::upstreamHead(const HttpResponseHead &upstream) {
    m_upstreamStatus = upstream.status;
    m_upstreamHeadNs = ClientConnection::nowNs();
    m_upstreamRetryAfterMs = 0;
    if (upstream.status == 429 || upstream.status == 503 || upstream.status == 529) {
        bool ok = false;
        const qint64 seconds = upstream.headers.value("retry-after").trimmed().toLongLong(&ok);
        if (ok && seconds > 0) m_upstreamRetryAfterMs = seconds * 1000;
    }
    if (m_route && retryableStatus(upstream.status) && mayRetry()) {
        // Nothing has reached the client: drop this answer and try the next target.
        m_ctx->pool->discard(std::exchange(m_upstream, nullptr));
        retryAfterFailure(m_upstreamRetryAfterMs);
        return;
    }
    m_sse = upstream.headers.value("content-type").toLower().startsWith("text/event-stream");
    if (m_cacheState == CacheState::Miss) {
        // Only a complete, non-streamed 200 is kept; anything else passes by the cache.
        m_cacheStore = upstream.status == 200 && !m_sse;
        if (m_cacheStore)
            m_cacheHead = upstream;
        else
            m_cacheState = CacheState::Bypass;
    }
    if (m_translating) {
        if (upstream.status < 400 && m_sse) {
            m_translator =
                makeStreamTranslator(m_targetFormat, m_match.format, m_info.includeUsageRequested);
            sendUpstreamHead(upstream, -1, "text/event-stream");
        } else {
            // JSON answers and errors are converted whole (they are small and bounded).
            m_holdBody = true;
            m_sse = false;
            m_heldHead = upstream;
        }
        return;
    }
    qint64 length = -1;
    const QByteArray cl = upstream.headers.value("content-length");
    if (!m_sse && !cl.isEmpty() && !upstream.headers.hasToken("transfer-encoding", "chunked"))
        length = cl.toLongLong();
    sendUpstreamHead(upstream, length);
}

void ProxyExchange::sendUpstreamHead(const HttpResponseHead &upstream, qint64 length,
                                     const QByteArray &contentType) {
    HttpResponseHead head;
    head.status = upstream.status;
    head.reason = upstream.reason;
    for (const auto &[name, value] : upstream.headers.entries()) {
        if (isHopByHop(name) || name.compare("content-length", Qt::CaseInsensitive) == 0) continue;
        if (!contentType.isEmpty() && (name.compare("content-type", Qt::CaseInsensitive) == 0 ||
                                       name.compare("content-encoding", Qt::CaseInsensitive) == 0))
            continue;
        head.headers.add(name, value);
    }
    if (!contentType.isEmpty()) head.headers.add("Content-Type", contentType);
    const HttpHeaders ours = airlockHeaders();
    for (const auto &[name, value] : ours.entries()) head.headers.add(name, value);
    m_conn->sendHead(std::move(head), length);
}

void ProxyExchange::sendToClient(QByteArrayView data, bool last) {
    if (!data.isEmpty()) {
        if (m_firstByteNs == 0) m_firstByteNs = ClientConnection::nowNs();
        m_record.bytesOut += data.size();
    }
    if (last) {
        m_conn->sendLastBody(data);  // with the end of the body: one write
        return;
    }
    if (data.isEmpty()) return;
    m_conn->sendBody(data);
    if (m_upstream && m_conn->pendingWriteBytes() > m_ctx->config.limits.clientWriteHighWaterBytes)
        m_upstream->setReadingPaused(true);
}

void ProxyExchange::relayEvents(const QList<SseEvent> &events, bool last) {
    QByteArray out;
    if (!m_translator && m_injectedUsage) {
        // Which events are usage we asked for (to be hidden) is known only once they are read.
        for (const SseEvent &ev : events) {
            if (!m_usage->addSseEvent(ev)) out += stripNullUsage(ev);
        }
        sendToClient(out, last);
        return;
    }
    if (m_translator) {
        for (const SseEvent &ev : events) m_translator->feed(ev, &out);
        if (last) m_translator->finish(&out);
    } else {
        for (const SseEvent &ev : events) out += ev.raw;  // the client's own view
    }
    sendToClient(out, last);  // the client first, accounting after
    for (const SseEvent &ev : events) m_usage->addSseEvent(ev);
}

void ProxyExchange::upstreamBody(QByteArrayView data) {
    if (m_holdBody) {
        if (m_capture.size() + data.size() <= m_ctx->config.limits.maxResponseCaptureBytes)
            m_capture.append(data.data(), data.size());
        else
            m_captureOverflow = true;
        return;
    }
    if (!m_sse && !m_translator) {
        if (!m_captureOverflow) {
            if (m_capture.size() + data.size() <= m_ctx->config.limits.maxResponseCaptureBytes)
                m_capture.append(data.data(), data.size());
            else {
                m_captureOverflow = true;
                m_capture.clear();
            }
        }
        sendToClient(data);
        return;
    }
    relayEvents(m_framer.feed(data), false);
}

void ProxyExchange::clientDrained() {
    if (m_upstream) m_upstream->setReadingPaused(false);
}

void ProxyExchange::upstreamComplete() {
    if (m_holdBody) {
        UpstreamConnection *c = std::exchange(m_upstream, nullptr);
        m_ctx->pool->release(c);
        m_usage->addJsonBody(m_capture);
        QByteArray body =
            m_captureOverflow ? QByteArray()
            : m_upstreamStatus < 400
                ? translateResponseBody(m_targetFormat, m_match.format, m_capture)
                : translateErrorBody(m_targetFormat, m_match.format, m_upstreamStatus, m_capture);
        if (body.isEmpty()) {
            attemptFailed();
            reject(ErrorKind::UpstreamError,
                   QStringLiteral("the %1 target's answer could not be translated")
                       .arg(QString::fromUtf8(wireFormatName(m_targetFormat))),
                   QStringLiteral("upstream_error"));
            return;
        }
        if (m_upstreamStatus >= 500 || m_upstreamStatus == 429)
            attemptFailed(m_upstreamRetryAfterMs);
        else
            attemptSucceeded();
        m_holdBody = false;
        sendUpstreamHead(m_heldHead, body.size(), "application/json");
        sendToClient(body);
        if (!m_captureOverflow) storeInCache(m_heldHead, body, "application/json");
        m_record.status = m_upstreamStatus;
        finishRecord(
            m_upstreamStatus < 400 ? QStringLiteral("ok") : QStringLiteral("upstream_error"),
            m_upstreamStatus < 400 ? QString() : QString::fromUtf8(m_usage->errorType()));
        m_conn->finishResponse();
        return;
    }
    if (m_sse || m_translator) {
        relayEvents(m_framer.finish(), true);
    } else if (!m_capture.isEmpty()) {
        m_usage->addJsonBody(m_capture);
        if (!m_captureOverflow) storeInCache(m_cacheHead, m_capture);
    }
    if (m_upstreamStatus >= 500 || m_upstreamStatus == 429)
        attemptFailed(m_upstreamRetryAfterMs);
    else
        attemptSucceeded();
    UpstreamConnection *c = std::exchange(m_upstream, nullptr);
    m_ctx->pool->release(c);
    m_record.status = m_upstreamStatus;
    finishRecord(m_upstreamStatus < 400 ? QStringLiteral("ok") : QStringLiteral("upstream_error"),
                 m_upstreamStatus < 400 ? QString() : QString::fromUtf8(m_usage->errorType()));
    m_conn->finishResponse();
}

void ProxyExchange::upstreamFailed(const UpstreamFailure &failure) {
    UpstreamConnection *c = std::exchange(m_upstream, nullptr);
    m_ctx->pool->discard(c);
    // A pooled connection the server had already closed: nothing reached it, so try once more.
    if (!m_conn->headSent() && failure.reusedConnection && !failure.responseStarted && !m_retried &&
        (failure.kind == UpstreamFailure::Reset || failure.kind == UpstreamFailure::Connect)) {
        m_retried = true;
        sendToUpstream(true);
        return;
    }
    const bool timeout = failure.kind == UpstreamFailure::ConnectTimeout ||
                         failure.kind == UpstreamFailure::FirstByteTimeout ||
                         failure.kind == UpstreamFailure::IdleTimeout;
    if (m_route && mayRetry()) {
        retryAfterFailure(0);
        return;
    }
    attemptFailed();
    if (!m_conn->headSent()) {
        reject(timeout ? ErrorKind::Timeout : ErrorKind::UpstreamError, failure.message,
               timeout ? QStringLiteral("timeout") : QStringLiteral("upstream_error"));
        return;
    }
    // The answer has started: it cannot be replaced. Tell a streaming client in its own format.
    m_record.status = m_upstreamStatus;
    const QString outcome = timeout ? QStringLiteral("timeout") : QStringLiteral("upstream_reset");
    if (m_sse || m_translator) {
        m_framer.finish();
        sendToClient(errorSseEvent(m_match.format,
                                   timeout ? ErrorKind::Timeout : ErrorKind::UpstreamError,
                                   failure.message));
        finishRecord(outcome, failure.message);
        m_conn->abortResponse();
    } else {
        finishRecord(outcome, failure.message);
        m_conn->abortResponse();
    }
}

void ProxyExchange::clientGone() {
    m_policyPending = false;
    m_cachePending = false;
    m_cacheStore = false;
    if (m_route && m_attemptOpen) {
        m_attemptOpen = false;
        m_ctx->router->abandon(*m_route, m_targetIndex);
    }
    if (m_upstream) m_ctx->pool->discard(std::exchange(m_upstream, nullptr));
    if (!m_recorded && m_usage) {
        if (!m_sse && !m_capture.isEmpty()) m_usage->addJsonBody(m_capture);
        m_record.status = m_upstreamStatus ? m_upstreamStatus : 499;
        finishRecord(QStringLiteral("client_cancelled"),
                     QStringLiteral("the client closed the connection"));
    }
}

void ProxyExchange::reject(ErrorKind kind, const QString &message, const QString &outcome,
                           const QByteArray &code, int retryAfterSeconds) {
    if (m_cacheState == CacheState::Miss) m_cacheState = CacheState::Bypass;
    const int status = errorHttpStatus(kind);
    const QByteArray body = errorBody(m_match.format, kind, message, code);
    HttpHeaders h = airlockHeaders();
    h.add("Content-Type", "application/json");
    if (kind == ErrorKind::QuotaExceeded) h.add("x-should-retry", "false");
    if (retryAfterSeconds >= 0) h.add("Retry-After", QByteArray::number(retryAfterSeconds));
    m_record.status = status;
    m_record.bytesOut = body.size();
    if (!m_recorded) finishRecord(outcome, message.left(300));
    m_conn->sendComplete(status, h, body);
}

void ProxyExchange::finishRecord(const QString &outcome, const QString &error) {
    if (m_recorded) return;
    m_recorded = true;
    const qint64 now = ClientConnection::nowNs();
    m_record.outcome = outcome;
    m_record.error = error;
    m_record.latencyMs = msBetween(m_startNs, now);
    m_record.ttftMs = m_firstByteNs ? msBetween(m_startNs, m_firstByteNs) : -1;
    if (m_record.app.isEmpty()) {
        const ClientIdentity &who = m_conn->identity();
        m_record.pid = who.pid;
        m_record.exePath = who.exePath;
        m_record.app = who.pid >= 0
                           ? who.app
                           : AttributionService::appFromUserAgent(m_record.userAgent.toUtf8());
    }
    if (m_usage) {
        const TokenUsage u = m_usage->usage();
        m_record.inputTokens = u.inputTokens;
        m_record.outputTokens = u.outputTokens;
        m_record.cachedTokens = u.cachedInputTokens;
        m_record.cacheWriteTokens = u.cacheWriteTokens;
        m_record.reasoningTokens = u.reasoningTokens;
        const QByteArray served = m_usage->responseModel();
        if (!served.isEmpty() && QString::fromUtf8(served) != m_record.model)
            m_record.responseModel = QString::fromUtf8(served.left(200));
        if (m_route && !m_targetModel.isEmpty()) {
            // The row names the serving target; the model the client asked for stays visible.
            m_record.responseModel = m_record.model != QString::fromUtf8(m_targetModel)
                                         ? m_record.model
                                         : m_record.responseModel;
            m_record.model = QString::fromUtf8(m_targetModel);
        }
        const QByteArray priced = m_route && !m_targetModel.isEmpty() ? m_targetModel
                                  : m_info.model.isEmpty()            ? served
                                                                      : m_info.model;
        m_record.costUsd = m_ctx->prices.costUsd(priced.isEmpty() ? served : priced, u);
        if (m_record.costUsd == 0 && !served.isEmpty())
            m_record.costUsd = m_ctx->prices.costUsd(served, u);
        if (m_cacheState == CacheState::Hit) m_record.costUsd = 0;  // no provider was paid
    }
    m_ctx->metrics.record(m_record);
    if (m_ctx->policy) m_ctx->policy->settle(m_record.id, m_record);
    if (m_ctx->ledger) m_ctx->ledger->append(m_record);
    if (m_ctx->events) m_ctx->events->publish(m_record);
}

}  // namespace airlock
