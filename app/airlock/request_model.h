// The live request table: a bounded ring of ledger rows (newest first) fed by the initial
// /requests page and the events stream, with live rows batched on a coalescing timer.
#pragma once

#include <QAbstractTableModel>
#include <QJsonObject>
#include <QSet>
#include <QSortFilterProxyModel>
#include <QTimer>
#include <deque>

namespace airlock {

struct RequestRow {
    QByteArray id;
    qint64 tsMs = 0;
    QString app, provider, model, responseModel, format, endpoint, outcome, error, profile, rule;
    QString exe, userAgent;
    qint64 pid = -1;
    int status = 0;
    bool stream = false;
    qint64 inputTokens = 0, outputTokens = 0, cachedTokens = 0, reasoningTokens = 0;
    double costUsd = 0, latencyMs = 0, ttftMs = -1;
    qint64 bytesIn = 0, bytesOut = 0;

    static RequestRow fromJson(const QJsonObject &o);
    bool isRefusal() const;  // blocked by policy, a rate limit or a budget
};

class RequestTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        Time,
        App,
        Provider,
        Model,
        Outcome,
        Status,
        InputTokens,
        OutputTokens,
        Cost,
        Latency,
        ColumnCount
    };
    static constexpr int kDefaultMaxRows = 100'000;
    static constexpr int kBatchIntervalMs = 250;
    static constexpr int RowRole = Qt::UserRole + 1;

    explicit RequestTableModel(int maxRows = kDefaultMaxRows, QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    const RequestRow &row(int r) const { return m_rows[size_t(r)]; }
    // Replaces everything with a /requests page (newest first).
    void resetRows(const QList<RequestRow> &rowsNewestFirst);
    // Queues live rows; they show up in one insert per batch interval. Duplicates are ignored.
    void enqueue(RequestRow row);
    // Adds rows from a refetched page that are not yet shown (after a reconnect).
    void mergeNewer(const QList<RequestRow> &rowsNewestFirst);
    void flushPending();
    int pendingCount() const { return int(m_pending.size()); }
    int maxRows() const { return m_maxRows; }

Q_SIGNALS:
    void rowsArrived(int count);

private:
    void evictOverflow();
    int m_maxRows;
    std::deque<RequestRow> m_rows;     // index 0 = newest
    std::deque<RequestRow> m_pending;  // oldest first
    QSet<QByteArray> m_ids;
    QTimer m_batchTimer;
};

// Filters the request table by app, outcome class and a free-text search.
class RequestFilterProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    enum class OutcomeFilter { All, Ok, Refused, Errors };
    using QSortFilterProxyModel::QSortFilterProxyModel;
    void setAppFilter(const QString &app);
    void setOutcomeFilter(OutcomeFilter f);
    void setSearchText(const QString &text);

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;
    bool lessThan(const QModelIndex &left, const QModelIndex &right) const override;

private:
    QString m_app;
    OutcomeFilter m_outcome = OutcomeFilter::All;
    QString m_search;
};

QString formatTokens(qint64 n);
QString formatUsd(double usd);

}  // namespace airlock
