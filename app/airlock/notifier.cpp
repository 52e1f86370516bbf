#include "app/airlock/notifier.h"

#include "app/airlock/request_model.h"

#include <QDateTime>

namespace airlock {

Notifier::Notifier(QObject *parent) : QObject(parent) {
    m_blockedTimer.setSingleShot(true);
    connect(&m_blockedTimer, &QTimer::timeout, this, &Notifier::flushBlocked);
}

void Notifier::onRequest(const RequestRow &row) {
    if (!row.isRefusal()) return;
    m_lastRefusalMs = QDateTime::currentMSecsSinceEpoch();
    if (!m_sinceLastBlocked.isValid() || m_sinceLastBlocked.elapsed() >= m_blockedWindowMs) {
        m_sinceLastBlocked.start();
        QString why = row.error.isEmpty() ? row.outcome : row.error;
        Q_EMIT notificationRaised(
            Kind::Blocked, tr("Request refused for %1").arg(row.app),
            tr("%1 (%2): %3")
                .arg(row.model.isEmpty() ? tr("unknown model") : row.model, row.outcome, why));
        return;
    }
    // Inside the window: count, and say how many at the end of it.
    ++m_suppressedBlocked;
    m_lastBlockedApp = row.app;
    if (!m_blockedTimer.isActive())
        m_blockedTimer.start(std::max<qint64>(0, m_blockedWindowMs - m_sinceLastBlocked.elapsed()));
}

void Notifier::flushBlocked() {
    if (m_suppressedBlocked == 0) return;
    const int n = m_suppressedBlocked;
    m_suppressedBlocked = 0;
    m_sinceLastBlocked.start();
    Q_EMIT notificationRaised(
        Kind::Blocked, tr("%n more request(s) refused", nullptr, n),
        tr("The latest from %1. See Requests in the dashboard.").arg(m_lastBlockedApp));
}

QString Notifier::describeBudget(const QJsonObject &d) {
    const QString message = d.value(QStringLiteral("message")).toString();
    if (!message.isEmpty()) return message;
    const QString period = d.value(QStringLiteral("period")).toString(QStringLiteral("period"));
    QString who = d.value(QStringLiteral("app")).toString();
    if (who.isEmpty())
        who = d.value(QStringLiteral("scope")).toString() == QLatin1String("device")
                  ? tr("this device")
                  : tr("an app");
    double fraction = d.value(QStringLiteral("fraction")).toDouble(-1);
    const double used =
        d.value(QStringLiteral("used_usd")).toDouble(d.value(QStringLiteral("used")).toDouble(-1));
    const double limit =
        d.value(QStringLiteral("limit_usd"))
            .toDouble(d.value(QStringLiteral("usd"))
                          .toDouble(d.value(QStringLiteral("limit")).toDouble(-1)));
    if (fraction < 0 && used >= 0 && limit > 0) fraction = used / limit;
    QString text = tr("The %1 budget for %2").arg(period, who);
    if (fraction >= 0)
        text += tr(" is at %1%").arg(qRound(fraction * 100));
    else
        text += tr(" crossed a threshold");
    if (used >= 0 && limit > 0) text += tr(" (%1 of %2)").arg(formatUsd(used), formatUsd(limit));
    return text + QLatin1Char('.');
}

void Notifier::onNotice(const QString &type, const QJsonObject &data) {
    if (type == QLatin1String("budget")) {
        const QString level = data.value(QStringLiteral("level")).toString();
        const bool exceeded = level == QLatin1String("exceeded") ||
                              level == QLatin1String("exhausted") ||
                              data.value(QStringLiteral("exceeded")).toBool();
        Q_EMIT notificationRaised(
            Kind::Budget, exceeded ? tr("Budget exhausted") : tr("Budget threshold reached"),
            describeBudget(data));
    } else if (type == QLatin1String("policy")) {
        const QJsonValue version = data.value(QStringLiteral("version"));
        const QString v =
            version.isDouble() ? QString::number(version.toInteger()) : version.toString();
        QString body = data.value(QStringLiteral("message")).toString();
        if (body.isEmpty())
            body = v.isEmpty() ? tr("The policy in force has changed.")
                               : tr("Policy version %1 is now in force.").arg(v);
        Q_EMIT notificationRaised(Kind::Policy, tr("Policy changed"), body);
    } else if (type == QLatin1String("pause")) {
        // The daemon says what happened ("paused for 10 minutes", "the pause ran out").
        const bool paused =
            data.value(QStringLiteral("state")).toString() == QLatin1String("paused");
        QString body = data.value(QStringLiteral("message")).toString();
        if (body.isEmpty())
            body =
                paused ? tr("HTTPS interception is paused.") : tr("HTTPS interception is back on.");
        Q_EMIT notificationRaised(
            Kind::Policy, paused ? tr("Interception paused") : tr("Interception resumed"), body);
    }
}

void Notifier::onDaemonDown(const QString &why) {
    Q_EMIT notificationRaised(Kind::Daemon, tr("Airlock proxy is not running"), why);
}

}  // namespace airlock
