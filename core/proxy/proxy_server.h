// The listening socket of airlockd: accepts client connections, starts their attribution, and
// gives each request to the local API or to the proxy pipeline.
#pragma once

#include "core/proxy/proxy_context.h"

#include <QTcpServer>

namespace airlock {

class ClientConnection;
class ExchangeHandler;
struct HttpRequestHead;

class ProxyServer : public QTcpServer {
    Q_OBJECT
public:
    explicit ProxyServer(ProxyContext *context, QObject *parent = nullptr);
    bool listenOn(const QHostAddress &address, quint16 port, QString *error);

protected:
    void incomingConnection(qintptr descriptor) override;

private:
    ExchangeHandler *createHandler(ClientConnection *connection, const HttpRequestHead &head);

    ProxyContext *m_ctx;
    int m_open = 0;
};

}  // namespace airlock
