#include "app/airlock/daemon_client.h"

#include <QFile>
#include <QJsonDocument>
#include <QNetworkProxy>
#include <QNetworkReply>
#include <QNetworkRequest>

namespace airlock {

namespace {
constexpr qsizetype kMaxRuntimeFileBytes = 64 * 1024;

QNetworkRequest makeRequest(const DaemonAddress &a, const QString &path, int timeoutMs) {
    QNetworkRequest req(QUrl(a.baseUrl() + path));
    if (!a.token.isEmpty()) req.setRawHeader("Authorization", "Bearer " + a.token);
    req.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
    req.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    if (timeoutMs > 0) req.setTransferTimeout(timeoutMs);
    return req;
}
}  // namespace

QString DaemonAddress::baseUrl() const {
    const QString h =
        host.contains(QLatin1Char(':')) ? QLatin1Char('[') + host + QLatin1Char(']') : host;
    return QStringLiteral("http://%1:%2").arg(h).arg(port);
}

DaemonAddress readDaemonAddress(const QString &dataDir, QString *error) {
    DaemonAddress a;
    QFile file(dataDir + QStringLiteral("/airlockd.json"));
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("no airlockd has run for %1 yet").arg(dataDir);
        return a;
    }
    const QJsonObject o = QJsonDocument::fromJson(file.read(kMaxRuntimeFileBytes)).object();
    a.host = o.value(QStringLiteral("host")).toString();
    const int port = o.value(QStringLiteral("port")).toInt();
    a.port = port > 0 && port < 65536 ? quint16(port) : 0;
    a.pid = o.value(QStringLiteral("pid")).toInteger(-1);
    QFile token(dataDir + QStringLiteral("/api-token"));
    if (token.open(QIODevice::ReadOnly)) a.token = token.read(4096).trimmed();
    if (!a.valid()) *error = QStringLiteral("%1 is not a valid runtime file").arg(file.fileName());
    return a;
}

DaemonClient::DaemonClient(QString dataDir, QObject *parent)
    : QObject(parent), m_dataDir(std::move(dataDir)) {
    // The daemon is on loopback: never go through HTTP(S)_PROXY.
    m_nam.setProxy(QNetworkProxy::NoProxy);
    m_reconnectTimer.setSingleShot(true);
    connect(&m_reconnectTimer, &QTimer::timeout, this, &DaemonClient::connectEvents);
    refreshAddress();
}

DaemonClient::~DaemonClient() {
    m_eventsWanted = false;
    if (m_events) {
        m_events->disconnect(this);
        m_events->abort();
    }
}

bool DaemonClient::refreshAddress() {
    QString error;
    const DaemonAddress a = readDaemonAddress(m_dataDir, &error);
    if (a.valid()) m_address = a;
    return a.valid();
}

void DaemonClient::get(const QString &pathAndQuery, QObject *context, Callback done) {
    send("GET", pathAndQuery, {}, kRequestTimeoutMs, context, std::move(done));
}

void DaemonClient::post(const QString &path, const QByteArray &body, QObject *context,
                        Callback done) {
    send("POST", path, body, kRequestTimeoutMs, context, std::move(done));
}

void DaemonClient::send(const QByteArray &verb, const QString &path, const QByteArray &body,
                        int timeoutMs, QObject *context, Callback done) {
    QPointer<QObject> guard(context);
    if (!m_address.valid() && !refreshAddress()) {
        ApiReply r;
        r.error = tr("airlockd is not running");
        QTimer::singleShot(0, this, [guard, done, r] {
            if (guard && done) done(r);
        });
        return;
    }
    QNetworkReply *reply =
        m_nam.sendCustomRequest(makeRequest(m_address, path, timeoutMs), verb, body);
    connect(
        reply, &QNetworkReply::finished, this, [reply, guard, done, base = m_address.baseUrl()] {
            reply->deleteLater();
            ApiReply r;
            r.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
            r.reachable = r.status != 0;
            const QByteArray data = reply->readAll();
            if (!r.reachable) {
                r.error = tr("airlockd at %1 did not answer: %2").arg(base, reply->errorString());
            } else {
                r.json = QJsonDocument::fromJson(data).object();
                if (r.status >= 400) {
                    r.error = r.json.value(QStringLiteral("error"))
                                  .toObject()
                                  .value(QStringLiteral("message"))
                                  .toString(QString::fromUtf8(data.left(300)));
                }
            }
            if (guard && done) done(r);
        });
}

