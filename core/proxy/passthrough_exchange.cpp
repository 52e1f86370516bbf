#include "core/proxy/passthrough_exchange.h"

#include "core/http/upstream_pool.h"
#include "core/providers/error_body.h"

namespace airlock {

namespace {

bool isHopByHop(const QByteArray &name) {
    static const char *const kHop[] = {"connection",
                                       "keep-alive",
                                       "proxy-connection",
                                       "proxy-authorization",
                                       "proxy-authenticate",
                                       "te",
                                       "trailer",
                                       "transfer-encoding",
                                       "upgrade",
                                       "host",
                                       "content-length",
                                       "expect"};
    for (const char *h : kHop)
        if (name.compare(h, Qt::CaseInsensitive) == 0) return true;
    return false;
}

}  // namespace

PassthroughExchange::PassthroughExchange(ProxyContext *context, ClientConnection *connection,
                                         Origin origin)
    : ExchangeHandler(connection),
      m_ctx(context),
      m_conn(connection),
      m_origin(std::move(origin)) {}

PassthroughExchange::~PassthroughExchange() {
    if (m_upstream) m_ctx->pool->discard(std::exchange(m_upstream, nullptr));
}

void PassthroughExchange::start(const HttpRequestHead &head, QByteArray body) {
    m_isHead = head.method == "HEAD";
    QByteArray req;
    req.reserve(body.size() + 1024);
    req += head.method + ' ' + head.target + " HTTP/1.1\r\nHost: " + m_origin.hostHeader() + "\r\n";
    const QList<QByteArray> listed = head.headers.value("connection").split(',');
    for (const auto &[name, value] : head.headers.entries()) {
        if (isHopByHop(name)) continue;
        bool drop = false;
        for (const QByteArray &t : listed)
            if (t.trimmed().compare(name, Qt::CaseInsensitive) == 0) drop = true;
        if (drop) continue;
        req += name + ": " + value + "\r\n";
    }
    if (!body.isEmpty() || head.method == "POST" || head.method == "PUT" || head.method == "PATCH")
        req += "Content-Length: " + QByteArray::number(body.size()) + "\r\n";
    req += "\r\n";
    req += body;
    m_request = std::move(req);
    send(false);
}

void PassthroughExchange::send(bool fresh) {
    m_upstream = m_ctx->pool->acquire(m_origin, fresh);
    UpstreamTimeouts t;
    t.connectMs = m_ctx->config.limits.upstreamConnectTimeoutMs;
    t.firstByteMs = m_ctx->config.limits.upstreamFirstByteTimeoutMs;
    t.idleMs = m_ctx->config.limits.upstreamIdleTimeoutMs;
    m_upstream->send(m_request, m_isHead, t, this);
}

void PassthroughExchange::upstreamHead(const HttpResponseHead &upstream) {
    HttpResponseHead head;
    head.status = upstream.status;
    head.reason = upstream.reason;
    for (const auto &[name, value] : upstream.headers.entries()) {
        if (isHopByHop(name)) continue;
        head.headers.add(name, value);
    }
    qint64 length = -1;
    const QByteArray cl = upstream.headers.value("content-length");
    if (!cl.isEmpty() && !upstream.headers.hasToken("transfer-encoding", "chunked"))
        length = cl.toLongLong();
    if (m_isHead) length = 0;
    m_conn->sendHead(std::move(head), length);
}

void PassthroughExchange::upstreamBody(QByteArrayView data) {
    m_conn->sendBody(data);
    if (m_upstream && m_conn->pendingWriteBytes() > m_ctx->config.limits.clientWriteHighWaterBytes)
        m_upstream->setReadingPaused(true);
}

void PassthroughExchange::clientDrained() {
    if (m_upstream) m_upstream->setReadingPaused(false);
}

void PassthroughExchange::upstreamComplete() {
    m_ctx->pool->release(std::exchange(m_upstream, nullptr));
    m_conn->finishResponse();
}

void PassthroughExchange::upstreamFailed(const UpstreamFailure &failure) {
    m_ctx->pool->discard(std::exchange(m_upstream, nullptr));
    if (!m_conn->headSent() && failure.reusedConnection && !failure.responseStarted && !m_retried &&
        (failure.kind == UpstreamFailure::Reset || failure.kind == UpstreamFailure::Connect)) {
        m_retried = true;
        send(true);
        return;
    }
    if (m_conn->headSent()) {
        m_conn->abortResponse();
        return;
    }
    const bool timeout = failure.kind == UpstreamFailure::ConnectTimeout ||
                         failure.kind == UpstreamFailure::FirstByteTimeout ||
                         failure.kind == UpstreamFailure::IdleTimeout;
    const ErrorKind kind = timeout ? ErrorKind::Timeout : ErrorKind::UpstreamError;
    HttpHeaders h;
    h.add("Content-Type", "application/json");
    h.add("x-airlock-passthrough", "1");
    m_conn->sendComplete(
        errorHttpStatus(kind), h,
        errorBody(
            WireFormat::Unknown, kind,
            QStringLiteral("Airlock could not reach %1: %2").arg(m_origin.key(), failure.message)));
}

void PassthroughExchange::clientGone() {
    if (m_upstream) m_ctx->pool->discard(std::exchange(m_upstream, nullptr));
}

}  // namespace airlock
