// A user-requested, time-limited pause of TLS interception (tray menu, `airlockctl pause`): while
// it lasts, CONNECT to AI hosts is tunnelled blind. Held in memory only; a restart ends it.
#pragma once

#include <QObject>
#include <QString>
#include <QTimer>

namespace airlock {

class EventBus;
class PolicyEngine;

class InterceptionPause : public QObject {
    Q_OBJECT
public:
    // Without a policy, a pause may last this long.
    static constexpr int kUnmanagedMaxMinutes = 60;

    // What the policy in force permits right now: maxMinutes 0 forbids pausing, and then
    // `reason` says why in words a person can act on.
    struct Allowance {
        int maxMinutes = 0;
        QString reason;
    };

    // The outcome of a pause or resume request; httpStatus is what the local API answers.
    struct Result {
        bool ok = false;
        int httpStatus = 200;
        QString error;
        int minutes = 0;  // granted (after capping to the allowance)
        bool capped = false;
        qint64 untilMs = 0;  // 0: not paused
    };

    InterceptionPause(PolicyEngine *policy, EventBus *events, QObject *parent = nullptr);

    Allowance allowance() const;
    // minutes > 0 starts (or replaces) a pause, capped to the allowance; 0 resumes.
    Result request(int minutes, const QString &requestedBy);
    void resume(const QString &why);

    // True while a pause runs and the policy still permits one (a newer bundle that forbids
    // pausing ends it at the next CONNECT rather than waiting for the timer).
    bool isPaused() const;
    qint64 pausedUntilMs() const { return isPaused() ? m_untilMs : 0; }

    // Tests only: how long a "minute" lasts, so that expiry can be observed in a test's time.
    static void setMillisecondsPerMinuteForTests(int ms);

private:
    void expire();
    void notify(const QString &state, const QString &why, int minutes);

    PolicyEngine *m_policy;
    EventBus *m_events;
    QTimer m_timer;  // single shot, armed only while paused
    qint64 m_untilMs = 0;
};

}  // namespace airlock
