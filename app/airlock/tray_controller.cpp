#include "app/airlock/tray_controller.h"

#include "app/airlock/dashboard_window.h"

#include <QApplication>
#include <QDesktopServices>
#include <QMenu>
#include <QSystemTrayIcon>
#include <QUrl>

// The icons live in a static library: referencing its resource init keeps them linked in.
static void initAirlockResources() {
    Q_INIT_RESOURCE(airlock);
}

namespace airlock {

TrayController::TrayController(ClientSession *session, QObject *parent)
    : QObject(parent), m_session(session), m_menu(std::make_unique<QMenu>()) {
    initAirlockResources();
    m_tray = new QSystemTrayIcon(this);
    m_stateAction = m_menu->addAction(QString());
    m_stateAction->setEnabled(false);
    m_menu->addSeparator();
    m_menu->addAction(tr("Open dashboard"), this, &TrayController::showDashboard);
    m_pauseMenu = m_menu->addMenu(tr("Pause interception"));
    for (int minutes : kPauseChoicesMin) {
        const QString label = minutes < 60 ? tr("for %n minute(s)", nullptr, minutes)
                                           : tr("for %n hour(s)", nullptr, minutes / 60);
        m_pauseMenu->addAction(label, this, [this, minutes] {
            m_session->pauseFor(minutes, [this](bool ok, const QString &message) {
                m_tray->showMessage(ok ? tr("Interception paused") : tr("Could not pause"),
                                    message);
            });
        });
    }
    m_syncAction = m_menu->addAction(tr("Sync policy now"), this, [this] {
        m_session->syncPolicy([this](bool ok, const QString &message) {
            m_tray->showMessage(ok ? tr("Policy synced") : tr("Policy sync failed"), message,
                                ok ? QSystemTrayIcon::Information : QSystemTrayIcon::Warning);
        });
    });
    m_menu->addAction(tr("Open logs folder"), this, [this] {
        QDesktopServices::openUrl(QUrl::fromLocalFile(m_session->client()->dataDir()));
    });
    m_menu->addSeparator();
    m_menu->addAction(tr("Quit (the proxy keeps running)"), qApp, &QApplication::quit);
    m_tray->setContextMenu(m_menu.get());
    connect(m_tray, &QSystemTrayIcon::activated, this,
            [this](QSystemTrayIcon::ActivationReason reason) {
                if (reason == QSystemTrayIcon::Trigger || reason == QSystemTrayIcon::DoubleClick)
                    showDashboard();
            });
    connect(session->notifier(), &Notifier::notificationRaised, this,
            [this](Notifier::Kind kind, const QString &title, const QString &body) {
                const auto icon = kind == Notifier::Kind::Blocked || kind == Notifier::Kind::Daemon
                                      ? QSystemTrayIcon::Warning
                                      : QSystemTrayIcon::Information;
                m_tray->showMessage(title, body, icon);
            });
    connect(session, &ClientSession::stateChanged, this, &TrayController::updateState);
    updateState();
    m_tray->show();
}

TrayController::~TrayController() = default;

QString TrayController::iconNameFor(ClientSession::TrayState s) {
    switch (s) {
        case ClientSession::TrayState::Active:
            return QStringLiteral("tray-active");
        case ClientSession::TrayState::Paused:
            return QStringLiteral("tray-paused");
        case ClientSession::TrayState::BlockedRecently:
            return QStringLiteral("tray-blocked");
        case ClientSession::TrayState::DaemonDown:
            return QStringLiteral("tray-down");
        case ClientSession::TrayState::PolicyStale:
            return QStringLiteral("tray-stale");
    }
    return QStringLiteral("tray-active");
}

void TrayController::updateState() {
    const QString name = iconNameFor(m_session->trayState());
    if (name != m_iconName) {
        m_iconName = name;
        m_tray->setIcon(QIcon(QStringLiteral(":/icons/%1.svg").arg(name)));
    }
    const QString text = m_session->stateText();
    m_stateAction->setText(text);
    m_tray->setToolTip(tr("Airlock — %1").arg(text));
    const bool up = m_session->daemonUp();
    m_pauseMenu->setEnabled(up && m_session->pauseSupported());
    m_pauseMenu->menuAction()->setToolTip(
        m_session->pauseSupported() ? QString() : m_session->pauseUnavailableReason());
    if (!m_session->pauseSupported())
        m_pauseMenu->setTitle(
            tr("Pause interception (%1)").arg(up ? tr("not available") : tr("proxy not running")));
    else
        m_pauseMenu->setTitle(tr("Pause interception"));
    m_menu->setToolTipsVisible(true);
    m_syncAction->setEnabled(up);
}

DashboardWindow *TrayController::dashboard() {
    if (!m_dashboard) m_dashboard = std::make_unique<DashboardWindow>(m_session);
    return m_dashboard.get();
}

void TrayController::showDashboard() {
    DashboardWindow *w = dashboard();
    w->show();
    w->raise();
    w->activateWindow();
}

}  // namespace airlock
