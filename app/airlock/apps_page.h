// Apps: per-app requests, tokens, cost, models and last seen this month, and budget gauges
// against the limits the policy sets (from /budgets when the daemon serves it).
#pragma once

#include "app/airlock/app_usage_model.h"

#include <QJsonObject>
#include <QWidget>

class QTableView;
class QVBoxLayout;
class QLabel;

namespace airlock {

class ClientSession;
class StatePanel;

struct BudgetGauge {
    QString label;  // "claude · day · USD"
    double used = 0;
    double limit = 0;
    bool usd = true;
    double fraction() const { return limit > 0 ? used / limit : 0; }
};
// Reads /budgets leniently: {"budgets":[{"app"?,"scope"?,"period","usd"|"tokens"|"limit",
// "used_usd"|"spent_usd"|"used_tokens"|"used"}, …]}.
QList<BudgetGauge> parseBudgets(const QJsonObject &json);

class AppsPage : public QWidget {
    Q_OBJECT
public:
    explicit AppsPage(ClientSession *session, QWidget *parent = nullptr);
    const AppUsageModel *model() const { return &m_model; }
    int loadsCompleted() const { return m_loads; }
    QString budgetsText() const;

Q_SIGNALS:
    void loaded();

public Q_SLOTS:
    void refresh();

private:
    void showBudgets(const QList<BudgetGauge> &gauges, const QString &emptyTitle,
                     const QString &emptyText);
    ClientSession *m_session;
    AppUsageModel m_model;
    QTableView *m_table;
    StatePanel *m_panel;
    QWidget *m_budgetBox;
    QVBoxLayout *m_budgetLayout;
    StatePanel *m_budgetPanel;
    int m_loads = 0;
};

}  // namespace airlock
