#include "app/airlock/app_usage_model.h"

#include "app/airlock/request_model.h"

#include <QDateTime>
#include <QJsonObject>
#include <algorithm>

namespace airlock {

int AppUsageModel::rowCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : int(m_apps.size());
}

int AppUsageModel::columnCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant AppUsageModel::data(const QModelIndex &index, int role) const {
    if (!index.isValid() || index.row() >= m_apps.size()) return {};
    const AppUsage &a = m_apps[index.row()];
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
            case App:
                return a.app;
            case Requests:
                return formatTokens(a.requests);
            case InputTokens:
                return formatTokens(a.inputTokens);
            case OutputTokens:
                return formatTokens(a.outputTokens);
            case Cost:
                return formatUsd(a.costUsd);
            case Models:
                return a.models.join(QStringLiteral(", "));
            case LastSeen:
                return a.lastSeenMs > 0 ? QDateTime::fromMSecsSinceEpoch(a.lastSeenMs)
                                              .toString(QStringLiteral("yyyy-MM-dd HH:mm"))
                                        : QString();
            case Refused:
                return formatTokens(a.blocked);
        }
    } else if (role == SortRole) {
        switch (index.column()) {
            case App:
                return a.app;
            case Requests:
                return a.requests;
            case InputTokens:
                return a.inputTokens;
            case OutputTokens:
                return a.outputTokens;
            case Cost:
                return a.costUsd;
            case Models:
                return a.models.join(QLatin1Char(','));
            case LastSeen:
                return a.lastSeenMs;
            case Refused:
                return a.blocked;
        }
    } else if (role == Qt::TextAlignmentRole && index.column() != App && index.column() != Models) {
        return int(Qt::AlignRight | Qt::AlignVCenter);
    }
    return {};
}

QVariant AppUsageModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
        case App:
            return tr("App");
        case Requests:
            return tr("Requests");
        case InputTokens:
            return tr("In tokens");
        case OutputTokens:
            return tr("Out tokens");
        case Cost:
            return tr("Cost");
        case Models:
            return tr("Models used");
        case LastSeen:
            return tr("Last seen");
        case Refused:
            return tr("Refused");
    }
    return {};
}

void AppUsageModel::setUsageRows(const QJsonArray &rows) {
    QHash<QString, AppUsage> byApp;
    for (const QJsonValue &v : rows) {
        const QJsonObject o = v.toObject();
        const QString app = o.value(QStringLiteral("app")).toString(QStringLiteral("unknown"));
        AppUsage &a = byApp[app];
        a.app = app;
        a.requests += o.value(QStringLiteral("requests")).toInteger();
        a.inputTokens += o.value(QStringLiteral("input_tokens")).toInteger();
        a.outputTokens += o.value(QStringLiteral("output_tokens")).toInteger();
        a.costUsd += o.value(QStringLiteral("cost_usd")).toDouble();
        a.blocked += o.value(QStringLiteral("blocked")).toInteger();
        a.errors += o.value(QStringLiteral("errors")).toInteger();
        const QString model = o.value(QStringLiteral("model")).toString();
        if (!model.isEmpty() && !a.models.contains(model)) a.models.append(model);
    }
    beginResetModel();
    QHash<QString, qint64> lastSeen;
    for (const AppUsage &a : std::as_const(m_apps)) lastSeen.insert(a.app, a.lastSeenMs);
    m_apps = byApp.values();
    for (AppUsage &a : m_apps) {
        a.models.sort();
        a.lastSeenMs = lastSeen.value(a.app);
    }
    std::sort(m_apps.begin(), m_apps.end(), [](const AppUsage &x, const AppUsage &y) {
        if (x.costUsd != y.costUsd) return x.costUsd > y.costUsd;
        if (x.totalTokens() != y.totalTokens()) return x.totalTokens() > y.totalTokens();
        return x.app < y.app;
    });
    endResetModel();
}

void AppUsageModel::setLastSeen(const QString &app, qint64 ms) {
    for (int i = 0; i < m_apps.size(); ++i) {
        if (m_apps[i].app != app) continue;
        if (ms <= m_apps[i].lastSeenMs) return;
        m_apps[i].lastSeenMs = ms;
        Q_EMIT dataChanged(index(i, LastSeen), index(i, LastSeen));
        return;
    }
}

AppUsage AppUsageModel::totals() const {
    AppUsage t;
    for (const AppUsage &a : m_apps) {
        t.requests += a.requests;
        t.inputTokens += a.inputTokens;
        t.outputTokens += a.outputTokens;
        t.costUsd += a.costUsd;
        t.blocked += a.blocked;
    }
    return t;
}

}  // namespace airlock
