#include "app/airlock/requests_page.h"

#include "app/airlock/client_session.h"
#include "app/airlock/state_panel.h"

#include <QComboBox>
#include <QDateTime>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QSplitter>
#include <QTableView>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace airlock {

RequestsPage::RequestsPage(ClientSession *session, QWidget *parent)
    : QWidget(parent), m_session(session) {
    auto *layout = new QVBoxLayout(this);
    auto *filters = new QHBoxLayout;
    m_app = new QComboBox(this);
    m_app->addItem(tr("All apps"), QString());
    m_app->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_outcome = new QComboBox(this);
    m_outcome->addItems(
        {tr("All outcomes"), tr("Succeeded"), tr("Refused by policy"), tr("Failed")});
    m_search = new QLineEdit(this);
    m_search->setPlaceholderText(tr("Search app, model, provider, reason, id…"));
    m_search->setClearButtonEnabled(true);
    m_count = new QLabel(this);
    filters->addWidget(m_app);
    filters->addWidget(m_outcome);
    filters->addWidget(m_search, 1);
    filters->addWidget(m_count);
    layout->addLayout(filters);

    m_proxy = new RequestFilterProxy(this);
    m_proxy->setSourceModel(session->requests());
    m_table = new QTableView(this);
    m_table->setObjectName(QStringLiteral("requestsTable"));
    m_table->setModel(m_proxy);
    m_table->setSortingEnabled(true);
    m_table->horizontalHeader()->setSortIndicatorShown(false);
    m_table->verticalHeader()->hide();
    // Fixed row heights and no per-row resize: constant cost with 100,000 rows.
    m_table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 6);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    m_table->horizontalHeader()->setStretchLastSection(true);
    const int ch = m_table->fontMetrics().horizontalAdvance(QLatin1Char('0'));
    // Character widths per column, in RequestTableModel::Column order; the reason gets the most.
    const int widths[] = {0, 17, 8, 15, 20, 6, 8, 8, 9, 8};
    for (int c = 1; c < int(std::size(widths)); ++c) m_table->setColumnWidth(c, widths[c] * ch);
    m_table->setColumnWidth(
        RequestTableModel::Time,
        m_table->fontMetrics().horizontalAdvance(QStringLiteral("2026-12-31 23:59")) + 2 * ch);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setAlternatingRowColors(true);
    m_table->setWordWrap(false);

    m_detail = new QTextBrowser(this);
    m_detail->setObjectName(QStringLiteral("requestDetail"));
    m_detail->setMinimumWidth(260);
    auto *splitter = new QSplitter(this);
    splitter->addWidget(m_table);
    splitter->addWidget(m_detail);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({1000, 300});
    m_panel = new StatePanel(splitter, this);
    layout->addWidget(m_panel, 1);
    showDetail();

    connect(m_app, &QComboBox::currentIndexChanged, this, [this] {
        m_proxy->setAppFilter(m_app->currentData().toString());
        updateCount();
    });
    connect(m_outcome, &QComboBox::currentIndexChanged, this, [this](int i) {
        m_proxy->setOutcomeFilter(RequestFilterProxy::OutcomeFilter(i));
        updateCount();
    });
    connect(m_search, &QLineEdit::textChanged, this, [this](const QString &t) {
        m_proxy->setSearchText(t);
        updateCount();
    });
    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &RequestsPage::showDetail);
    RequestTableModel *model = session->requests();
    connect(model, &RequestTableModel::rowsArrived, this, [this] {
        refreshAppChoices();
        updateCount();
    });
    connect(model, &QAbstractItemModel::modelReset, this, [this] {
        refreshAppChoices();
        updateCount();
    });
    connect(session, &ClientSession::stateChanged, this, &RequestsPage::updateCount);
    updateCount();
}

void RequestsPage::refreshAppChoices() {
    // Apps seen in the newest rows; scanning is bounded so this stays cheap on a full ring.
    constexpr int kScanRows = 5000;
    const RequestTableModel *model = m_session->requests();
    QStringList apps;
    for (int i = 0; i < model->rowCount() && i < kScanRows; ++i) {
        const QString &a = model->row(i).app;
        if (!apps.contains(a)) apps.append(a);
    }
    apps.sort();
    for (const QString &a : apps)
        if (m_app->findData(a) < 0) m_app->addItem(a, a);
}

