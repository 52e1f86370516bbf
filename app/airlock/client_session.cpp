#include "app/airlock/client_session.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>

namespace airlock {

ClientSession::ClientSession(SessionOptions options, QObject *parent)
    : QObject(parent),
      m_options(std::move(options)),
      m_client(m_options.dataDir),
      m_supervisor(&m_client, m_options.airlockdPath, m_options.daemonArgs),
      m_requests(m_options.maxRequestRows) {
    m_supervisor.setSupervising(m_options.supervise);
    m_pauseReason = tr("airlockd is not running");
    connect(&m_supervisor, &DaemonSupervisor::stateChanged, this, &ClientSession::onDaemonState);
    connect(&m_client, &DaemonClient::requestEvent, this, [this](const QJsonObject &o) {
        RequestRow row = RequestRow::fromJson(o);
        m_notifier.onRequest(row);
        m_requests.enqueue(std::move(row));
    });
    connect(&m_client, &DaemonClient::notice, this,
            [this](const QString &type, const QJsonObject &data) {
                m_notifier.onNotice(type, data);
                Q_EMIT noticeReceived(type, data);
                if (type == QLatin1String("policy") || type == QLatin1String("health") ||
                    type == QLatin1String("pause"))
                    pollStatus();
            });
    connect(&m_client, &DaemonClient::eventsConnectedChanged, this, [this](bool up) {
        // After a reconnect, fetch what happened while the stream was down.
        if (up) reloadRequests();
    });
    connect(&m_requests, &RequestTableModel::rowsArrived, this, [this] {
        Q_EMIT usageChanged();
        Q_EMIT stateChanged();
    });
    connect(&m_notifier, &Notifier::notificationRaised, this, [this] { Q_EMIT stateChanged(); });
    m_statusTimer.setInterval(kStatusPollMs);
    connect(&m_statusTimer, &QTimer::timeout, this, &ClientSession::pollStatus);
}

void ClientSession::start() {
    m_supervisor.start();
    m_client.startEvents();
    m_statusTimer.start();
}

void ClientSession::onDaemonState(DaemonSupervisor::State s) {
    if (s == DaemonSupervisor::State::Running) {
        pollStatus();
        Q_EMIT daemonCameUp();
    } else if (s == DaemonSupervisor::State::Down && !m_supervisor.lastError().isEmpty()) {
        m_notifier.onDaemonDown(m_supervisor.lastError());
    }
    Q_EMIT stateChanged();
}

void ClientSession::reloadRequests() {
    m_client.get(QStringLiteral("/airlock/v1/requests?limit=%1").arg(kInitialRequestsPage), this,
                 [this](const ApiReply &r) {
                     if (!r.ok()) return;
                     QList<RequestRow> rows;
                     for (const QJsonValue &v : r.json.value(QStringLiteral("requests")).toArray())
                         rows.append(RequestRow::fromJson(v.toObject()));
                     if (!m_loadedOnce) {
                         m_loadedOnce = true;
                         m_requests.resetRows(rows);
                     } else {
                         m_requests.mergeNewer(rows);
                     }
                     Q_EMIT usageChanged();
                 });
}

void ClientSession::pollStatus() {
    m_client.get(QStringLiteral("/airlock/v1/status"), this, [this](const ApiReply &r) {
        if (!r.ok()) return;
        m_status = r.json;
        // Optional fields other parts of the daemon may add; absent means "not paused".
        const QJsonValue paused = r.json.value(QStringLiteral("paused_until"));
        if (paused.isString()) {
            const QDateTime until = QDateTime::fromString(paused.toString(), Qt::ISODateWithMs);
            m_pausedUntilMs = until.isValid() ? until.toMSecsSinceEpoch() : 0;
        } else if (r.json.contains(QStringLiteral("paused")) &&
                   !r.json.value(QStringLiteral("paused")).toBool()) {
            m_pausedUntilMs = 0;
        }
        Q_EMIT stateChanged();
    });
    m_client.get(QStringLiteral("/airlock/v1/policy"), this, [this](const ApiReply &r) {
        if (!r.ok()) return;  // no policy endpoint: nothing is enforced, nothing is stale
        const QString state = r.json.value(QStringLiteral("state")).toString();
        m_monitorMode = state != QLatin1String("none") &&
                        r.json.value(QStringLiteral("mode")).toString() == QLatin1String("monitor");
        m_policyStale = state == QLatin1String("stale") || state == QLatin1String("expired") ||
                        state == QLatin1String("rejected");
        Q_EMIT stateChanged();
    });
    m_client.get(QStringLiteral("/airlock/v1/pause"), this, [this](const ApiReply &r) {
        if (!r.reachable) {
            m_pauseSupported = false;
            m_pauseReason = tr("airlockd is not running");
        } else if (r.status == 404 &&
                   r.error.startsWith(QLatin1String("no such local API endpoint"))) {
            m_pauseSupported = false;
            m_pauseReason = tr("This airlockd does not support pausing interception");
        } else if (r.status == 403) {
            m_pauseSupported = false;
            m_pauseReason = r.error.isEmpty() ? tr("The policy does not allow pausing") : r.error;
        } else {
            m_pauseSupported = true;
            m_pauseReason.clear();
        }
        Q_EMIT stateChanged();
    });
}

void ClientSession::pauseFor(int minutes, std::function<void(bool, QString)> done) {
    const QByteArray body = QJsonDocument(QJsonObject{{QStringLiteral("minutes"), minutes}})
                                .toJson(QJsonDocument::Compact);
    m_client.post(
        QStringLiteral("/airlock/v1/pause"), body, this, [this, minutes, done](const ApiReply &r) {
            if (r.ok()) {
                m_pausedUntilMs = QDateTime::currentMSecsSinceEpoch() + qint64(minutes) * 60'000;
                Q_EMIT stateChanged();
                done(true, tr("Interception paused for %n minute(s).", nullptr, minutes));
            } else {
                if (r.status == 404) m_pauseSupported = false;
                Q_EMIT stateChanged();
                done(false, r.error.isEmpty() ? tr("airlockd did not accept the pause") : r.error);
            }
        });
}

void ClientSession::syncPolicy(std::function<void(bool, QString)> done) {
    m_client.post(
        QStringLiteral("/airlock/v1/policy/sync"), {}, this, [this, done](const ApiReply &r) {
            if (r.ok() && !r.json.value(QStringLiteral("ok")).toBool(true)) {
                done(false,
                     r.json.value(QStringLiteral("error")).toString(tr("Policy sync failed")));
            } else if (r.ok()) {
                const QJsonValue v = r.json.value(QStringLiteral("version"));
                pollStatus();
                done(true, v.isUndefined() ? tr("Policy synced.")
                                           : tr("Policy version %1 is in force.")
                                                 .arg(v.isDouble() ? QString::number(v.toInteger())
                                                                   : v.toString()));
            } else if (r.status == 404) {
                done(false, tr("No policy source is configured on this device (or this airlockd "
                               "cannot sync)."));
            } else {
                done(false, r.error.isEmpty() ? tr("Policy sync failed") : r.error);
            }
        });
}

ClientSession::TrayState ClientSession::trayState() const {
    if (!daemonUp()) return TrayState::DaemonDown;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    if (m_pausedUntilMs > now || m_monitorMode) return TrayState::Paused;
    if (m_policyStale) return TrayState::PolicyStale;
    if (m_notifier.lastRefusalMs() > 0 && now - m_notifier.lastRefusalMs() < kBlockedRecentlyMs)
        return TrayState::BlockedRecently;
    return TrayState::Active;
}

QString ClientSession::stateText() const {
    switch (trayState()) {
        case TrayState::DaemonDown:
            return m_supervisor.state() == DaemonSupervisor::State::Starting
                       ? tr("Starting the proxy…")
                       : tr("Proxy is not running");
        case TrayState::Paused:
            return m_monitorMode ? tr("Monitoring only (policy not enforced)")
                                 : tr("Interception paused");
        case TrayState::PolicyStale:
            return tr("Policy is out of date");
        case TrayState::BlockedRecently:
            return tr("Active — requests were refused recently");
        case TrayState::Active:
            break;
    }
    return tr("Active");
}

}  // namespace airlock
