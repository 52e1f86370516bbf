#include "app/airlock/overview_page.h"

#include "app/airlock/client_session.h"
#include "app/airlock/state_panel.h"

#include <QBarCategoryAxis>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QDate>
#include <QFrame>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonObject>
#include <QMap>
#include <QSortFilterProxyModel>
#include <QStackedBarSeries>
#include <QTableView>
#include <QVBoxLayout>
#include <QValueAxis>

namespace airlock {

namespace {
// Series colours are the one place with fixed colours: they must tell apps apart in both themes.
const QColor kSeriesColors[] = {QColor(0x3b, 0x82, 0xf6), QColor(0xf5, 0x9e, 0x0b),
                                QColor(0x10, 0xb9, 0x81), QColor(0xef, 0x44, 0x44),
                                QColor(0x8b, 0x5c, 0xf6), QColor(0x06, 0xb6, 0xd4),
                                QColor(0xec, 0x48, 0x99), QColor(0x9c, 0xa3, 0xaf)};

qint64 startOfDayMs(const QDate &d) {
    return d.startOfDay().toMSecsSinceEpoch();
}
}  // namespace

OverviewPage::OverviewPage(ClientSession *session, QWidget *parent)
    : QWidget(parent), m_session(session) {
    auto *content = new QWidget(this);
    auto *outer = new QVBoxLayout(content);
    auto *grid = new QGridLayout;
    m_spendToday = addCard(grid, 0, 0, tr("Spend today"), QStringLiteral("spendToday"));
    m_tokensToday = addCard(grid, 0, 1, tr("Tokens today"), QStringLiteral("tokensToday"));
    m_requestsToday = addCard(grid, 0, 2, tr("Requests today"), QStringLiteral("requestsToday"));
    m_spendMonth = addCard(grid, 1, 0, tr("Spend this month"), QStringLiteral("spendMonth"));
    m_tokensMonth = addCard(grid, 1, 1, tr("Tokens this month"), QStringLiteral("tokensMonth"));
    m_requestsMonth =
        addCard(grid, 1, 2, tr("Requests this month"), QStringLiteral("requestsMonth"));
    outer->addLayout(grid);

    auto *middle = new QHBoxLayout;
    auto *topBox = new QVBoxLayout;
    auto *topTitle = new QLabel(tr("<b>Top apps this month</b>"), content);
    topBox->addWidget(topTitle);
    m_topApps = new QTableView(content);
    auto *topProxy = new QSortFilterProxyModel(this);
    topProxy->setSourceModel(&m_month);
    m_topApps->setModel(topProxy);
    for (int c = AppUsageModel::InputTokens; c < AppUsageModel::ColumnCount; ++c)
        if (c != AppUsageModel::Cost) m_topApps->setColumnHidden(c, true);
    m_topApps->verticalHeader()->hide();
    m_topApps->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_topApps->horizontalHeader()->setStretchLastSection(true);
    m_topApps->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_topApps->setSelectionMode(QAbstractItemView::NoSelection);
    m_topPanel = new StatePanel(m_topApps, content);
    topBox->addWidget(m_topPanel);
    middle->addLayout(topBox, 1);

    auto *chartBox = new QVBoxLayout;
    auto *controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("<b>Usage by app</b>"), content));
    controls->addStretch();
    m_metric = new QComboBox(content);
    m_metric->addItems({tr("Cost (USD)"), tr("Tokens")});
    m_range = new QComboBox(content);
    m_range->setObjectName(QStringLiteral("rangeCombo"));
    m_range->addItems({tr("Today"), tr("Last 7 days"), tr("Last 30 days")});
    m_range->setCurrentIndex(1);
    controls->addWidget(m_metric);
    controls->addWidget(m_range);
    chartBox->addLayout(controls);
    m_chart = new QChart;
    m_chart->legend()->setAlignment(Qt::AlignBottom);
    m_chart->setMargins(QMargins(4, 4, 4, 4));
    m_chartView = new QChartView(m_chart, content);  // takes ownership of the chart
    m_chartView->setRenderHint(QPainter::Antialiasing);
    m_chartView->setMinimumHeight(320);
    m_chartPanel = new StatePanel(m_chartView, content);
    chartBox->addWidget(m_chartPanel, 1);
    middle->addLayout(chartBox, 2);
    outer->addLayout(middle, 1);

    m_panel = new StatePanel(content, this);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_panel);

    connect(m_range, &QComboBox::currentIndexChanged, this, &OverviewPage::refresh);
    connect(m_metric, &QComboBox::currentIndexChanged, this,
            [this] { rebuildChart(m_chartRows, m_chartFrom, m_chartDays); });
    m_debounce.setSingleShot(true);
    m_debounce.setInterval(kRefreshDebounceMs);
    connect(&m_debounce, &QTimer::timeout, this, &OverviewPage::refresh);
    connect(session, &ClientSession::daemonCameUp, this, &OverviewPage::refresh);
    connect(session, &ClientSession::usageChanged, this, &OverviewPage::scheduleRefresh);
}

