#include "app/airlock/dashboard_window.h"

#include "app/airlock/apps_page.h"
#include "app/airlock/client_session.h"
#include "app/airlock/overview_page.h"
#include "app/airlock/policy_page.h"
#include "app/airlock/providers_page.h"
#include "app/airlock/requests_page.h"
#include "app/airlock/settings_page.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QStackedWidget>
#include <QStatusBar>

namespace airlock {

DashboardWindow::DashboardWindow(ClientSession *session, QWidget *parent)
    : QMainWindow(parent), m_session(session) {
    setWindowTitle(tr("Airlock"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/airlock.svg")));
    auto *central = new QWidget(this);
    auto *layout = new QHBoxLayout(central);
    m_nav = new QListWidget(central);
    m_nav->setObjectName(QStringLiteral("navigation"));
    m_stack = new QStackedWidget(central);
    m_overview = new OverviewPage(session, m_stack);
    m_apps = new AppsPage(session, m_stack);
    m_requests = new RequestsPage(session, m_stack);
    m_policy = new PolicyPage(session, m_stack);
    m_providers = new ProvidersPage(session, m_stack);
    m_settings = new SettingsPage(session, m_stack);
    for (QWidget *page : {static_cast<QWidget *>(m_overview), static_cast<QWidget *>(m_apps),
                          static_cast<QWidget *>(m_requests), static_cast<QWidget *>(m_policy),
                          static_cast<QWidget *>(m_providers), static_cast<QWidget *>(m_settings)})
        m_stack->addWidget(page);
    for (int p = 0; p < PageCount; ++p) m_nav->addItem(pageName(Page(p)));
    QFont navFont = m_nav->font();
    navFont.setPointSizeF(navFont.pointSizeF() * 1.1);
    m_nav->setFont(navFont);
    m_nav->setSpacing(3);
    m_nav->setFixedWidth(m_nav->fontMetrics().horizontalAdvance(QStringLiteral("Providers")) * 2);
    layout->addWidget(m_nav);
    layout->addWidget(m_stack, 1);
    setCentralWidget(central);
    m_status = new QLabel(this);
    statusBar()->addWidget(m_status, 1);
    connect(m_nav, &QListWidget::currentRowChanged, this, [this](int row) {
        m_stack->setCurrentIndex(row);
        refreshCurrent();
    });
    connect(session, &ClientSession::stateChanged, this, &DashboardWindow::updateStatus);
    m_nav->setCurrentRow(Overview);
    updateStatus();
    resize(1280, 820);
}

QString DashboardWindow::pageName(Page page) {
    switch (page) {
        case Overview:
            return tr("Overview");
        case Apps:
            return tr("Apps");
        case Requests:
            return tr("Requests");
        case Policy:
            return tr("Policy");
        case Providers:
            return tr("Providers");
        case Settings:
            return tr("Settings");
        case PageCount:
            break;
    }
    return {};
}

void DashboardWindow::showPage(Page page) {
    m_nav->setCurrentRow(page);
}

void DashboardWindow::refreshCurrent() {
    switch (Page(m_stack->currentIndex())) {
        case Overview:
            m_overview->refresh();
            break;
        case Apps:
            m_apps->refresh();
            break;
        case Policy:
            m_policy->refresh();
            break;
        case Providers:
            m_providers->refresh();
            break;
        case Settings:
            m_settings->refresh();
            break;
        default:
            break;
    }
}

void DashboardWindow::updateStatus() {
    const DaemonAddress a = m_session->client()->address();
    QString text = m_session->stateText();
    if (m_session->daemonUp()) text += tr(" · airlockd at %1").arg(a.baseUrl());
    text +=
        m_session->client()->eventsConnected() ? tr(" · live") : tr(" · live feed reconnecting");
    m_status->setText(text);
}

}  // namespace airlock
