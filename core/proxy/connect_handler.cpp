#include "core/proxy/connect_handler.h"

#include "core/http/origin.h"
#include "core/http/upstream_pool.h"
#include "core/providers/error_body.h"
#include "core/proxy/connect_tunnel.h"
#include "core/proxy/interception_pause.h"
#include "core/proxy/proxy_server.h"
#include "core/tls/intercept_hosts.h"

#include <QHostAddress>

namespace airlock {

ConnectHandler::ConnectHandler(ProxyContext *context, ProxyServer *server,
                               ClientConnection *connection)
    : ExchangeHandler(connection), m_ctx(context), m_server(server), m_conn(connection) {}

ConnectHandler::~ConnectHandler() {
    if (m_origin) {
        m_origin->disconnect(this);
        m_origin->abort();
    }
}

bool ConnectHandler::parseAuthority(const QByteArray &authority, QString *host, quint16 *port) {
    QByteArray h;
    QByteArray p;
    if (authority.startsWith('[')) {
        const qsizetype close = authority.indexOf(']');
        if (close < 0 || authority.mid(close + 1, 1) != ":") return false;
        h = authority.mid(1, close - 1);
        p = authority.mid(close + 2);
    } else {
        const qsizetype colon = authority.lastIndexOf(':');
        if (colon <= 0 || authority.indexOf(':') != colon) return false;
        h = authority.left(colon);
        p = authority.mid(colon + 1);
    }
    bool ok = false;
    const uint n = p.toUInt(&ok);
    if (!ok || n == 0 || n > 65535 || h.isEmpty() || h.size() > 253) return false;
    for (const char c : h) {
        const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || c == '-' || c == '.' || c == ':' || c == '_';
        if (!allowed) return false;
    }
    *host = InterceptHosts::normalize(QString::fromLatin1(h));
    *port = quint16(n);
    return true;
}

void ConnectHandler::fail(int status, const QString &message) {
    if (m_done) return;
    m_done = true;
    qInfo("airlockd: CONNECT %s:%u refused: %s", qPrintable(m_host), unsigned(m_port),
          qPrintable(message));
    HttpHeaders h;
    h.add("Content-Type", "application/json");
    m_conn->closeAfterResponse();
    const ErrorKind kind = status == 400   ? ErrorKind::InvalidRequest
                           : status == 504 ? ErrorKind::Timeout
                                           : ErrorKind::UpstreamError;
    HttpResponseHead head;
    head.status = status;
    head.reason = reasonPhrase(status);
    head.headers = h;
    const QByteArray body = errorBody(WireFormat::Unknown, kind, message);
    m_conn->sendHead(std::move(head), body.size());
    m_conn->sendBody(body);
    m_conn->finishResponse();
}

void ConnectHandler::start(const HttpRequestHead &head, QByteArray body) {
    Q_UNUSED(body);
    if (!parseAuthority(head.target, &m_host, &m_port)) {
        fail(400, QStringLiteral("CONNECT wants host:port, got '%1'")
                      .arg(QString::fromLatin1(head.target.left(200))));
        return;
    }
    // A user pause (policy permitting) turns AI hosts into blind tunnels like any other host.
    const bool paused = m_ctx->pause && m_ctx->pause->isPaused();
    if (!paused && m_server->intercepts(m_host)) {
        QSslConfiguration tls;
        QString error;
        if (!m_server->tlsConfigurationFor(m_host, &tls, &error)) {
            fail(502, QStringLiteral("Airlock cannot intercept %1: %2").arg(m_host, error));
            return;
        }
        m_done = true;
        if (!m_conn->startServerTls(tls, m_host, m_port, &error)) {
            m_done = false;
            fail(502, QStringLiteral("Airlock cannot intercept %1: %2").arg(m_host, error));
        }
        return;
    }
    // Blind tunnel. An outbound proxy from the environment is honoured, unless it is us.
    m_origin = std::make_unique<QTcpSocket>();
    Origin origin;
    origin.tls = true;
    origin.host = m_host;
    origin.port = m_port;
    m_origin->setProxy(m_server->outboundProxyFor(origin));
    connect(m_origin.get(), &QTcpSocket::connected, this, &ConnectHandler::originConnected);
    connect(m_origin.get(), &QTcpSocket::errorOccurred, this,
            [this] { originFailed(m_origin ? m_origin->errorString() : QString()); });
    m_connectTimer.setSingleShot(true);
    connect(&m_connectTimer, &QTimer::timeout, this, [this] {
        if (m_done) return;
        if (m_origin) m_origin->abort();
        fail(504, QStringLiteral("Airlock could not connect to %1:%2 within %3 ms")
                      .arg(m_host)
                      .arg(m_port)
                      .arg(m_ctx->config.limits.upstreamConnectTimeoutMs));
    });
    m_connectTimer.start(m_ctx->config.limits.upstreamConnectTimeoutMs);
    m_origin->connectToHost(m_host, m_port);
}

void ConnectHandler::originFailed(const QString &why) {
    m_connectTimer.stop();
    if (m_done) return;
    fail(502,
         QStringLiteral("Airlock could not connect to %1:%2: %3").arg(m_host).arg(m_port).arg(why));
}

void ConnectHandler::originConnected() {
    m_connectTimer.stop();
    if (m_done) return;
    m_done = true;
    m_origin->disconnect(this);
    QByteArray early;
    std::unique_ptr<QTcpSocket> client = m_conn->takeSocket(&early);  // deletes m_conn and us later
    if (!client || client->state() != QAbstractSocket::ConnectedState) {
        m_origin->abort();
        return;
    }
    client->write("HTTP/1.1 200 Connection Established\r\n\r\n");
    client->flush();
    m_server->adoptTunnel(
        std::make_unique<ConnectTunnel>(std::move(client), std::move(m_origin), early));
}

void ConnectHandler::clientGone() {
    m_done = true;
    m_connectTimer.stop();
    if (m_origin) {
        m_origin->disconnect(this);
        m_origin->abort();
    }
}

}  // namespace airlock