QLabel *OverviewPage::addCard(QGridLayout *grid, int row, int col, const QString &title,
                              const QString &name) {
    auto *frame = new QFrame(this);
    frame->setFrameShape(QFrame::StyledPanel);
    frame->setBackgroundRole(QPalette::Base);
    frame->setAutoFillBackground(true);
    auto *v = new QVBoxLayout(frame);
    auto *caption = new QLabel(title, frame);
    caption->setForegroundRole(QPalette::PlaceholderText);
    auto *value = new QLabel(QStringLiteral("—"), frame);
    value->setObjectName(name);
    QFont f = value->font();
    f.setPointSizeF(f.pointSizeF() * 1.6);
    f.setBold(true);
    value->setFont(f);
    v->addWidget(caption);
    v->addWidget(value);
    grid->addWidget(frame, row, col);
    return value;
}

void OverviewPage::setRange(Range r) {
    m_range->setCurrentIndex(int(r));
}

void OverviewPage::scheduleRefresh() {
    if (!m_debounce.isActive()) m_debounce.start();
}

void OverviewPage::refresh() {
    if (!m_session->daemonUp()) {
        m_panel->showMessage(tr("The Airlock proxy is not running"),
                             tr("Usage numbers come from airlockd. It is being started; this page "
                                "fills in as soon as it answers."));
        return;
    }
    if (m_pending > 0) return;
    m_pending = 3;
    const QDate today = QDate::currentDate();
    const qint64 dayStart = startOfDayMs(today);
    const qint64 monthStart = startOfDayMs(QDate(today.year(), today.month(), 1));
    const auto done = [this] {
        if (--m_pending == 0) {
            ++m_loads;
            updateCards();
            Q_EMIT loaded();
        }
    };
    DaemonClient *c = m_session->client();
    c->get(QStringLiteral("/airlock/v1/usage?group_by=app,model&from=%1").arg(dayStart), this,
           [this, done](const ApiReply &r) {
               if (r.ok()) m_today.setUsageRows(r.json.value(QStringLiteral("rows")).toArray());
               done();
           });
    c->get(QStringLiteral("/airlock/v1/usage?group_by=app,model&from=%1").arg(monthStart), this,
           [this, done](const ApiReply &r) {
               if (r.ok()) {
                   m_month.setUsageRows(r.json.value(QStringLiteral("rows")).toArray());
                   m_panel->showContent();
               } else {
                   m_panel->showMessage(tr("Usage is not available"), r.error);
               }
               done();
           });
    const int days = m_range->currentIndex() == 0 ? 1 : m_range->currentIndex() == 1 ? 7 : 30;
    const qint64 from = startOfDayMs(today.addDays(1 - days));
    c->get(QStringLiteral("/airlock/v1/usage?group_by=day,app&from=%1").arg(from), this,
           [this, done, from, days](const ApiReply &r) {
               if (r.ok())
                   rebuildChart(r.json.value(QStringLiteral("rows")).toArray(), from, days);
               else
                   showChartMessage(r.error);
               done();
           });
}

void OverviewPage::updateCards() {
    const AppUsage t = m_today.totals();
    const AppUsage m = m_month.totals();
    m_spendToday->setText(formatUsd(t.costUsd));
    m_tokensToday->setText(formatTokens(t.totalTokens()));
    m_requestsToday->setText(formatTokens(t.requests));
    m_spendMonth->setText(formatUsd(m.costUsd));
    m_tokensMonth->setText(formatTokens(m.totalTokens()));
    m_requestsMonth->setText(formatTokens(m.requests));
    if (m_month.rowCount() == 0)
        m_topPanel->showMessage(tr("No AI traffic this month"),
                                tr("Apps appear here once they send requests through Airlock "
                                   "(point them at %1).")
                                    .arg(m_session->client()->address().baseUrl()));
    else
        m_topPanel->showContent();
}

void OverviewPage::showChartMessage(const QString &text) {
    m_chartPanel->showMessage(tr("No chart"), text);
}

