// Forwards one request unchanged to a fixed origin and streams the answer back, without
// accounting: non-AI paths on an intercepted AI host and plain-HTTP proxy requests to other hosts.
#pragma once

#include "core/http/origin.h"
#include "core/http/upstream_connection.h"
#include "core/proxy/client_connection.h"
#include "core/proxy/proxy_context.h"

namespace airlock {

class PassthroughExchange : public ExchangeHandler, public UpstreamListener {
    Q_OBJECT
public:
    PassthroughExchange(ProxyContext *context, ClientConnection *connection, Origin origin);
    ~PassthroughExchange() override;

    void start(const HttpRequestHead &head, QByteArray body) override;
    void clientGone() override;
    void clientDrained() override;

    void upstreamHead(const HttpResponseHead &head) override;
    void upstreamBody(QByteArrayView data) override;
    void upstreamComplete() override;
    void upstreamFailed(const UpstreamFailure &failure) override;

private:
    void send(bool fresh);

    ProxyContext *m_ctx;
    ClientConnection *m_conn;
    Origin m_origin;
    QByteArray m_request;
    bool m_isHead = false;
    bool m_retried = false;
    UpstreamConnection *m_upstream = nullptr;
};

}  // namespace airlock
