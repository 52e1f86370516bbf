// Spend per app/device/model for day/week/month budgets in local time. Estimates are reserved
// atomically before a request is forwarded, so parallel requests cannot overshoot a budget.
#pragma once

#include "core/limits/local_day.h"
#include "core/policy/policy_bundle.h"

#include <QDate>
#include <QDateTime>
#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QSet>
#include <QString>
#include <functional>
#include <mutex>
#include <vector>

namespace airlock {

class BudgetBook {
public:
    using Clock = std::function<QDateTime()>;  // local "now"; empty: the system clock
    explicit BudgetBook(Clock clock = {});

    struct Decision {
        bool allowed = true;
        QString message;  // for a refusal or a warning; never request content
        QString rule;     // e.g. "budget:day:usd"
        int retryAfterSeconds = -1;
        QStringList warnings;            // thresholds crossed (x-airlock-budget-warning)
        QList<QJsonObject> newWarnings;  // first crossing in this period: for the event bus
    };
    // Checks every budget of the profile that covers (app, model); when all allow, reserves the
    // estimate under `requestId` (to be settled). Monitor mode records but never refuses.
    Decision reserve(const QByteArray &requestId, const Profile &profile, const QString &app,
                     const QString &model, double estimatedUsd, qint64 estimatedTokens,
                     bool monitor);
    // Replaces the reservation (if any) by the real spend. Unknown ids still count the spend.
    void settle(const QByteArray &requestId, qint64 tsMs, const QString &app, const QString &model,
                double usd, qint64 tokens);
    // Spend that happened before this process started (from the ledger), per local day.
    void addHistory(const QDate &day, const QString &app, const QString &model, double usd,
                    qint64 tokens);

    struct Status {
        QString profile, scope, app, period;
        QStringList models;
        double limitUsd = -1, spentUsd = 0;
        qint64 limitTokens = -1, spentTokens = 0;
        double warnAt = -1;
        QString state;  // ok | warn | exhausted
        QDateTime resetsAt;
    };
    // Current standing of every budget of `profile` for each of `apps` (device scope once).
    QList<Status> status(const Profile &profile, const QStringList &apps) const;
    QStringList knownApps() const;

    static QDate periodStart(const QString &period, const QDate &today);
    static QDate periodEnd(const QString &period,
                           const QDate &today);  // first day of the next period

private:
    struct Spend {
        double usd = 0;
        qint64 tokens = 0;
    };
    struct Entry {
        QDate day;
        QString app;
        QString model;
        Spend spend;
    };
    struct Reservation {
        QByteArray requestId;
        Entry entry;
    };
    void addSpentLocked(const QDate &day, const QString &app, const QString &model, double usd,
                        qint64 tokens);
    std::vector<Reservation>::iterator reservationLocked(const QByteArray &requestId);
    Spend spentLocked(const BudgetRule &rule, const QString &app, const QDate &today) const;
    void pruneLocked(const QDate &today);
    QDate todayLocked() const;
    QDateTime nowLocked() const;

    Clock m_clock;
    mutable LocalDayCache m_days;  // guarded by m_mutex
    mutable std::mutex m_mutex;
    QHash<QString, Entry> m_spent;  // "day|app|model" -> settled spend
    // In-flight estimates: a vector, because every decision walks them all and a hash would be
    // walked at the size of its busiest moment; settling (a linear find) sees only as many.
    std::vector<Reservation> m_reserved;
    QSet<QString> m_warned;  // "profile|rule|scope|periodStart": notified once
    QDate m_lastPrune;
};

}  // namespace airlock
