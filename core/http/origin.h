// Where an upstream request goes: scheme, host and port, plus the outbound proxy (if any) that
// the environment (HTTPS_PROXY / HTTP_PROXY / NO_PROXY) says to use for it.
#pragma once

#include <QNetworkProxy>
#include <QString>
#include <QUrl>

namespace airlock {

struct Origin {
    bool tls = false;
    QString host;
    quint16 port = 0;

    static Origin fromUrl(const QUrl &url);
    QString key() const;            // "https://api.openai.com:443"
    QByteArray hostHeader() const;  // "api.openai.com" or "host:8080" when the port is not the default
    bool operator==(const Origin &o) const = default;
};

// Outbound proxy settings read once from the environment. Loopback origins always go direct.
class OutboundProxy {
public:
    static OutboundProxy fromEnvironment();
    QNetworkProxy proxyFor(const Origin &origin) const;
    QString describe() const;  // for status output; no credentials

private:
    QNetworkProxy m_http = QNetworkProxy(QNetworkProxy::NoProxy);
    QNetworkProxy m_https = QNetworkProxy(QNetworkProxy::NoProxy);
    QStringList m_noProxy;
};

}  // namespace airlock
