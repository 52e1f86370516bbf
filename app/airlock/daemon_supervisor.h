// Keeps an airlockd running for the GUI's data dir: starts one (detached, so it outlives the
// GUI) when none answers /healthz, and starts it again when it dies.
#pragma once

#include <QObject>
#include <QString>
#include <QStringList>
#include <QTimer>

namespace airlock {

class DaemonClient;

class DaemonSupervisor : public QObject {
    Q_OBJECT
public:
    enum class State { Unknown, Running, Starting, Down };
    Q_ENUM(State)

    static constexpr int kHealthIntervalMs = 1500;
    static constexpr int kStartGraceMs = 6000;  // a fresh daemon gets this long to answer
    static constexpr int kRestartBackoffMaxMs = 30'000;

    // airlockdPath empty: look next to this binary, then in PATH. daemonArgs are extra flags
    // for a daemon this supervisor starts (the data dir is always passed).
    DaemonSupervisor(DaemonClient *client, QString airlockdPath, QStringList daemonArgs,
                     QObject *parent = nullptr);

    void setSupervising(bool on) { m_supervising = on; }
    void start();
    State state() const { return m_state; }
    QString lastError() const { return m_lastError; }
    int startsDone() const { return m_starts; }
    static QString locateAirlockd(const QString &explicitPath);

Q_SIGNALS:
    void stateChanged(airlock::DaemonSupervisor::State state);
    void daemonStarted(qint64 pid);
    void startFailed(const QString &reason);

public Q_SLOTS:
    void checkNow();

private:
    void onHealth(bool up);
    void launch();
    void setState(State s);

    DaemonClient *m_client;
    QString m_airlockdPath;
    QStringList m_daemonArgs;
    QTimer m_timer;
    State m_state = State::Unknown;
    bool m_supervising = true;
    bool m_checking = false;
    qint64 m_graceUntilMs = 0;
    qint64 m_nextStartMs = 0;
    int m_backoffMs = 1000;
    int m_starts = 0;
    QString m_lastError;
};

}  // namespace airlock