void RequestsPage::updateCount() {
    const int shown = m_proxy->rowCount();
    const int total = m_session->requests()->rowCount();
    m_count->setText(shown == total ? tr("%n request(s)", nullptr, total)
                                    : tr("%1 of %2 shown").arg(shown).arg(total));
    if (total == 0) {
        m_panel->showMessage(
            m_session->daemonUp() ? tr("No requests recorded yet")
                                  : tr("The Airlock proxy is not running"),
            tr("Each AI request that passes through Airlock appears here live: app, model, "
               "tokens, cost, latency and, for refused requests, the reason."));
    } else {
        m_panel->showContent();
    }
}

void RequestsPage::selectRow(int proxyRow) {
    m_table->selectRow(proxyRow);
    m_table->scrollTo(m_proxy->index(proxyRow, 0), QAbstractItemView::PositionAtCenter);
    showDetail();
}

void RequestsPage::showDetail() {
    const QModelIndex current = m_table->selectionModel()->currentIndex();
    if (!current.isValid()) {
        m_detail->setHtml(tr("<p>Select a request to see what was recorded about it.</p>"));
        return;
    }
    const QModelIndex source = m_proxy->mapToSource(current);
    const RequestRow &r = m_session->requests()->row(source.row());
    const auto esc = [](const QString &s) { return s.toHtmlEscaped(); };
    QString html =
        QStringLiteral("<h3>%1 → %2</h3><table cellspacing=4>").arg(esc(r.app), esc(r.model));
    const auto add = [&html, &esc](const QString &k, const QString &v) {
        if (!v.isEmpty())
            html += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>").arg(esc(k), esc(v));
    };
    add(tr("Time"),
        QDateTime::fromMSecsSinceEpoch(r.tsMs).toString(QStringLiteral("yyyy-MM-dd HH:mm:ss.zzz")));
    add(tr("Request id"), QString::fromLatin1(r.id));
    add(tr("App"), r.app);
    add(tr("Process"), r.pid >= 0 ? QStringLiteral("%1 (pid %2)").arg(r.exe).arg(r.pid) : r.exe);
    add(tr("User agent"), r.userAgent);
    add(tr("Provider"), r.provider);
    add(tr("Format / endpoint"), QStringLiteral("%1 / %2").arg(r.format, r.endpoint));
    add(tr("Model"), r.model);
    if (r.responseModel != r.model) add(tr("Served by"), r.responseModel);
    add(tr("Streamed"), r.stream ? tr("yes") : tr("no"));
    add(tr("HTTP status"), QString::number(r.status));
    add(tr("Outcome"), r.outcome);
    add(tr("Reason"), r.error);
    add(tr("Policy profile"), r.profile);
    add(tr("Rule"), r.rule);
    add(tr("Input tokens"), formatTokens(r.inputTokens));
    add(tr("Cached tokens"), formatTokens(r.cachedTokens));
    add(tr("Output tokens"), formatTokens(r.outputTokens));
    if (r.reasoningTokens > 0) add(tr("Reasoning tokens"), formatTokens(r.reasoningTokens));
    add(tr("Cost"), formatUsd(r.costUsd));
    add(tr("Latency"), QStringLiteral("%1 ms").arg(r.latencyMs, 0, 'f', 1));
    if (r.ttftMs >= 0) add(tr("First byte"), QStringLiteral("%1 ms").arg(r.ttftMs, 0, 'f', 1));
    add(tr("Bytes in / out"), QStringLiteral("%1 / %2").arg(r.bytesIn).arg(r.bytesOut));
    html += QStringLiteral("</table><p><i>%1</i></p>")
                .arg(esc(tr("Headers and content are not recorded by policy; only the fields above "
                            "are kept.")));
    m_detail->setHtml(html);
}

QString RequestsPage::detailText() const {
    return m_detail->toPlainText();
}

}  // namespace airlock
