#include "app/airlock/request_model.h"

#include <QDate>
#include <QDateTime>
#include <QGuiApplication>
#include <QLocale>
#include <QPalette>

namespace airlock {

RequestRow RequestRow::fromJson(const QJsonObject &o) {
    RequestRow r;
    r.id = o.value(QStringLiteral("id")).toString().toUtf8();
    r.tsMs = o.value(QStringLiteral("ts_ms")).toInteger(0);
    if (r.tsMs == 0) {
        const QDateTime dt =
            QDateTime::fromString(o.value(QStringLiteral("ts")).toString(), Qt::ISODateWithMs);
        if (dt.isValid()) r.tsMs = dt.toMSecsSinceEpoch();
    }
    const auto s = [&o](const char *k) { return o.value(QLatin1String(k)).toString(); };
    const auto n = [&o](const char *k) { return o.value(QLatin1String(k)).toInteger(0); };
    const auto d = [&o](const char *k, double def) {
        const QJsonValue v = o.value(QLatin1String(k));
        return v.isDouble() ? v.toDouble() : def;
    };
    r.app = s("app");
    r.provider = s("provider");
    r.model = s("model");
    r.responseModel = s("response_model");
    r.format = s("format");
    r.endpoint = s("endpoint");
    r.outcome = s("outcome");
    r.error = s("error");
    r.profile = s("profile");
    r.rule = s("rule");
    r.exe = s("exe");
    r.userAgent = s("user_agent");
    r.pid = o.value(QStringLiteral("pid")).toInteger(-1);
    r.status = int(n("status"));
    r.stream = o.value(QStringLiteral("stream")).toBool();
    r.inputTokens = n("input_tokens");
    r.outputTokens = n("output_tokens");
    r.cachedTokens = n("cached_tokens");
    r.reasoningTokens = n("reasoning_tokens");
    r.costUsd = d("cost_usd", 0);
    r.latencyMs = d("latency_ms", 0);
    r.ttftMs = d("ttft_ms", -1);
    r.bytesIn = n("bytes_in");
    r.bytesOut = n("bytes_out");
    if (r.id.isEmpty())
        r.id = QByteArray::number(r.tsMs) + '-' + r.app.toUtf8() + '-' + QByteArray::number(r.pid);
    return r;
}

bool RequestRow::isRefusal() const {
    return outcome == QLatin1String("blocked") || outcome == QLatin1String("rate_limited") ||
           outcome == QLatin1String("budget_exceeded") ||
           outcome == QLatin1String("policy_unavailable");
}

QString formatTokens(qint64 n) {
    return QLocale().toString(n);
}

QString formatUsd(double usd) {
    // Sub-cent requests are common; show enough digits to tell them from zero.
    if (usd > 0 && usd < 0.0001) return QStringLiteral("< $0.0001");
    if (usd != 0 && std::abs(usd) < 0.01) return QStringLiteral("$") + QString::number(usd, 'f', 4);
    return QStringLiteral("$") + QLocale(QLocale::English).toString(usd, 'f', 2);
}

RequestTableModel::RequestTableModel(int maxRows, QObject *parent)
    : QAbstractTableModel(parent), m_maxRows(std::max(1, maxRows)) {
    m_batchTimer.setSingleShot(true);
    m_batchTimer.setInterval(kBatchIntervalMs);
    connect(&m_batchTimer, &QTimer::timeout, this, &RequestTableModel::flushPending);
}

int RequestTableModel::rowCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : int(m_rows.size());
}

int RequestTableModel::columnCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant RequestTableModel::data(const QModelIndex &index, int role) const {
    if (!index.isValid() || index.row() >= int(m_rows.size())) return {};
    const RequestRow &r = m_rows[size_t(index.row())];
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
            case Time: {
                // Today's rows need only the time; older ones the date too.
                const QDateTime t = QDateTime::fromMSecsSinceEpoch(r.tsMs);
                return t.toString(t.date() == QDate::currentDate()
                                      ? QStringLiteral("HH:mm:ss")
                                      : QStringLiteral("yyyy-MM-dd HH:mm"));
            }
            case App:
                return r.app;
            case Provider:
                return r.provider;
            case Model:
                return r.model;
            case Status:
                return r.status;
            case InputTokens:
                return formatTokens(r.inputTokens);
            case OutputTokens:
                return formatTokens(r.outputTokens);
            case Cost:
                return formatUsd(r.costUsd);
            case Latency:
                return QStringLiteral("%1 ms").arg(qRound64(r.latencyMs));
            case Outcome:
                return r.outcome == QLatin1String("ok") || r.error.isEmpty()
                           ? r.outcome
                           : QStringLiteral("%1: %2").arg(r.outcome, r.error);
        }
    } else if (role == Qt::TextAlignmentRole) {
        if (index.column() >= Status && index.column() <= Latency)
            return int(Qt::AlignRight | Qt::AlignVCenter);
    } else if (role == Qt::ForegroundRole) {
        // Palette roles keep refusals readable in dark and light themes.
        if (r.isRefusal() && index.column() == Outcome)
            return QGuiApplication::palette().brush(QPalette::Link);
    } else if (role == Qt::ToolTipRole && index.column() == Outcome && !r.error.isEmpty()) {
        return r.error;
    } else if (role == RowRole) {
        return index.row();
    }
    return {};
}

