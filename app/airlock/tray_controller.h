// The tray icon and its menu: the icon shows the proxy's state, the menu pauses interception,
// syncs policy, opens the dashboard or logs; notifications appear as tray messages.
#pragma once

#include "app/airlock/client_session.h"

#include <QObject>
#include <QPointer>
#include <memory>

class QAction;
class QMenu;
class QSystemTrayIcon;

namespace airlock {

class DashboardWindow;

class TrayController : public QObject {
    Q_OBJECT
public:
    static constexpr int kPauseChoicesMin[] = {15, 60, 240};
    explicit TrayController(ClientSession *session, QObject *parent = nullptr);
    ~TrayController() override;

    QMenu *menu() const { return m_menu.get(); }
    QString iconName() const { return m_iconName; }
    static QString iconNameFor(ClientSession::TrayState s);
    void showDashboard();
    DashboardWindow *dashboard();

private:
    void updateState();
    ClientSession *m_session;
    std::unique_ptr<QMenu> m_menu;
    QSystemTrayIcon *m_tray;
    std::unique_ptr<DashboardWindow> m_dashboard;
    QAction *m_stateAction;
    QMenu *m_pauseMenu;
    QAction *m_syncAction;
    QString m_iconName;
};

}  // namespace airlock