void OverviewPage::rebuildChart(const QJsonArray &rows, qint64 fromMs, int days) {
    m_chartRows = rows;
    m_chartFrom = fromMs;
    m_chartDays = days;
    const bool tokens = m_metric->currentIndex() == 1;
    // Rank apps by their total over the range; keep the biggest, fold the rest into "other".
    QMap<QString, double> totals;
    for (const QJsonValue &v : rows) {
        const QJsonObject o = v.toObject();
        const double value = tokens ? double(o.value(QStringLiteral("input_tokens")).toInteger() +
                                             o.value(QStringLiteral("output_tokens")).toInteger())
                                    : o.value(QStringLiteral("cost_usd")).toDouble();
        totals[o.value(QStringLiteral("app")).toString()] += value;
    }
    m_chart->removeAllSeries();
    for (QAbstractAxis *axis : m_chart->axes()) {
        m_chart->removeAxis(axis);
        delete axis;  // removeAxis gives ownership back
    }
    if (totals.isEmpty()) {
        m_chartPanel->showMessage(
            tr("No usage in this range"),
            tr("Requests that pass through Airlock are charted here per app and day."));
        return;
    }
    QList<QPair<double, QString>> ranked;
    for (auto it = totals.cbegin(); it != totals.cend(); ++it)
        ranked.append({it.value(), it.key()});
    std::sort(ranked.begin(), ranked.end(),
              [](const auto &a, const auto &b) { return a.first > b.first; });
    QStringList shown;
    for (int i = 0; i < ranked.size() && i < kMaxChartApps; ++i) shown.append(ranked[i].second);
    const bool hasOther = ranked.size() > kMaxChartApps;

    const QDate first = QDateTime::fromMSecsSinceEpoch(fromMs).date();
    QStringList categories;
    QHash<QString, int> dayIndex;
    for (int i = 0; i < days; ++i) {
        const QDate d = first.addDays(i);
        dayIndex.insert(d.toString(Qt::ISODate), i);
        categories.append(days > 7 ? d.toString(QStringLiteral("d MMM"))
                                   : d.toString(QStringLiteral("ddd d")));
    }
    QHash<QString, QList<double>> values;
    for (const QString &app : shown) values.insert(app, QList<double>(days, 0.0));
    if (hasOther) values.insert(tr("other"), QList<double>(days, 0.0));
    for (const QJsonValue &v : rows) {
        const QJsonObject o = v.toObject();
        const int di = dayIndex.value(o.value(QStringLiteral("day")).toString(), -1);
        if (di < 0) continue;
        QString app = o.value(QStringLiteral("app")).toString();
        if (!shown.contains(app)) app = tr("other");
        const double value = tokens ? double(o.value(QStringLiteral("input_tokens")).toInteger() +
                                             o.value(QStringLiteral("output_tokens")).toInteger())
                                    : o.value(QStringLiteral("cost_usd")).toDouble();
        values[app][di] += value;
    }
    auto *series = new QStackedBarSeries;
    QStringList order = shown;
    if (hasOther) order.append(tr("other"));
    double maxStack = 0;
    QList<double> stack(days, 0.0);
    for (int i = 0; i < order.size(); ++i) {
        auto *set = new QBarSet(order[i]);
        set->setColor(kSeriesColors[std::min<int>(i, std::size(kSeriesColors) - 1)]);
        set->setBorderColor(Qt::transparent);
        for (int d = 0; d < days; ++d) {
            set->append(values[order[i]][d]);
            stack[d] += values[order[i]][d];
        }
        series->append(set);
    }
    for (double s : stack) maxStack = std::max(maxStack, s);
    m_chart->addSeries(series);
    auto *x = new QBarCategoryAxis;
    x->append(categories);
    auto *y = new QValueAxis;
    y->setRange(0, maxStack > 0 ? maxStack * 1.1 : 1);
    y->setLabelFormat(tokens ? QStringLiteral("%.0f") : QStringLiteral("$%.2f"));
    y->applyNiceNumbers();
    // Follow the system palette so the chart reads in dark and light themes.
    const QPalette pal = palette();
    m_chart->setBackgroundBrush(pal.base());
    m_chart->legend()->setLabelColor(pal.color(QPalette::Text));
    for (QAbstractAxis *axis : {static_cast<QAbstractAxis *>(x), static_cast<QAbstractAxis *>(y)}) {
        axis->setLabelsColor(pal.color(QPalette::Text));
        axis->setGridLineColor(pal.color(QPalette::Mid));
        axis->setLinePenColor(pal.color(QPalette::Mid));
    }
    m_chart->addAxis(x, Qt::AlignBottom);
    m_chart->addAxis(y, Qt::AlignLeft);
    series->attachAxis(x);
    series->attachAxis(y);
    m_chartPanel->showContent();
}

}  // namespace airlock
