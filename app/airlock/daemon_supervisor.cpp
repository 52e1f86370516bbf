#include "app/airlock/daemon_supervisor.h"

#include "app/airlock/daemon_client.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QProcess>
#include <QStandardPaths>

namespace airlock {

DaemonSupervisor::DaemonSupervisor(DaemonClient *client, QString airlockdPath,
                                   QStringList daemonArgs, QObject *parent)
    : QObject(parent),
      m_client(client),
      m_airlockdPath(std::move(airlockdPath)),
      m_daemonArgs(std::move(daemonArgs)) {
    m_timer.setInterval(kHealthIntervalMs);
    connect(&m_timer, &QTimer::timeout, this, &DaemonSupervisor::checkNow);
}

QString DaemonSupervisor::locateAirlockd(const QString &explicitPath) {
    if (!explicitPath.isEmpty()) return explicitPath;
    const QString sibling = QCoreApplication::applicationDirPath() + QStringLiteral("/airlockd");
    if (QFileInfo(sibling).isExecutable()) return sibling;
    // Build tree layout: build/app/airlock/airlock next to build/app/airlockd/airlockd.
    const QString buildSibling =
        QCoreApplication::applicationDirPath() + QStringLiteral("/../airlockd/airlockd");
    if (QFileInfo(buildSibling).isExecutable()) return QFileInfo(buildSibling).canonicalFilePath();
    return QStandardPaths::findExecutable(QStringLiteral("airlockd"));
}

void DaemonSupervisor::start() {
    m_timer.start();
    checkNow();
}

void DaemonSupervisor::checkNow() {
    if (m_checking) return;
    m_checking = true;
    m_client->checkHealth(this, [this](bool up) {
        m_checking = false;
        onHealth(up);
    });
}

void DaemonSupervisor::onHealth(bool up) {
    if (up) {
        m_backoffMs = 1000;
        m_graceUntilMs = 0;
        setState(State::Running);
        return;
    }
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    if (now < m_graceUntilMs) {
        setState(State::Starting);
        return;
    }
    setState(State::Down);
    if (m_supervising && now >= m_nextStartMs) launch();
}

void DaemonSupervisor::launch() {
    const QString program = locateAirlockd(m_airlockdPath);
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    m_nextStartMs = now + m_backoffMs;
    m_backoffMs = std::min(m_backoffMs * 2, kRestartBackoffMaxMs);
    if (program.isEmpty()) {
        m_lastError = tr("airlockd was not found next to airlock or in PATH");
        Q_EMIT startFailed(m_lastError);
        return;
    }
    QStringList args{QStringLiteral("--data-dir"), m_client->dataDir()};
    args += m_daemonArgs;
    qint64 pid = -1;
    // Detached: the proxy must keep serving apps when the GUI quits or crashes.
    QProcess process;
    process.setProgram(program);
    process.setArguments(args);
    process.setStandardOutputFile(QProcess::nullDevice());
    process.setStandardErrorFile(m_client->dataDir() + QStringLiteral("/airlockd.log"),
                                 QIODevice::Append);
    QDir().mkpath(m_client->dataDir());
    if (!process.startDetached(&pid)) {
        m_lastError = tr("could not start %1: %2").arg(program, process.errorString());
        Q_EMIT startFailed(m_lastError);
        return;
    }
    ++m_starts;
    m_graceUntilMs = now + kStartGraceMs;
    setState(State::Starting);
    Q_EMIT daemonStarted(pid);
}

void DaemonSupervisor::setState(State s) {
    if (s == m_state) return;
    m_state = s;
    Q_EMIT stateChanged(s);
}

}  // namespace airlock