void DaemonClient::checkHealth(QObject *context, std::function<void(bool)> done) {
    refreshAddress();
    send("GET", QStringLiteral("/healthz"), {}, kHealthTimeoutMs, context,
         [done](const ApiReply &r) { done(r.ok()); });
}

void DaemonClient::startEvents() {
    m_eventsWanted = true;
    if (!m_events && !m_reconnectTimer.isActive()) connectEvents();
}

void DaemonClient::stopEvents() {
    m_eventsWanted = false;
    m_reconnectTimer.stop();
    if (m_events) {
        m_events->disconnect(this);
        m_events->abort();
        m_events->deleteLater();
    }
    setEventsConnected(false);
}

void DaemonClient::connectEvents() {
    if (!m_eventsWanted || m_events) return;
    if (!refreshAddress() && !m_address.valid()) {
        scheduleReconnect();
        return;
    }
    QNetworkRequest req =
        makeRequest(m_address, QStringLiteral("/airlock/v1/events"), kEventsIdleTimeoutMs);
    req.setRawHeader("Accept", "text/event-stream");
    m_eventsBuffer.clear();
    m_events = m_nam.get(req);
    connect(m_events, &QNetworkReply::metaDataChanged, this, [this] {
        const int status = m_events->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        if (status == 200) {
            m_backoffMs = kReconnectMinMs;
            setEventsConnected(true);
        }
    });
    connect(m_events, &QNetworkReply::readyRead, this, &DaemonClient::onEventsData);
    connect(m_events, &QNetworkReply::finished, this, &DaemonClient::onEventsFinished);
}

void DaemonClient::onEventsData() {
    if (!m_events) return;
    m_eventsBuffer += m_events->readAll();
    // Events end with a blank line; accept \n\n and \r\n\r\n.
    for (;;) {
        qsizetype end = m_eventsBuffer.indexOf("\n\n");
        qsizetype sep = 2;
        const qsizetype crlf = m_eventsBuffer.indexOf("\r\n\r\n");
        if (crlf >= 0 && (end < 0 || crlf < end)) {
            end = crlf;
            sep = 4;
        }
        if (end < 0) break;
        const QByteArray block = m_eventsBuffer.left(end);
        m_eventsBuffer.remove(0, end + sep);
        QByteArray type = "message";
        QByteArray data;
        for (QByteArray line : block.split('\n')) {
            if (line.endsWith('\r')) line.chop(1);
            if (line.isEmpty() || line.startsWith(':')) continue;
            const qsizetype colon = line.indexOf(':');
            const QByteArray field = colon < 0 ? line : line.left(colon);
            QByteArray value = colon < 0 ? QByteArray() : line.mid(colon + 1);
            if (value.startsWith(' ')) value.remove(0, 1);
            if (field == "event")
                type = value;
            else if (field == "data")
                data += (data.isEmpty() ? QByteArray() : QByteArray("\n")) + value;
        }
        if (!data.isEmpty()) dispatchEvent(type, data);
    }
    if (m_eventsBuffer.size() > kMaxEventBytes) {
        // A malformed or hostile stream: drop it and reconnect rather than grow without bound.
        qWarning("airlock: live events stream sent an oversized event; reconnecting");
        m_events->abort();
    }
}

void DaemonClient::dispatchEvent(const QByteArray &type, const QByteArray &data) {
    QJsonParseError err;
    const QJsonDocument doc = QJsonDocument::fromJson(data, &err);
    if (err.error != QJsonParseError::NoError || !doc.isObject()) return;
    if (type == "request")
        Q_EMIT requestEvent(doc.object());
    else
        Q_EMIT notice(QString::fromUtf8(type), doc.object());
}

void DaemonClient::onEventsFinished() {
    if (m_events) m_events->deleteLater();
    m_events = nullptr;
    setEventsConnected(false);
    scheduleReconnect();
}

void DaemonClient::scheduleReconnect() {
    if (!m_eventsWanted) return;
    m_reconnectTimer.start(m_backoffMs);
    m_backoffMs = std::min(m_backoffMs * 2, kReconnectMaxMs);
}

void DaemonClient::setEventsConnected(bool connected) {
    if (connected == m_eventsConnected) return;
    m_eventsConnected = connected;
    Q_EMIT eventsConnectedChanged(connected);
}

}  // namespace airlock
