// Answers `CONNECT host:port`: for an intercepted AI host the client connection turns into a TLS
// server with a minted certificate; for any other host a blind tunnel to the origin is opened.
#pragma once

#include "core/proxy/client_connection.h"
#include "core/proxy/proxy_context.h"

#include <QTcpSocket>
#include <QTimer>
#include <memory>

namespace airlock {

class ProxyServer;

class ConnectHandler : public ExchangeHandler {
    Q_OBJECT
public:
    ConnectHandler(ProxyContext *context, ProxyServer *server, ClientConnection *connection);
    ~ConnectHandler() override;

    void start(const HttpRequestHead &head, QByteArray body) override;
    void clientGone() override;

    // "host:port", "[v6]:port" -> host (no brackets, lower case) and port; false when malformed.
    static bool parseAuthority(const QByteArray &authority, QString *host, quint16 *port);

private:
    void fail(int status, const QString &message);
    void originConnected();
    void originFailed(const QString &why);

    ProxyContext *m_ctx;
    ProxyServer *m_server;
    ClientConnection *m_conn;
    std::unique_ptr<QTcpSocket> m_origin;
    QTimer m_connectTimer;
    QString m_host;
    quint16 m_port = 0;
    bool m_done = false;
};

}  // namespace airlock