QVariant RequestTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
        case Time:
            return tr("Time");
        case App:
            return tr("App");
        case Provider:
            return tr("Provider");
        case Model:
            return tr("Model");
        case Status:
            return tr("Status");
        case InputTokens:
            return tr("Input");
        case OutputTokens:
            return tr("Output");
        case Cost:
            return tr("Cost");
        case Latency:
            return tr("Latency");
        case Outcome:
            return tr("Outcome / reason");
    }
    return {};
}

void RequestTableModel::resetRows(const QList<RequestRow> &rowsNewestFirst) {
    beginResetModel();
    m_rows.clear();
    m_ids.clear();
    for (const RequestRow &r : rowsNewestFirst) {
        if (int(m_rows.size()) >= m_maxRows) break;
        if (m_ids.contains(r.id)) continue;
        m_ids.insert(r.id);
        m_rows.push_back(r);
    }
    endResetModel();
}

void RequestTableModel::enqueue(RequestRow row) {
    m_pending.push_back(std::move(row));
    // Bounded: beyond the ring's size older pending rows would be evicted anyway.
    while (int(m_pending.size()) > m_maxRows) m_pending.pop_front();
    if (!m_batchTimer.isActive()) m_batchTimer.start();
}

void RequestTableModel::mergeNewer(const QList<RequestRow> &rowsNewestFirst) {
    // Pages are newest first; queue oldest first so the ring stays ordered.
    for (auto it = rowsNewestFirst.crbegin(); it != rowsNewestFirst.crend(); ++it)
        if (!m_ids.contains(it->id)) enqueue(*it);
}

void RequestTableModel::flushPending() {
    m_batchTimer.stop();
    std::deque<RequestRow> fresh;
    QSet<QByteArray> seen;
    for (RequestRow &r : m_pending) {
        if (m_ids.contains(r.id) || seen.contains(r.id)) continue;
        seen.insert(r.id);
        fresh.push_front(std::move(r));  // newest first
    }
    m_pending.clear();
    if (fresh.empty()) return;
    while (int(fresh.size()) > m_maxRows) fresh.pop_back();
    const int n = int(fresh.size());
    beginInsertRows({}, 0, n - 1);
    for (auto it = fresh.rbegin(); it != fresh.rend(); ++it) {
        m_ids.insert(it->id);
        m_rows.push_front(std::move(*it));
    }
    endInsertRows();
    evictOverflow();
    Q_EMIT rowsArrived(n);
}

void RequestTableModel::evictOverflow() {
    const int overflow = int(m_rows.size()) - m_maxRows;
    if (overflow <= 0) return;
    const int first = m_maxRows;
    beginRemoveRows({}, first, int(m_rows.size()) - 1);
    for (int i = 0; i < overflow; ++i) {
        m_ids.remove(m_rows.back().id);
        m_rows.pop_back();
    }
    endRemoveRows();
}

void RequestFilterProxy::setAppFilter(const QString &app) {
    m_app = app;
    invalidateFilter();
}

void RequestFilterProxy::setOutcomeFilter(OutcomeFilter f) {
    m_outcome = f;
    invalidateFilter();
}

void RequestFilterProxy::setSearchText(const QString &text) {
    m_search = text.trimmed();
    invalidateFilter();
}

bool RequestFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex &) const {
    const auto *model = static_cast<const RequestTableModel *>(sourceModel());
    const RequestRow &r = model->row(sourceRow);
    if (!m_app.isEmpty() && r.app != m_app) return false;
    switch (m_outcome) {
        case OutcomeFilter::All:
            break;
        case OutcomeFilter::Ok:
            if (r.outcome != QLatin1String("ok")) return false;
            break;
        case OutcomeFilter::Refused:
            if (!r.isRefusal()) return false;
            break;
        case OutcomeFilter::Errors:
            if (r.outcome == QLatin1String("ok") || r.isRefusal()) return false;
            break;
    }
    if (m_search.isEmpty()) return true;
    for (const QString *field :
         {&r.app, &r.provider, &r.model, &r.outcome, &r.error, &r.rule, &r.endpoint})
        if (field->contains(m_search, Qt::CaseInsensitive)) return true;
    return QString::fromLatin1(r.id).contains(m_search, Qt::CaseInsensitive) ||
           QString::number(r.status) == m_search;
}

bool RequestFilterProxy::lessThan(const QModelIndex &left, const QModelIndex &right) const {
    const auto *model = static_cast<const RequestTableModel *>(sourceModel());
    const RequestRow &a = model->row(left.row());
    const RequestRow &b = model->row(right.row());
    switch (left.column()) {
        case RequestTableModel::Time:
            return a.tsMs < b.tsMs;
        case RequestTableModel::Status:
            return a.status < b.status;
        case RequestTableModel::InputTokens:
            return a.inputTokens < b.inputTokens;
        case RequestTableModel::OutputTokens:
            return a.outputTokens < b.outputTokens;
        case RequestTableModel::Cost:
            return a.costUsd < b.costUsd;
        case RequestTableModel::Latency:
            return a.latencyMs < b.latencyMs;
        default:
            return QSortFilterProxyModel::lessThan(left, right);
    }
}

}  // namespace airlock
