#include "api_client.h"

#include <QEventLoop>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkProxy>
#include <QNetworkReply>
#include <QTimer>

namespace airlock {

ApiClient::ApiClient(QString dataDir) : m_dataDir(std::move(dataDir))
{
    m_known = readDaemonEndpoint(m_dataDir, &m_endpoint, &m_error);
}

ApiResult ApiClient::get(const QString &pathAndQuery, int timeoutMs) const
{
    return request("GET", pathAndQuery, {}, timeoutMs);
}

ApiResult ApiClient::post(const QString &path, const QByteArray &body, int timeoutMs) const
{
    return request("POST", path, body, timeoutMs);
}

ApiResult ApiClient::request(const QByteArray &verb, const QString &path, const QByteArray &body,
                             int timeoutMs) const
{
    ApiResult result;
    if (!m_known) {
        result.error = m_error;
        return result;
    }
    QNetworkAccessManager nam;
    nam.setProxy(QNetworkProxy::NoProxy);  // the daemon is on loopback; never via HTTP(S)_PROXY
    QNetworkRequest req(QUrl(m_endpoint.baseUrl() + path));
    req.setRawHeader("Authorization", "Bearer " + m_endpoint.token);
    req.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
    req.setTransferTimeout(timeoutMs);
    QNetworkReply *reply = nam.sendCustomRequest(req, verb, body);
    QEventLoop loop;
    QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    loop.exec();
    const QByteArray data = reply->readAll();
    result.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    result.reachable = result.status != 0;
    if (!result.reachable) {
        result.error = QStringLiteral("airlockd at %1 did not answer: %2")
                           .arg(m_endpoint.baseUrl(), reply->errorString());
    } else {
        result.json = QJsonDocument::fromJson(data).object();
        if (result.status >= 400) {
            result.error = result.json.value(QStringLiteral("error")).toObject()
                               .value(QStringLiteral("message")).toString(QString::fromUtf8(data.left(300)));
        }
    }
    reply->deleteLater();
    return result;
}

}  // namespace airlock
