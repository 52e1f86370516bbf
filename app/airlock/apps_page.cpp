#include "app/airlock/apps_page.h"

#include "app/airlock/client_session.h"
#include "app/airlock/state_panel.h"

#include <QDate>
#include <QGroupBox>
#include <QHeaderView>
#include <QJsonArray>
#include <QLabel>
#include <QProgressBar>
#include <QScrollArea>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QUrlQuery>
#include <QVBoxLayout>

namespace airlock {

namespace {
double firstNumber(const QJsonObject &o, std::initializer_list<const char *> keys,
                   double fallback) {
    for (const char *k : keys) {
        const QJsonValue v = o.value(QLatin1String(k));
        if (v.isDouble()) return v.toDouble();
    }
    return fallback;
}
}  // namespace

QList<BudgetGauge> parseBudgets(const QJsonObject &json) {
    QList<BudgetGauge> out;
    for (const QJsonValue &v : json.value(QStringLiteral("budgets")).toArray()) {
        const QJsonObject o = v.toObject();
        QString who = o.value(QStringLiteral("app")).toString();
        if (who.isEmpty())
            who = o.value(QStringLiteral("scope")).toString() == QLatin1String("device")
                      ? QObject::tr("whole device")
                      : QObject::tr("each app");
        QString label = QStringLiteral("%1 · %2").arg(
            who, o.value(QStringLiteral("period")).toString(QStringLiteral("?")));
        const QJsonArray models = o.value(QStringLiteral("models")).toArray();
        if (!models.isEmpty()) {
            QStringList m;
            for (const QJsonValue &x : models) m.append(x.toString());
            label += QStringLiteral(" · ") + m.join(QStringLiteral(", "));
        }
        // A budget may limit dollars, tokens or both; one gauge each.
        const double usdLimit = firstNumber(o, {"limit_usd", "usd"}, 0);
        const double tokenLimit = firstNumber(o, {"limit_tokens", "tokens"}, 0);
        if (usdLimit > 0)
            out.append({label, firstNumber(o, {"spent_usd", "used_usd", "used", "spent"}, 0),
                        usdLimit, true});
        if (tokenLimit > 0)
            out.append(
                {label, firstNumber(o, {"spent_tokens", "used_tokens"}, 0), tokenLimit, false});
    }
    return out;
}

AppsPage::AppsPage(ClientSession *session, QWidget *parent) : QWidget(parent), m_session(session) {
    auto *layout = new QVBoxLayout(this);
    auto *title = new QLabel(
        tr("<b>Apps this month</b> — every app that sent AI requests through Airlock"), this);
    layout->addWidget(title);
    m_table = new QTableView(this);
    m_table->setObjectName(QStringLiteral("appsTable"));
    auto *proxy = new QSortFilterProxyModel(this);
    proxy->setSourceModel(&m_model);
    proxy->setSortRole(AppUsageModel::SortRole);
    m_table->setModel(proxy);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(AppUsageModel::Cost, Qt::DescendingOrder);
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setSectionResizeMode(AppUsageModel::Models, QHeaderView::Stretch);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setAlternatingRowColors(true);
    m_panel = new StatePanel(m_table, this);
    layout->addWidget(m_panel, 3);

    auto *group = new QGroupBox(tr("Budgets"), this);
    auto *gl = new QVBoxLayout(group);
    auto *scroll = new QScrollArea(group);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    m_budgetBox = new QWidget(scroll);
    m_budgetLayout = new QVBoxLayout(m_budgetBox);
    scroll->setWidget(m_budgetBox);
    m_budgetPanel = new StatePanel(scroll, group);
    gl->addWidget(m_budgetPanel);
    layout->addWidget(group, 2);

    connect(session, &ClientSession::daemonCameUp, this, &AppsPage::refresh);
}

void AppsPage::refresh() {
    if (!m_session->daemonUp()) {
        m_panel->showMessage(
            tr("The Airlock proxy is not running"),
            tr("Per-app numbers come from airlockd; they appear as soon as it answers."));
        return;
    }
    const QDate today = QDate::currentDate();
    const qint64 monthStart =
        QDate(today.year(), today.month(), 1).startOfDay().toMSecsSinceEpoch();
    DaemonClient *c = m_session->client();
    c->get(QStringLiteral("/airlock/v1/usage?group_by=app,model&from=%1").arg(monthStart), this,
           [this, c](const ApiReply &r) {
               if (!r.ok()) {
                   m_panel->showMessage(tr("Usage is not available"), r.error);
                   return;
               }
               m_model.setUsageRows(r.json.value(QStringLiteral("rows")).toArray());
               if (m_model.rowCount() == 0) {
                   m_panel->showMessage(
                       tr("No apps yet this month"),
                       tr("An app shows up here after its first request through Airlock."));
               } else {
                   m_panel->showContent();
               }
               ++m_loads;
               Q_EMIT loaded();
               for (const AppUsage &a : m_model.apps()) {
                   QUrlQuery q;
                   q.addQueryItem(QStringLiteral("app"), a.app);
                   q.addQueryItem(QStringLiteral("limit"), QStringLiteral("1"));
                   c->get(
                       QStringLiteral("/airlock/v1/requests?") + q.toString(QUrl::FullyEncoded),
                       this, [this, app = a.app](const ApiReply &last) {
                           const QJsonArray list =
                               last.json.value(QStringLiteral("requests")).toArray();
                           if (!last.ok() || list.isEmpty()) return;
                           m_model.setLastSeen(
                               app,
                               list.first().toObject().value(QStringLiteral("ts_ms")).toInteger());
                       });
               }
           });
    c->get(QStringLiteral("/airlock/v1/budgets"), this, [this](const ApiReply &r) {
        if (r.ok()) {
            showBudgets(parseBudgets(r.json), tr("No budgets are set"),
                        tr("The policy in force sets no spending or token limits for this device "
                           "or its apps."));
        } else if (r.notServed()) {
            showBudgets(
                {}, tr("No budgets on this device"),
                tr("This airlockd does not track budgets (no policy with budgets is configured)."));
        } else {
            showBudgets({}, tr("Budgets are not available"), r.error);
        }
    });
}

void AppsPage::showBudgets(const QList<BudgetGauge> &gauges, const QString &emptyTitle,
                           const QString &emptyText) {
    while (QLayoutItem *item = m_budgetLayout->takeAt(0)) {
        if (item->widget()) item->widget()->deleteLater();
        delete item;  // layout items are owned by whoever takes them
    }
    if (gauges.isEmpty()) {
        m_budgetPanel->showMessage(emptyTitle, emptyText);
        return;
    }
    for (const BudgetGauge &g : gauges) {
        auto *bar = new QProgressBar(m_budgetBox);
        bar->setRange(0, 1000);
        bar->setValue(int(std::clamp(g.fraction(), 0.0, 1.0) * 1000));
        const QString used = g.usd ? formatUsd(g.used) : formatTokens(qint64(g.used));
        const QString limit =
            g.usd ? formatUsd(g.limit) : formatTokens(qint64(g.limit)) + tr(" tokens");
        bar->setFormat(QStringLiteral("%1: %2 of %3 (%4%)")
                           .arg(g.label, used, limit)
                           .arg(qRound(g.fraction() * 100)));
        m_budgetLayout->addWidget(bar);
    }
    m_budgetLayout->addStretch();
    m_budgetPanel->showContent();
}

QString AppsPage::budgetsText() const {
    if (m_budgetPanel->showingMessage()) return m_budgetPanel->messageText();
    QStringList lines;
    for (const QProgressBar *bar : m_budgetBox->findChildren<QProgressBar *>())
        lines.append(bar->text());
    return lines.join(QLatin1Char('\n'));
}

}  // namespace airlock
