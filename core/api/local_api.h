// The local admin API on the proxy port: /healthz and /metrics, and under /airlock/v1/ the
// token-protected status, usage, requests, live events (SSE) and key reload used by GUI and CLI.
#pragma once

#include "core/proxy/client_connection.h"
#include "core/proxy/proxy_context.h"

namespace airlock {

class LocalApiHandler : public ExchangeHandler {
    Q_OBJECT
public:
    LocalApiHandler(ProxyContext *context, ClientConnection *connection);

    static bool handles(const QByteArray &path);
    void start(const HttpRequestHead &head, QByteArray body) override;
    void clientGone() override;

private:
    void sendJson(int status, const QJsonObject &object);
    void sendError(int status, const QString &message);
    void serveStatus();
    void serveEvents();
    template <typename Query>
    void runQuery(Query query);

    ProxyContext *m_ctx;
    ClientConnection *m_conn;
    bool m_gone = false;
    bool m_streaming = false;
};

}  // namespace airlock
