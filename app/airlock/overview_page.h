// Overview: spend and tokens today and this month, the top apps, and a stacked per-app chart
// over a day, week or month, all from the daemon's /usage endpoint.
#pragma once

#include "app/airlock/app_usage_model.h"

#include <QJsonArray>
#include <QLabel>
#include <QTimer>
#include <QWidget>

class QComboBox;
class QGridLayout;
class QChart;
class QChartView;
class QTableView;

namespace airlock {

class ClientSession;
class StatePanel;

class OverviewPage : public QWidget {
    Q_OBJECT
public:
    static constexpr int kMaxChartApps = 7;  // the rest are summed as "other"
    static constexpr int kRefreshDebounceMs = 1500;

    explicit OverviewPage(ClientSession *session, QWidget *parent = nullptr);
    const AppUsageModel *todayModel() const { return &m_today; }
    const AppUsageModel *monthModel() const { return &m_month; }
    int loadsCompleted() const { return m_loads; }
    enum class Range { Day, Week, Month };
    void setRange(Range r);

Q_SIGNALS:
    void loaded();

public Q_SLOTS:
    void refresh();
    void scheduleRefresh();

private:
    QLabel *addCard(QGridLayout *grid, int row, int col, const QString &title, const QString &name);
    void updateCards();
    void rebuildChart(const QJsonArray &rows, qint64 fromMs, int days);
    void showChartMessage(const QString &text);
    ClientSession *m_session;
    AppUsageModel m_today;
    AppUsageModel m_month;
    QLabel *m_spendToday, *m_tokensToday, *m_requestsToday;
    QLabel *m_spendMonth, *m_tokensMonth, *m_requestsMonth;
    QTableView *m_topApps;
    StatePanel *m_topPanel;
    QComboBox *m_range;
    QComboBox *m_metric;
    QChart *m_chart;
    QChartView *m_chartView;
    StatePanel *m_chartPanel;
    StatePanel *m_panel;
    QTimer m_debounce;
    QJsonArray m_chartRows;
    qint64 m_chartFrom = 0;
    int m_chartDays = 7;
    int m_pending = 0;
    int m_loads = 0;
};

}  // namespace airlock
