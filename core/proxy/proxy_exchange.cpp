#include "core/proxy/proxy_exchange.h"

#include "core/http/upstream_pool.h"
#include "core/policy/policy_engine.h"
#include "core/proxy/attribution_service.h"
#include "core/proxy/provider_keys.h"
#include "core/store/ledger_writer.h"

#include <QDateTime>
#include <QRandomGenerator>

namespace airlock {

QByteArray newRequestId()
{
    // Unique ids without a syscall per request: a per-process random stream.
    thread_local QRandomGenerator64 rng(QRandomGenerator::system()->generate64());
    const quint64 a = rng.generate64();
    const quint32 b = rng.generate();
    return "req_" + QByteArray::number(a, 16).rightJustified(16, '0') +
           QByteArray::number(b, 16).rightJustified(8, '0');
}

namespace {

bool isHopByHop(const QByteArray &name)
{
    static const char *const kHop[] = {"connection", "keep-alive", "proxy-connection",
                                       "proxy-authorization", "proxy-authenticate", "te",
                                       "trailer", "transfer-encoding", "upgrade"};
    for (const char *h : kHop)
        if (name.compare(h, Qt::CaseInsensitive) == 0) return true;
    return false;
}

bool accountedKind(EndpointKind kind)
{
    return kind != EndpointKind::Passthrough && kind != EndpointKind::Models;
}

double msBetween(qint64 fromNs, qint64 toNs) { return double(toNs - fromNs) / 1e6; }

}  // namespace

ProxyExchange::ProxyExchange(ProxyContext *context, ClientConnection *connection)
    : ExchangeHandler(connection), m_ctx(context), m_conn(connection)
{
}

ProxyExchange::~ProxyExchange()
{
    if (m_upstream) m_ctx->pool->discard(std::exchange(m_upstream, nullptr));
}

void ProxyExchange::start(const HttpRequestHead &head, QByteArray body)
{
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
               QStringLiteral("Airlock does not serve %1 %2. AI paths: /v1/chat/completions, "
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
    if (accountedKind(m_match.kind) || !m_match.pathModel.isEmpty()) {
        m_info = inspectRequest(m_match, m_body);
        m_record.model = QString::fromUtf8(m_info.model.left(200));
        m_record.stream = m_info.stream;
        if (accountedKind(m_match.kind) && !m_info.validJson) {
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

void ProxyExchange::forward()
{
    const ClientIdentity &who = m_conn->identity();
    m_record.pid = who.pid;
    m_record.exePath = who.exePath;
    m_record.app = who.pid >= 0 ? who.app
                                : AttributionService::appFromUserAgent(m_record.userAgent.toUtf8());
    applyPolicy();
}

void ProxyExchange::applyPolicy()
{
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
            self->m_info = inspectRequest(self->m_match, self->m_body);
            self->m_record.model = QString::fromUtf8(self->m_info.model.left(200));
            self->m_record.bytesIn = self->m_body.size();
        }
        self->route();
    });
}

void ProxyExchange::route()
{
    QString error;
    m_upstreamRequest = buildUpstreamRequest(&error);
    if (m_upstreamRequest.isEmpty()) {
        reject(ErrorKind::Authentication, error, QStringLiteral("no_key"));
        return;
    }
    sendToUpstream(false);
}

QByteArray ProxyExchange::buildUpstreamRequest(QString *error)
{
    QByteArray body = m_body;
    if (m_info.stream) body = withStreamUsageRequested(m_match, m_info, m_body, &m_injectedUsage);

    const Origin origin = Origin::fromUrl(m_provider->baseUrl);
    QByteArray req;
    req.reserve(body.size() + 2048);
    req += m_head.method;
    req += ' ';
    req += m_provider->baseUrl.path(QUrl::FullyEncoded).toUtf8();
    req += m_match.upstreamPath;
    req += " HTTP/1.1\r\nHost: ";
    req += origin.hostHeader();
    req += "\r\n";

    const bool inject = m_provider->auth == AuthMode::Inject;
    QByteArray key;
    if (inject) {
        key = m_ctx->keys->keyFor(m_provider->name);
        if (key.isEmpty()) {
            *error = QStringLiteral("provider '%1' injects its key, but none is set: run "
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
        if (inject && (name.compare("authorization", Qt::CaseInsensitive) == 0 ||
                       name.compare("x-api-key", Qt::CaseInsensitive) == 0 ||
                       name.compare("x-goog-api-key", Qt::CaseInsensitive) == 0))
            continue;
        req += name;
        req += ": ";
        req += value;
        req += "\r\n";
    }
    if (inject) {
        switch (m_provider->format) {
        case WireFormat::Anthropic: req += "x-api-key: " + key + "\r\n"; break;
        case WireFormat::Gemini: req += "x-goog-api-key: " + key + "\r\n"; break;
        default: req += "Authorization: Bearer " + key + "\r\n"; break;
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

void ProxyExchange::sendToUpstream(bool freshConnection)
{
    const Origin origin = Origin::fromUrl(m_provider->baseUrl);
    m_upstream = m_ctx->pool->acquire(origin, freshConnection);
    UpstreamTimeouts t;
    t.connectMs = m_ctx->config.limits.upstreamConnectTimeoutMs;
    t.firstByteMs = m_ctx->config.limits.upstreamFirstByteTimeoutMs;
    t.idleMs = m_ctx->config.limits.upstreamIdleTimeoutMs;
    m_forwardNs = ClientConnection::nowNs();
    if (!m_retried) m_ctx->metrics.recordOverhead(double(m_forwardNs - m_startNs) / 1e9);
    m_upstream->send(m_upstreamRequest, m_head.method == "HEAD", t, this);
}

HttpHeaders ProxyExchange::airlockHeaders() const
{
    HttpHeaders h;
    h.add("x-airlock-request-id", m_record.id);
    if (m_provider) h.add("x-airlock-provider", m_provider->name.toUtf8());
    if (m_forwardNs > 0)
        h.add("x-airlock-overhead-us", QByteArray::number((m_forwardNs - m_startNs) / 1000));
    for (const auto &[name, value] : m_policyHeaders) h.add(name, value);
    return h;
}

void ProxyExchange::upstreamHead(const HttpResponseHead &upstream)
{
    m_upstreamStatus = upstream.status;
    HttpResponseHead head;
    head.status = upstream.status;
    head.reason = upstream.reason;
    for (const auto &[name, value] : upstream.headers.entries()) {
        if (isHopByHop(name) || name.compare("content-length", Qt::CaseInsensitive) == 0) continue;
        head.headers.add(name, value);
    }
    const HttpHeaders ours = airlockHeaders();
    for (const auto &[name, value] : ours.entries()) head.headers.add(name, value);
    m_sse = upstream.headers.value("content-type").toLower().startsWith("text/event-stream");
    qint64 length = -1;
    const QByteArray cl = upstream.headers.value("content-length");
    if (!m_sse && !cl.isEmpty() && !upstream.headers.hasToken("transfer-encoding", "chunked"))
        length = cl.toLongLong();
    m_conn->sendHead(std::move(head), length);
}

void ProxyExchange::sendToClient(QByteArrayView data)
{
    if (data.isEmpty()) return;
    if (m_firstByteNs == 0) m_firstByteNs = ClientConnection::nowNs();
    m_record.bytesOut += data.size();
    m_conn->sendBody(data);
    if (m_upstream && m_conn->pendingWriteBytes() > m_ctx->config.limits.clientWriteHighWaterBytes)
        m_upstream->setReadingPaused(true);
}

void ProxyExchange::upstreamBody(QByteArrayView data)
{
    if (!m_sse) {
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
    const QList<SseEvent> events = m_framer.feed(data);
    if (events.isEmpty()) return;
    QByteArray out;
    for (const SseEvent &ev : events) {
        const bool usageOnly = m_usage->addSseEvent(ev);
        if (!m_injectedUsage) {
            out += ev.raw;
        } else if (!usageOnly) {
            out += stripNullUsage(ev);
        }
    }
    sendToClient(out);
}

void ProxyExchange::clientDrained()
{
    if (m_upstream) m_upstream->setReadingPaused(false);
}

void ProxyExchange::upstreamComplete()
{
    if (m_sse) {
        QByteArray out;
        for (const SseEvent &ev : m_framer.finish()) {
            const bool usageOnly = m_usage->addSseEvent(ev);
            if (!m_injectedUsage) out += ev.raw;
            else if (!usageOnly) out += stripNullUsage(ev);
        }
        sendToClient(out);
    } else if (!m_capture.isEmpty()) {
        m_usage->addJsonBody(m_capture);
    }
    UpstreamConnection *c = std::exchange(m_upstream, nullptr);
    m_ctx->pool->release(c);
    m_record.status = m_upstreamStatus;
    finishRecord(m_upstreamStatus < 400 ? QStringLiteral("ok") : QStringLiteral("upstream_error"),
                 m_upstreamStatus < 400 ? QString() : QString::fromUtf8(m_usage->errorType()));
    m_conn->finishResponse();
}

void ProxyExchange::upstreamFailed(const UpstreamFailure &failure)
{
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
    if (!m_conn->headSent()) {
        reject(timeout ? ErrorKind::Timeout : ErrorKind::UpstreamError, failure.message,
               timeout ? QStringLiteral("timeout") : QStringLiteral("upstream_error"));
        return;
    }
    // The answer has started: it cannot be replaced. Tell a streaming client in its own format.
    m_record.status = m_upstreamStatus;
    const QString outcome = timeout ? QStringLiteral("timeout") : QStringLiteral("upstream_reset");
    if (m_sse) {
        m_framer.finish();
        sendToClient(errorSseEvent(m_match.format, timeout ? ErrorKind::Timeout : ErrorKind::UpstreamError,
                                   failure.message));
        finishRecord(outcome, failure.message);
        m_conn->abortResponse();
    } else {
        finishRecord(outcome, failure.message);
        m_conn->abortResponse();
    }
}

void ProxyExchange::clientGone()
{
    m_policyPending = false;
    if (m_upstream) m_ctx->pool->discard(std::exchange(m_upstream, nullptr));
    if (!m_recorded && m_usage) {
        if (!m_sse && !m_capture.isEmpty()) m_usage->addJsonBody(m_capture);
        m_record.status = m_upstreamStatus ? m_upstreamStatus : 499;
        finishRecord(QStringLiteral("client_cancelled"), QStringLiteral("the client closed the connection"));
    }
}

void ProxyExchange::reject(ErrorKind kind, const QString &message, const QString &outcome,
                           const QByteArray &code, int retryAfterSeconds)
{
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

void ProxyExchange::finishRecord(const QString &outcome, const QString &error)
{
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
        m_record.app = who.pid >= 0 ? who.app
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
        const QByteArray priced = m_info.model.isEmpty() ? served : m_info.model;
        m_record.costUsd = m_ctx->prices.costUsd(priced.isEmpty() ? served : priced, u);
        if (m_record.costUsd == 0 && !served.isEmpty()) m_record.costUsd = m_ctx->prices.costUsd(served, u);
    }
    m_ctx->metrics.record(m_record);
    if (m_ctx->policy) m_ctx->policy->settle(m_record.id, m_record);
    if (m_ctx->ledger) m_ctx->ledger->append(m_record);
    if (m_ctx->events) m_ctx->events->publish(m_record);
}

}  // namespace airlock
