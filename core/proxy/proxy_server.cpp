#include "core/proxy/proxy_server.h"

#include "core/api/local_api.h"
#include "core/providers/endpoint.h"
#include "core/providers/error_body.h"
#include "core/proxy/attribution_service.h"
#include "core/proxy/client_connection.h"
#include "core/proxy/proxy_exchange.h"

#include <QTcpSocket>
#include <QTimer>

namespace airlock {

namespace {

ErrorKind kindForStatus(int status)
{
    switch (status) {
    case 408: return ErrorKind::Timeout;
    case 413: return ErrorKind::PayloadTooLarge;
    case 404: return ErrorKind::NotFound;
    case 503: return ErrorKind::Unavailable;
    case 500: return ErrorKind::Internal;
    default: return ErrorKind::InvalidRequest;
    }
}

// Answers for requests that never reach a handler, in the caller's format where the path tells it.
QByteArray errorForTarget(const QByteArray &target, int status, const QString &message)
{
    const EndpointMatch m = classifyEndpoint("POST", target);
    QByteArray body = errorBody(m.format, kindForStatus(status), message);
    return body;
}

// A handler that answers one fixed error (forward-proxy requests until interception exists).
class FixedErrorHandler : public ExchangeHandler {
public:
    FixedErrorHandler(ClientConnection *c, int status, QString message)
        : ExchangeHandler(c), m_conn(c), m_status(status), m_message(std::move(message)) {}
    void start(const HttpRequestHead &, QByteArray) override
    {
        HttpHeaders h;
        h.add("Content-Type", "application/json");
        m_conn->sendComplete(m_status, h, errorBody(WireFormat::Unknown, kindForStatus(m_status), m_message));
    }
    void clientGone() override {}

private:
    ClientConnection *m_conn;
    int m_status;
    QString m_message;
};

}  // namespace

ProxyServer::ProxyServer(ProxyContext *context, QObject *parent)
    : QTcpServer(parent), m_ctx(context)
{
}

bool ProxyServer::listenOn(const QHostAddress &address, quint16 port, QString *error)
{
    if (!listen(address, port)) {
        *error = QStringLiteral("cannot listen on %1:%2: %3")
                     .arg(address.toString()).arg(port).arg(errorString());
        return false;
    }
    return true;
}

void ProxyServer::incomingConnection(qintptr descriptor)
{
    auto socket = std::make_unique<QTcpSocket>();
    if (!socket->setSocketDescriptor(descriptor)) return;
    if (m_open >= m_ctx->config.limits.maxConnections) {
        const QByteArray body = errorBody(WireFormat::Unknown, ErrorKind::Unavailable,
                                          QStringLiteral("too many open connections"));
        socket->write("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                      "Connection: close\r\nContent-Length: " + QByteArray::number(body.size()) +
                      "\r\n\r\n" + body);
        socket->flush();
        socket->disconnectFromHost();
        QTcpSocket *raw = socket.release();
        connect(raw, &QTcpSocket::disconnected, raw, &QObject::deleteLater);
        QTimer::singleShot(1000, raw, &QObject::deleteLater);
        return;
    }
    ++m_open;
    m_ctx->metrics.connectionOpened();
    auto *conn = new ClientConnection(
        std::move(socket), m_ctx->config.limits,
        [this](ClientConnection *c, const HttpRequestHead &head) { return createHandler(c, head); },
        errorForTarget, this);
    connect(conn, &ClientConnection::closed, this, [this] {
        --m_open;
        m_ctx->metrics.connectionClosed();
    });
    if (m_ctx->attribution) m_ctx->attribution->attribute(conn);
    else conn->setIdentity(ClientIdentity{});
}

ExchangeHandler *ProxyServer::createHandler(ClientConnection *connection, const HttpRequestHead &head)
{
    if (head.method == "CONNECT" || !head.target.startsWith('/')) {
        return new FixedErrorHandler(connection, 501,
                                     QStringLiteral("forward-proxy mode (CONNECT / absolute URLs) is "
                                                    "not available in this build; use the base URL "
                                                    "http://127.0.0.1:%1 instead").arg(m_ctx->config.listenPort));
    }
    if (LocalApiHandler::handles(head.path())) return new LocalApiHandler(m_ctx, connection);
    return new ProxyExchange(m_ctx, connection);
}

}  // namespace airlock
