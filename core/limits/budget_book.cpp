#include "core/limits/budget_book.h"

#include <algorithm>

namespace airlock {

namespace {

// Spend older than the longest period (a month) plus slack is dropped.
constexpr int kKeepDays = 40;

bool covers(const BudgetRule &rule, const QString &ruleApp, const QString &app,
            const QString &model) {
    if (!rule.deviceScope && ruleApp != app) return false;
    return rule.models.isEmpty() || anyGlobMatches(rule.models, model);
}

QString ruleLabel(const BudgetRule &r, const char *unit) {
    return QStringLiteral("budget:%1:%2").arg(r.period, QLatin1String(unit));
}

QString periodWord(const QString &p) {
    return p == QLatin1String("day")    ? QStringLiteral("daily")
           : p == QLatin1String("week") ? QStringLiteral("weekly")
                                        : QStringLiteral("monthly");
}

}  // namespace

BudgetBook::BudgetBook(Clock clock) : m_clock(std::move(clock)) {}

// Every request asks for "today": the system clock path avoids a local-time conversion each time.
QDate BudgetBook::todayLocked() const {
    return m_clock ? m_clock().date() : m_days.dayOf(QDateTime::currentMSecsSinceEpoch());
}

QDateTime BudgetBook::nowLocked() const {
    return m_clock ? m_clock() : QDateTime::currentDateTime();
}

QDate BudgetBook::periodStart(const QString &period, const QDate &today) {
    if (period == QLatin1String("week")) return today.addDays(1 - today.dayOfWeek());  // Monday
    if (period == QLatin1String("month")) return QDate(today.year(), today.month(), 1);
    return today;
}

QDate BudgetBook::periodEnd(const QString &period, const QDate &today) {
    if (period == QLatin1String("week")) return periodStart(period, today).addDays(7);
    if (period == QLatin1String("month")) return periodStart(period, today).addMonths(1);
    return today.addDays(1);
}

BudgetBook::Spend BudgetBook::spentLocked(const BudgetRule &rule, const QString &app,
                                          const QDate &today) const {
    const QDate from = periodStart(rule.period, today);
    Spend s;
    auto add = [&](const Entry &e) {
        if (e.day < from || !covers(rule, app, e.app, e.model)) return;
        s.usd += e.spend.usd;
        s.tokens += e.spend.tokens;
    };
    for (const Entry &e : m_spent) add(e);
    for (const Reservation &r : m_reserved) add(r.entry);
    return s;
}

void BudgetBook::pruneLocked(const QDate &today) {
    if (m_lastPrune == today) return;
    m_lastPrune = today;
    const QDate cutoff = today.addDays(-kKeepDays);
    for (auto it = m_spent.begin(); it != m_spent.end();) {
        if (it->day < cutoff)
            it = m_spent.erase(it);
        else
            ++it;
    }
}

BudgetBook::Decision BudgetBook::reserve(const QByteArray &requestId, const Profile &profile,
                                         const QString &app, const QString &model,
                                         double estimatedUsd, qint64 estimatedTokens,
                                         bool monitor) {
    Decision d;
    std::lock_guard lock(m_mutex);
    const QDate today = todayLocked();
    pruneLocked(today);
    for (qsizetype i = 0; i < profile.budgets.size(); ++i) {
        const BudgetRule &r = profile.budgets[i];
        if (!r.models.isEmpty() && !anyGlobMatches(r.models, model)) continue;
        const Spend s = spentLocked(r, app, today);
        // Texts and the reset time are built only when a budget refuses or warns.
        const auto who = [&] {
            return r.deviceScope ? QStringLiteral("this device")
                                 : QStringLiteral("app %1").arg(app);
        };
        auto refuse = [&](const char *unit, const QString &detail) {
            if (!d.allowed) return;
            const QDateTime resets = periodEnd(r.period, today).startOfDay();
            d.allowed = false;
            d.rule = ruleLabel(r, unit);
            d.retryAfterSeconds = int(qBound<qint64>(1, nowLocked().secsTo(resets), 31LL * 86400));
            d.message =
                QStringLiteral(
                    "The %1 budget of %2 is used up (%3; profile %4). It resets at %5 local "
                    "time; ask your administrator to raise it.")
                    .arg(periodWord(r.period), who(), detail, profile.name,
                         resets.toString(QStringLiteral("yyyy-MM-dd HH:mm")));
        };
        if (r.usd > 0 && s.usd + estimatedUsd > r.usd)
            refuse("usd",
                   QStringLiteral("$%1 spent or reserved of $%2, this request needs about $%3")
                       .arg(s.usd, 0, 'f', 4)
                       .arg(r.usd, 0, 'f', 2)
                       .arg(estimatedUsd, 0, 'f', 4));
        if (r.tokens > 0 && s.tokens + estimatedTokens > r.tokens)
            refuse("tokens",
                   QStringLiteral("%1 tokens spent or reserved of %2, this request needs about %3")
                       .arg(s.tokens)
                       .arg(r.tokens)
                       .arg(estimatedTokens));
        if (r.warnAt > 0) {
            const double fracUsd = r.usd > 0 ? (s.usd + estimatedUsd) / r.usd : 0;
            const double fracTok =
                r.tokens > 0 ? double(s.tokens + estimatedTokens) / double(r.tokens) : 0;
            const double frac = qMax(fracUsd, fracTok);
            if (frac >= r.warnAt) {
                const QString text = QStringLiteral("%1 budget of %2 at %3% (warn at %4%)")
                                         .arg(periodWord(r.period), who())
                                         .arg(qRound(frac * 100))
                                         .arg(qRound(r.warnAt * 100));
                d.warnings.append(text);
                const QString key = QStringLiteral("%1|%2|%3|%4")
                                        .arg(profile.name)
                                        .arg(i)
                                        .arg(r.deviceScope ? QStringLiteral("device") : app)
                                        .arg(periodStart(r.period, today).toString(Qt::ISODate));
                if (!m_warned.contains(key)) {
                    m_warned.insert(key);
                    d.newWarnings.append(QJsonObject{
                        {QStringLiteral("profile"), profile.name},
                        {QStringLiteral("scope"),
                         r.deviceScope ? QStringLiteral("device") : QStringLiteral("app")},
                        {QStringLiteral("app"), r.deviceScope ? QString() : app},
                        {QStringLiteral("period"), r.period},
                        {QStringLiteral("fraction"), frac},
                        {QStringLiteral("warn_at"), r.warnAt},
                        {QStringLiteral("message"), text}});
                }
            }
        }
    }
    if (!d.allowed && monitor) {
        d.allowed = true;
        d.rule = QStringLiteral("monitor:") + d.rule;
    }
    if (d.allowed && !profile.budgets.isEmpty()) {
        Reservation r{requestId, Entry{today, app, model, Spend{estimatedUsd, estimatedTokens}}};
        const auto same = reservationLocked(requestId);
        if (same != m_reserved.end())
            *same = std::move(r);  // a request decided again holds one reservation
        else
            m_reserved.push_back(std::move(r));
    }
    return d;
}

void BudgetBook::settle(const QByteArray &requestId, qint64 tsMs, const QString &app,
                        const QString &model, double usd, qint64 tokens) {
    std::lock_guard lock(m_mutex);
    const auto it = reservationLocked(requestId);
    if (it != m_reserved.end()) {
        if (it != m_reserved.end() - 1) *it = std::move(m_reserved.back());
        m_reserved.pop_back();
    }
    if (usd <= 0 && tokens <= 0) return;
    addSpentLocked(tsMs > 0 ? m_days.dayOf(tsMs) : todayLocked(), app, model, usd, tokens);
}

void BudgetBook::addHistory(const QDate &day, const QString &app, const QString &model, double usd,
                            qint64 tokens) {
    std::lock_guard lock(m_mutex);
    addSpentLocked(day, app, model, usd, tokens);
}

std::vector<BudgetBook::Reservation>::iterator BudgetBook::reservationLocked(
    const QByteArray &requestId) {
    return std::find_if(m_reserved.begin(), m_reserved.end(),
                        [&](const Reservation &r) { return r.requestId == requestId; });
}

void BudgetBook::addSpentLocked(const QDate &day, const QString &app, const QString &model,
                                double usd, qint64 tokens) {
    QString key;
    key.reserve(12 + app.size() + model.size());
    key += QString::number(day.toJulianDay());
    key += QLatin1Char('|');
    key += app;
    key += QLatin1Char('|');
    key += model;
    Entry &e = m_spent[key];
    e.day = day;
    e.app = app;
    e.model = model;
    e.spend.usd += usd;
    e.spend.tokens += tokens;
}

QStringList BudgetBook::knownApps() const {
    std::lock_guard lock(m_mutex);
    QSet<QString> apps;
    for (const Entry &e : m_spent) apps.insert(e.app);
    for (const Reservation &r : m_reserved) apps.insert(r.entry.app);
    QStringList list(apps.begin(), apps.end());
    list.sort();
    return list;
}

QList<BudgetBook::Status> BudgetBook::status(const Profile &profile,
                                             const QStringList &apps) const {
    std::lock_guard lock(m_mutex);
    const QDate today = todayLocked();
    QList<Status> out;
    for (const BudgetRule &r : profile.budgets) {
        const QStringList whom = r.deviceScope ? QStringList{QString()} : apps;
        for (const QString &app : whom) {
            const Spend s = spentLocked(r, app, today);
            Status st;
            st.profile = profile.name;
            st.scope = r.deviceScope ? QStringLiteral("device") : QStringLiteral("app");
            st.app = app;
            st.period = r.period;
            st.models = r.models;
            st.limitUsd = r.usd;
            st.spentUsd = s.usd;
            st.limitTokens = r.tokens;
            st.spentTokens = s.tokens;
            st.warnAt = r.warnAt;
            const double frac = qMax(r.usd > 0 ? s.usd / r.usd : 0.0,
                                     r.tokens > 0 ? double(s.tokens) / double(r.tokens) : 0.0);
            st.state = frac >= 1                            ? QStringLiteral("exhausted")
                       : (r.warnAt > 0 && frac >= r.warnAt) ? QStringLiteral("warn")
                                                            : QStringLiteral("ok");
            st.resetsAt = periodEnd(r.period, today).startOfDay();
            out.append(st);
        }
    }
    return out;
}

}  // namespace airlock
