#include "core/proxy/interception_pause.h"

#include "core/api/event_bus.h"
#include "core/policy/policy_enforcer.h"

#include <QDateTime>
#include <QJsonObject>
#include <atomic>

namespace airlock {

namespace {

constexpr qint64 kMsPerMinute = 60'000;
std::atomic<int> g_msPerMinute{int(kMsPerMinute)};

qint64 nowMs() {
    return QDateTime::currentMSecsSinceEpoch();
}

QString isoUtc(qint64 ms) {
    return QDateTime::fromMSecsSinceEpoch(ms).toUTC().toString(Qt::ISODateWithMs);
}

}  // namespace

InterceptionPause::InterceptionPause(PolicyEngine *policy, EventBus *events, QObject *parent)
    : QObject(parent), m_policy(policy), m_events(events) {
    m_timer.setSingleShot(true);
    m_timer.setTimerType(Qt::CoarseTimer);
    connect(&m_timer, &QTimer::timeout, this, &InterceptionPause::expire);
}

void InterceptionPause::setMillisecondsPerMinuteForTests(int ms) {
    g_msPerMinute = ms > 0 ? ms : int(kMsPerMinute);
}

InterceptionPause::Allowance InterceptionPause::allowance() const {
    if (!m_policy) return {kUnmanagedMaxMinutes, QString()};
    const auto *enforcer = dynamic_cast<const PolicyEnforcer *>(m_policy);
    const Profile *profile = enforcer ? enforcer->deviceProfile() : nullptr;
    if (!profile)
        return {0, QStringLiteral("Pausing interception is not available until this device has "
                                  "received its policy; try again once `airlockctl policy` "
                                  "shows it as active")};
    if (profile->allowPauseMinutes <= 0)
        return {0, QStringLiteral("Your organisation's policy (profile '%1') does not allow "
                                  "pausing interception; ask your administrator to set "
                                  "allow_pause_minutes for this profile")
                       .arg(profile->name)};
    return {profile->allowPauseMinutes, QString()};
}

bool InterceptionPause::isPaused() const {
    return m_untilMs > nowMs() && allowance().maxMinutes > 0;
}

InterceptionPause::Result InterceptionPause::request(int minutes, const QString &requestedBy) {
    Result r;
    if (minutes < 0 || minutes > kMaxAllowPauseMinutes) {
        r.httpStatus = 400;
        r.error = QStringLiteral("minutes must be 0 (resume) to %1").arg(kMaxAllowPauseMinutes);
        return r;
    }
    if (minutes == 0) {
        if (m_untilMs != 0) resume(QStringLiteral("resumed by ") + requestedBy);
        r.ok = true;
        return r;
    }
    const Allowance a = allowance();
    if (a.maxMinutes <= 0) {
        r.httpStatus = 403;
        r.error = a.reason;
        return r;
    }
    r.capped = minutes > a.maxMinutes;
    r.minutes = qMin(minutes, a.maxMinutes);
    const qint64 durationMs = qint64(r.minutes) * g_msPerMinute.load();
    m_untilMs = nowMs() + durationMs;
    // One single-shot timer per pause; a new request replaces the running one.
    m_timer.start(std::chrono::milliseconds(durationMs));
    r.ok = true;
    r.untilMs = m_untilMs;
    qInfo("airlockd: TLS interception paused until %s (%d min, by %s)",
          qPrintable(isoUtc(m_untilMs)), r.minutes, qPrintable(requestedBy));
    notify(QStringLiteral("paused"), QStringLiteral("paused by ") + requestedBy, r.minutes);
    return r;
}

void InterceptionPause::resume(const QString &why) {
    m_timer.stop();
    if (m_untilMs == 0) return;
    m_untilMs = 0;
    qInfo("airlockd: TLS interception resumed (%s)", qPrintable(why));
    notify(QStringLiteral("resumed"), why, 0);
}

void InterceptionPause::expire() {
    resume(QStringLiteral("the pause ran out"));
}

void InterceptionPause::notify(const QString &state, const QString &why, int minutes) {
    if (!m_events) return;
    QJsonObject o{{QStringLiteral("state"), state}, {QStringLiteral("reason"), why}};
    if (m_untilMs != 0) {
        o.insert(QStringLiteral("paused_until"), isoUtc(m_untilMs));
        o.insert(QStringLiteral("minutes"), minutes);
        o.insert(QStringLiteral("message"),
                 QStringLiteral("TLS interception is paused for %1 minute(s) (%2); base-URL "
                                "traffic is still proxied")
                     .arg(minutes)
                     .arg(why));
    } else {
        o.insert(QStringLiteral("message"),
                 QStringLiteral("TLS interception is on again (%1)").arg(why));
    }
    m_events->notify("pause", o);
}

}  // namespace airlock
