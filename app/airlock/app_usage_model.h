// Per-app totals for the Apps page and the Overview's top apps, built from /usage rows grouped
// by app and model, plus when each app was last seen.
#pragma once

#include <QAbstractTableModel>
#include <QHash>
#include <QJsonArray>
#include <QStringList>

namespace airlock {

struct AppUsage {
    QString app;
    qint64 requests = 0;
    qint64 inputTokens = 0;
    qint64 outputTokens = 0;
    double costUsd = 0;
    qint64 blocked = 0;
    qint64 errors = 0;
    QStringList models;
    qint64 lastSeenMs = 0;
    qint64 totalTokens() const { return inputTokens + outputTokens; }
};

class AppUsageModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        App,
        Requests,
        InputTokens,
        OutputTokens,
        Cost,
        Models,
        LastSeen,
        Refused,
        ColumnCount
    };
    static constexpr int SortRole = Qt::UserRole + 1;

    using QAbstractTableModel::QAbstractTableModel;
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    // rows: /usage rows grouped by at least "app" (and optionally "model").
    void setUsageRows(const QJsonArray &rows);
    void setLastSeen(const QString &app, qint64 ms);
    const QList<AppUsage> &apps() const { return m_apps; }  // sorted by cost, then tokens
    AppUsage totals() const;

private:
    QList<AppUsage> m_apps;
};

}  // namespace airlock
