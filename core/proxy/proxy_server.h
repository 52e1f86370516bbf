// The listening socket of airlockd: accepts client connections, starts their attribution, and
// gives each request to the local API, the proxy pipeline or the forward-proxy (CONNECT) path.
#pragma once

#include "core/http/origin.h"
#include "core/proxy/proxy_context.h"
#include "core/tls/intercept_hosts.h"

#include <QHash>
#include <QSslConfiguration>
#include <QTcpServer>
#include <memory>

namespace airlock {

class ClientConnection;
class ConnectTunnel;
class ExchangeHandler;
class LocalCa;
struct HttpRequestHead;

class ProxyServer : public QTcpServer {
    Q_OBJECT
public:
    // Loads (or creates) the local CA of context->dataDir for TLS interception; without a data
    // dir or when that fails, AI hosts are tunnelled blind like every other host.
    explicit ProxyServer(ProxyContext *context, QObject *parent = nullptr);
    ~ProxyServer() override;
    bool listenOn(const QHostAddress &address, quint16 port, QString *error);
    // A daemon started from a shell set up with HTTPS_PROXY=airlockd would send its own upstream
    // traffic back to itself, forever: such proxy variables are removed from its environment.
    static void ignoreProxyEnvironmentPointingAt(const QHostAddress &address, quint16 port);

    // Forward-proxy mode, used by ConnectHandler.
    bool intercepts(const QString &host) const;
    bool tlsConfigurationFor(const QString &host, QSslConfiguration *out, QString *error);
    QNetworkProxy outboundProxyFor(const Origin &origin) const;
    void adoptTunnel(std::unique_ptr<ConnectTunnel> tunnel);

    const InterceptHosts &interceptHosts() const { return m_hosts; }
    // Why interception is off (empty when it is on).
    QString interceptionProblem() const { return m_caProblem; }
    // The PAC file that sends only the intercepted hosts through this proxy.
    QByteArray pacFile() const;

protected:
    void incomingConnection(qintptr descriptor) override;

private:
    ExchangeHandler *createHandler(ClientConnection *connection, HttpRequestHead &head);
    ExchangeHandler *interceptedHandler(ClientConnection *connection, HttpRequestHead &head,
                                        const QString &host, quint16 port, bool tls);
    ExchangeHandler *absoluteFormHandler(ClientConnection *connection, HttpRequestHead &head);
    bool isSelf(const QString &host, quint16 port) const;
    void loadCa();

    ProxyContext *m_ctx;
    InterceptHosts m_hosts;
    std::unique_ptr<LocalCa> m_ca;
    QString m_caProblem;
    QHash<QString, QSslConfiguration> m_tlsCache;
    int m_open = 0;
};

}  // namespace airlock
