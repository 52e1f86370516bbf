#include "core/proxy/proxy_server.h"

#include "core/api/local_api.h"
#include "core/http/upstream_pool.h"
#include "core/providers/endpoint.h"
#include "core/providers/error_body.h"
#include "core/proxy/attribution_service.h"
#include "core/proxy/client_connection.h"
#include "core/proxy/connect_handler.h"
#include "core/proxy/connect_tunnel.h"
#include "core/proxy/passthrough_exchange.h"
#include "core/proxy/proxy_exchange.h"
#include "core/tls/local_ca.h"

#include <QDateTime>
#include <QSslSocket>
#include <QTimer>

namespace airlock {

namespace {

ErrorKind kindForStatus(int status) {
    switch (status) {
        case 408:
            return ErrorKind::Timeout;
        case 413:
            return ErrorKind::PayloadTooLarge;
        case 404:
            return ErrorKind::NotFound;
        case 503:
            return ErrorKind::Unavailable;
        case 500:
            return ErrorKind::Internal;
        default:
            return ErrorKind::InvalidRequest;
    }
}

// Answers for requests that never reach a handler, in the caller's format where the path tells it.
QByteArray errorForTarget(const QByteArray &target, int status, const QString &message) {
    const EndpointMatch m = classifyEndpoint("POST", target);
    QByteArray body = errorBody(m.format, kindForStatus(status), message);
    return body;
}

// A handler that answers one fixed response (errors, the PAC file).
class FixedResponseHandler : public ExchangeHandler {
public:
    FixedResponseHandler(ClientConnection *c, int status, QByteArray contentType, QByteArray body)
        : ExchangeHandler(c),
          m_conn(c),
          m_status(status),
          m_type(std::move(contentType)),
          m_body(std::move(body)) {}
    static FixedResponseHandler *error(ClientConnection *c, int status, const QString &message) {
        return new FixedResponseHandler(
            c, status, "application/json",
            errorBody(WireFormat::Unknown, kindForStatus(status), message));
    }
    void start(const HttpRequestHead &, QByteArray) override {
        HttpHeaders h;
        h.add("Content-Type", m_type);
        h.add("Cache-Control", "no-store");
        m_conn->sendComplete(m_status, h, m_body);
    }
    void clientGone() override {}

private:
    ClientConnection *m_conn;
    int m_status;
    QByteArray m_type;
    QByteArray m_body;
};

}  // namespace

ProxyServer::ProxyServer(ProxyContext *context, QObject *parent)
    : QTcpServer(parent), m_ctx(context), m_hosts(context->config.interceptHosts) {
    // Hosts beyond the big three are served by a provider named after the host (their own
    // origin, the client's key), so a decrypted request there is accounted but not re-routed.
    // Added before any request exists: exchanges hold pointers into this list.
    for (const InterceptHost &h : m_hosts.entries()) {
        if (h.viaDefaultProvider || m_ctx->config.providerByName(h.host)) continue;
        ProviderConfig p;
        p.name = h.host;
        p.format = h.format;
        p.baseUrl = QUrl(QStringLiteral("https://") + h.host + QString::fromLatin1(h.pathPrefix));
        p.auth = AuthMode::Passthrough;
        m_ctx->config.providers.append(p);
    }
    loadCa();
}

ProxyServer::~ProxyServer() = default;

void ProxyServer::loadCa() {
    m_tlsCache.clear();
    if (m_ctx->dataDir.isEmpty()) {
        m_caProblem = QStringLiteral("no data dir for the local CA");
        return;
    }
    if (!QSslSocket::supportsSsl()) {
        m_caProblem = QStringLiteral("the TLS backend is not available");
        return;
    }
    QString error;
    bool created = false;
    m_ca = LocalCa::loadOrCreate(m_ctx->dataDir, m_hosts.hostNames(), &error, &created);
    if (!m_ca) {
        m_caProblem = error;
        qWarning("airlockd: TLS interception is off: %s", qPrintable(error));
        return;
    }
    m_caProblem.clear();
    QStringList uncovered;
    for (const QString &h : m_hosts.hostNames())
        if (!m_ca->permits(h)) uncovered.append(h);
    if (!uncovered.isEmpty())
        qWarning(
            "airlockd: the local CA does not cover %s (tunnelled blind); run `airlockctl ca "
            "rotate` and install the new CA to intercept them",
            qPrintable(uncovered.join(QLatin1String(", "))));
    if (created)
        qInfo("airlockd: created the local CA %s (key: %s)", qPrintable(m_ca->sha256Fingerprint()),
              qPrintable(m_ca->keyStorage()));
}

bool ProxyServer::listenOn(const QHostAddress &address, quint16 port, QString *error) {
    if (!listen(address, port)) {
        *error = QStringLiteral("cannot listen on %1:%2: %3")
                     .arg(address.toString())
                     .arg(port)
                     .arg(errorString());
        return false;
    }
    return true;
}

void ProxyServer::ignoreProxyEnvironmentPointingAt(const QHostAddress &address, quint16 port) {
    for (const char *name :
         {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"}) {
        const QByteArray value = qgetenv(name);
        if (value.isEmpty()) continue;
        const QUrl url = QUrl::fromUserInput(QString::fromLocal8Bit(value));
        const QString host = InterceptHosts::normalize(url.host());
        const QHostAddress a(host);
        const bool local =
            host == QLatin1String("localhost") || (!a.isNull() && (a.isLoopback() || a == address));
        if (local && url.port(80) == port) {
            qWarning("airlockd: ignoring %s=%s: it points at this daemon", name, value.constData());
            qunsetenv(name);
        }
    }
}

bool ProxyServer::intercepts(const QString &host) const {
    return m_ca && m_hosts.find(host) && m_ca->permits(host);
}

bool ProxyServer::tlsConfigurationFor(const QString &host, QSslConfiguration *out, QString *error) {
    if (m_ca && m_ca->changedOnDisk()) loadCa();  // `airlockctl ca rotate` replaced it
    if (!m_ca) {
        *error = m_caProblem;
        return false;
    }
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const auto cached = m_tlsCache.constFind(host);
    if (cached != m_tlsCache.cend() &&
        cached->localCertificate().expiryDate().toMSecsSinceEpoch() - now >
            LocalCa::kLeafRenewBeforeMs) {
        *out = *cached;
        return true;
    }
    const std::optional<LeafCertificate> leaf = m_ca->leafFor(host, error);
    if (!leaf) return false;
    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setLocalCertificate(leaf->certificate);
    tls.setPrivateKey(leaf->key);
    tls.setPeerVerifyMode(QSslSocket::VerifyNone);
    tls.setProtocol(QSsl::TlsV1_2OrLater);
    // Only HTTP/1.1 is spoken inside; clients that also offer h2 fall back to it.
    tls.setAllowedNextProtocols({QByteArrayLiteral("http/1.1")});
    m_tlsCache.insert(host, tls);
    *out = tls;
    return true;
}

QNetworkProxy ProxyServer::outboundProxyFor(const Origin &origin) const {
    const QNetworkProxy p = m_ctx->pool ? m_ctx->pool->outboundProxy().proxyFor(origin)
                                        : QNetworkProxy(QNetworkProxy::NoProxy);
    // HTTPS_PROXY pointing at ourselves (a shell set up for Airlock started the daemon) would loop.
    if (p.type() != QNetworkProxy::NoProxy && isSelf(p.hostName(), p.port()))
        return QNetworkProxy(QNetworkProxy::NoProxy);
    return p;
}

void ProxyServer::adoptTunnel(std::unique_ptr<ConnectTunnel> tunnel) {
    // The tunnel inherits the client connection's slot in the connection count.
    ConnectTunnel *raw = tunnel.release();
    raw->setParent(this);
    connect(raw, &ConnectTunnel::finished, this, [this] {
        --m_open;
        m_ctx->metrics.connectionClosed();
    });
}

bool ProxyServer::isSelf(const QString &host, quint16 port) const {
    if (port != serverPort()) return false;
    const QString h = InterceptHosts::normalize(host);
    if (h == QLatin1String("localhost")) return true;
    const QHostAddress a(h);
    return !a.isNull() && (a.isLoopback() || a == serverAddress());
}

QByteArray ProxyServer::pacFile() const {
    QByteArray hosts;
    for (const QString &h : m_hosts.hostNames()) {
        if (!intercepts(h)) continue;
        if (!hosts.isEmpty()) hosts += ", ";
        hosts += '"' + h.toLatin1() + '"';
    }
    const QByteArray proxy = "PROXY 127.0.0.1:" + QByteArray::number(serverPort());
    return "// Airlock: send only the AI hosts through the local proxy; everything else goes "
           "direct.\n"
           "function FindProxyForURL(url, host) {\n"
           "    var h = host.toLowerCase();\n"
           "    var ai = [" +
           hosts +
           "];\n"
           "    for (var i = 0; i < ai.length; i++) {\n"
           "        if (h === ai[i] || dnsDomainIs(h, \".\" + ai[i])) return \"" +
           proxy +
           "\";\n"
           "    }\n"
           "    return \"DIRECT\";\n"
           "}\n";
}

void ProxyServer::incomingConnection(qintptr descriptor) {
    // A QSslSocket from the start: after CONNECT to an AI host the same socket turns into a TLS
    // server. Until then it behaves as a plain TCP socket.
    auto socket = std::make_unique<QSslSocket>();
    if (!socket->setSocketDescriptor(descriptor)) return;
    if (m_open >= m_ctx->config.limits.maxConnections) {
        const QByteArray body = errorBody(WireFormat::Unknown, ErrorKind::Unavailable,
                                          QStringLiteral("too many open connections"));
        socket->write(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            "Connection: close\r\nContent-Length: " +
            QByteArray::number(body.size()) + "\r\n\r\n" + body);
        socket->flush();
        socket->disconnectFromHost();
        QSslSocket *raw = socket.release();
        connect(raw, &QTcpSocket::disconnected, raw, &QObject::deleteLater);
        QTimer::singleShot(1000, raw, &QObject::deleteLater);
        return;
    }
    ++m_open;
    m_ctx->metrics.connectionOpened();
    auto *conn = new ClientConnection(
        std::move(socket), m_ctx->config.limits,
        [this](ClientConnection *c, HttpRequestHead &head) { return createHandler(c, head); },
        errorForTarget, this);
    connect(conn, &ClientConnection::closed, this, [this] {
        --m_open;
        m_ctx->metrics.connectionClosed();
    });
    if (m_ctx->attribution)
        m_ctx->attribution->attribute(conn);
    else
        conn->setIdentity(ClientIdentity{});
}

ExchangeHandler *ProxyServer::createHandler(ClientConnection *connection, HttpRequestHead &head) {
    // WebSockets are not proxied: 426 makes clients that try one first (Codex CLI's Responses
    // WebSocket) fall back to plain HTTP + SSE, which the pipeline accounts.
    if (head.headers.hasToken("upgrade", "websocket"))
        return FixedResponseHandler::error(connection, 426,
                                           QStringLiteral("Airlock does not proxy WebSockets; use "
                                                          "HTTP (streaming with SSE)"));
    if (!connection->interceptedHost().isEmpty()) {
        if (!head.target.startsWith('/') || head.method == "CONNECT")
            return FixedResponseHandler::error(
                connection, 400,
                QStringLiteral("inside an intercepted connection "
                               "only origin-form requests are served"));
        return interceptedHandler(connection, head, connection->interceptedHost(),
                                  connection->interceptedPort(), true);
    }
    if (head.method == "CONNECT") return new ConnectHandler(m_ctx, this, connection);
    if (!head.target.startsWith('/')) {
        if (ExchangeHandler *h = absoluteFormHandler(connection, head)) return h;
    }
    if (head.path() == "/proxy.pac" && (head.method == "GET" || head.method == "HEAD"))
        return new FixedResponseHandler(connection, 200, "application/x-ns-proxy-autoconfig",
                                        pacFile());
    if (LocalApiHandler::handles(head.path())) return new LocalApiHandler(m_ctx, connection);
    return new ProxyExchange(m_ctx, connection);
}

// "http://host[:port]/path?query" (a plain-HTTP proxy request). Returns nullptr when the
// request is for this proxy itself (then head.target is in origin form and dispatch goes on).
ExchangeHandler *ProxyServer::absoluteFormHandler(ClientConnection *connection,
                                                  HttpRequestHead &head) {
    const QByteArray target = head.target;
    const qsizetype schemeEnd = target.indexOf("://");
    const QByteArray scheme = schemeEnd > 0 ? target.left(schemeEnd).toLower() : QByteArray();
    if (scheme != "http") {
        return FixedResponseHandler::error(
            connection, 400,
            scheme == "https"
                ? QStringLiteral("send https:// requests through CONNECT")
                : QStringLiteral("the request target must be a path or an http:// URL"));
    }
    const qsizetype authStart = schemeEnd + 3;
    qsizetype authEnd = authStart;
    while (authEnd < target.size() && target[authEnd] != '/' && target[authEnd] != '?') ++authEnd;
    QByteArray authority = target.mid(authStart, authEnd - authStart);
    if (authority.contains('@')) authority = authority.mid(authority.lastIndexOf('@') + 1);
    QString host;
    quint16 port = 80;
    if (!authority.contains(':') || (authority.startsWith('[') && authority.endsWith(']'))) {
        host = InterceptHosts::normalize(QString::fromLatin1(authority));
    } else if (!ConnectHandler::parseAuthority(authority, &host, &port)) {
        return FixedResponseHandler::error(connection, 400,
                                           QStringLiteral("malformed host in the request URL"));
    }
    if (host.isEmpty())
        return FixedResponseHandler::error(connection, 400,
                                           QStringLiteral("no host in the request URL"));
    QByteArray originForm = target.mid(authEnd);
    if (originForm.isEmpty() || originForm.startsWith('?')) originForm.prepend('/');
    head.target = originForm;
    if (isSelf(host, port)) return nullptr;
    if (m_hosts.find(host)) return interceptedHandler(connection, head, host, port, false);
    Origin origin;
    origin.tls = false;
    origin.host = host;
    origin.port = port;
    return new PassthroughExchange(m_ctx, connection, origin);
}

// A decrypted (or plain-HTTP proxied) request for an AI host: AI paths enter the pipeline like
// base-URL traffic; anything else goes unchanged to the real host, unaccounted.
ExchangeHandler *ProxyServer::interceptedHandler(ClientConnection *connection,
                                                 HttpRequestHead &head, const QString &host,
                                                 quint16 port, bool tls) {
    Origin real;
    real.tls = tls;
    real.host = host;
    real.port = port;
    const InterceptHost *ih = m_hosts.find(host);
    auto passthrough = [&] { return new PassthroughExchange(m_ctx, connection, real); };
    if (!ih) return passthrough();
    QByteArray target = head.target;
    if (!ih->pathPrefix.isEmpty()) {
        const qsizetype n = ih->pathPrefix.size();
        if (!target.startsWith(ih->pathPrefix) || target.size() <= n || target[n] != '/')
            return passthrough();
        target = target.mid(n);
    }
    const EndpointMatch m = classifyEndpoint(head.method, target);
    if (m.format != ih->format || !m.prefix.isEmpty()) return passthrough();
    if (ih->viaDefaultProvider) {
        head.target = target;
    } else {
        if (!m_ctx->config.providerByName(ih->host)) return passthrough();
        head.target = '/' + ih->host.toLatin1() + target;
    }
    return new ProxyExchange(m_ctx, connection);
}

}  // namespace airlock
