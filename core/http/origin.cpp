#include "core/http/origin.h"

#include <QHostAddress>

namespace airlock {

Origin Origin::fromUrl(const QUrl &url)
{
    Origin o;
    o.tls = url.scheme() == QLatin1String("https");
    o.host = url.host();
    o.port = quint16(url.port(o.tls ? 443 : 80));
    return o;
}

QString Origin::key() const
{
    return (tls ? QStringLiteral("https://") : QStringLiteral("http://")) + host + QLatin1Char(':') +
           QString::number(port);
}

QByteArray Origin::hostHeader() const
{
    QByteArray h = host.contains(QLatin1Char(':')) ? '[' + host.toUtf8() + ']' : host.toUtf8();
    if (port != (tls ? 443 : 80)) h += ':' + QByteArray::number(port);
    return h;
}

namespace {

QNetworkProxy proxyFromEnv(const char *upper, const char *lower)
{
    QByteArray value = qgetenv(lower);
    if (value.isEmpty()) value = qgetenv(upper);
    if (value.isEmpty()) return QNetworkProxy(QNetworkProxy::NoProxy);
    if (!value.contains("://")) value.prepend("http://");
    const QUrl url(QString::fromUtf8(value));
    if (!url.isValid() || url.host().isEmpty()) return QNetworkProxy(QNetworkProxy::NoProxy);
    // An HTTP CONNECT proxy carries both http and https upstreams.
    return QNetworkProxy(QNetworkProxy::HttpProxy, url.host(), quint16(url.port(8080)),
                         url.userName(), url.password());
}

bool isLoopbackHost(const QString &host)
{
    if (host == QLatin1String("localhost")) return true;
    const QHostAddress a(host);
    return !a.isNull() && a.isLoopback();
}

}  // namespace

OutboundProxy OutboundProxy::fromEnvironment()
{
    OutboundProxy p;
    p.m_http = proxyFromEnv("HTTP_PROXY", "http_proxy");
    p.m_https = proxyFromEnv("HTTPS_PROXY", "https_proxy");
    QByteArray no = qgetenv("no_proxy");
    if (no.isEmpty()) no = qgetenv("NO_PROXY");
    for (const QByteArray &part : no.split(',')) {
        const QString entry = QString::fromUtf8(part.trimmed()).toLower();
        if (!entry.isEmpty()) p.m_noProxy.append(entry);
    }
    return p;
}

QNetworkProxy OutboundProxy::proxyFor(const Origin &origin) const
{
    const QNetworkProxy none(QNetworkProxy::NoProxy);
    if (isLoopbackHost(origin.host)) return none;
    const QString host = origin.host.toLower();
    for (const QString &entry : m_noProxy) {
        if (entry == QLatin1String("*")) return none;
        QString suffix = entry;
        if (suffix.startsWith(QLatin1Char('*'))) suffix.remove(0, 1);
        if (host == suffix || (suffix.startsWith(QLatin1Char('.')) && host.endsWith(suffix)) ||
            host.endsWith(QLatin1Char('.') + suffix))
            return none;
    }
    return origin.tls ? m_https : m_http;
}

QString OutboundProxy::describe() const
{
    auto d = [](const QNetworkProxy &p) {
        return p.type() == QNetworkProxy::NoProxy
                   ? QStringLiteral("direct")
                   : QStringLiteral("%1:%2").arg(p.hostName()).arg(p.port());
    };
    return QStringLiteral("http=%1 https=%2").arg(d(m_http), d(m_https));
}

}  // namespace airlock
