// Everything the GUI knows about the daemon, shared by tray and dashboard: the client, the
// supervisor, the live request table and the notifier, wired to the events stream.
#pragma once

#include "app/airlock/daemon_client.h"
#include "app/airlock/daemon_supervisor.h"
#include "app/airlock/notifier.h"
#include "app/airlock/request_model.h"

#include <QJsonObject>
#include <QObject>
#include <QTimer>

namespace airlock {

struct SessionOptions {
    QString dataDir;
    QString airlockdPath;
    QStringList daemonArgs;
    bool supervise = true;
    int maxRequestRows = RequestTableModel::kDefaultMaxRows;
};

class ClientSession : public QObject {
    Q_OBJECT
public:
    enum class TrayState { Active, Paused, BlockedRecently, DaemonDown, PolicyStale };
    Q_ENUM(TrayState)
    static constexpr int kInitialRequestsPage = 500;
    static constexpr int kStatusPollMs = 20'000;
    static constexpr qint64 kBlockedRecentlyMs = 5 * 60 * 1000;

    explicit ClientSession(SessionOptions options, QObject *parent = nullptr);
    void start();

    DaemonClient *client() { return &m_client; }
    DaemonSupervisor *supervisor() { return &m_supervisor; }
    RequestTableModel *requests() { return &m_requests; }
    Notifier *notifier() { return &m_notifier; }
    const SessionOptions &options() const { return m_options; }

    bool daemonUp() const { return m_supervisor.state() == DaemonSupervisor::State::Running; }
    TrayState trayState() const;
    QString stateText() const;
    QJsonObject lastStatus() const { return m_status; }
    // Pause support: unknown until probed; the daemon says whether it serves /pause.
    bool pauseSupported() const { return m_pauseSupported; }
    QString pauseUnavailableReason() const { return m_pauseReason; }
    qint64 pausedUntilMs() const { return m_pausedUntilMs; }
    void pauseFor(int minutes, std::function<void(bool ok, QString message)> done);
    void syncPolicy(std::function<void(bool ok, QString message)> done);

Q_SIGNALS:
    void stateChanged();
    void daemonCameUp();  // connected (again): pages refresh
    void usageChanged();  // new rows arrived: usage numbers are stale
    void noticeReceived(const QString &type, const QJsonObject &data);

public Q_SLOTS:
    void pollStatus();
    void reloadRequests();

private:
    void onDaemonState(DaemonSupervisor::State s);
    SessionOptions m_options;
    DaemonClient m_client;
    DaemonSupervisor m_supervisor;
    RequestTableModel m_requests;
    Notifier m_notifier;
    QTimer m_statusTimer;
    QJsonObject m_status;
    bool m_pauseSupported = false;
    QString m_pauseReason;
    qint64 m_pausedUntilMs = 0;
    bool m_monitorMode = false;
    bool m_policyStale = false;
    bool m_loadedOnce = false;
};

}  // namespace airlock
