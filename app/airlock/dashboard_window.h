// The dashboard: a navigation list and one page per concern (Overview, Apps, Requests,
// Policy, Providers, Settings), with the daemon's state in the status bar.
#pragma once

#include <QMainWindow>

class QListWidget;
class QStackedWidget;
class QLabel;

namespace airlock {

class ClientSession;
class OverviewPage;
class AppsPage;
class RequestsPage;
class PolicyPage;
class ProvidersPage;
class SettingsPage;

class DashboardWindow : public QMainWindow {
    Q_OBJECT
public:
    enum Page { Overview, Apps, Requests, Policy, Providers, Settings, PageCount };
    explicit DashboardWindow(ClientSession *session, QWidget *parent = nullptr);

    void showPage(Page page);
    static QString pageName(Page page);
    OverviewPage *overview() const { return m_overview; }
    AppsPage *apps() const { return m_apps; }
    RequestsPage *requests() const { return m_requests; }
    PolicyPage *policy() const { return m_policy; }
    ProvidersPage *providers() const { return m_providers; }
    SettingsPage *settings() const { return m_settings; }

private:
    void updateStatus();
    void refreshCurrent();
    ClientSession *m_session;
    QListWidget *m_nav;
    QStackedWidget *m_stack;
    QLabel *m_status;
    OverviewPage *m_overview;
    AppsPage *m_apps;
    RequestsPage *m_requests;
    PolicyPage *m_policy;
    ProvidersPage *m_providers;
    SettingsPage *m_settings;
};

}  // namespace airlock
