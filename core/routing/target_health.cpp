#include "core/routing/target_health.h"

#include <algorithm>

namespace airlock {

const char *circuitStateName(CircuitState state) {
    switch (state) {
        case CircuitState::Closed:
            return "closed";
        case CircuitState::Open:
            return "open";
        case CircuitState::HalfOpen:
            return "half_open";
    }
    return "closed";
}

CircuitState TargetHealth::state(qint64 nowMs) const {
    if (!m_open) return CircuitState::Closed;
    return nowMs < m_cooldownUntilMs ? CircuitState::Open : CircuitState::HalfOpen;
}

bool TargetHealth::available(qint64 nowMs) const {
    if (nowMs < m_cooldownUntilMs) return false;
    return !m_open || !m_trialInFlight;
}

void TargetHealth::begin(qint64 nowMs) {
    ++m_inFlight;
    ++m_requests;
    if (m_open && nowMs >= m_cooldownUntilMs) m_trialInFlight = true;
}

TargetHealth::Transition TargetHealth::succeed(double latencyMs, double ttftMs, qint64 nowMs) {
    Transition t;
    t.from = state(nowMs);
    m_inFlight = std::max(0, m_inFlight - 1);
    const double ttft = ttftMs >= 0 ? ttftMs : latencyMs;
    if (m_samples == 0) {
        m_latencyMs = latencyMs;
        m_ttftMs = ttft;
    } else {
        m_latencyMs += kEwmaAlpha * (latencyMs - m_latencyMs);
        m_ttftMs += kEwmaAlpha * (ttft - m_ttftMs);
    }
    ++m_samples;
    m_errorRate *= 1 - kEwmaAlpha;
    m_consecutiveFailures = 0;
    m_open = false;
    m_trialInFlight = false;
    t.to = CircuitState::Closed;
    t.changed = t.from != t.to;
    return t;
}

TargetHealth::Transition TargetHealth::fail(qint64 nowMs, int failureThreshold, int cooldownMs,
                                            qint64 retryAfterMs) {
    Transition t;
    t.from = state(nowMs);
    m_inFlight = std::max(0, m_inFlight - 1);
    ++m_failures;
    m_errorRate += kEwmaAlpha * (1 - m_errorRate);
    ++m_consecutiveFailures;
    const bool trialFailed = m_open && m_trialInFlight;
    m_trialInFlight = false;
    if (trialFailed || (!m_open && m_consecutiveFailures >= std::max(1, failureThreshold))) {
        m_open = true;
        m_cooldownUntilMs = std::max(m_cooldownUntilMs, nowMs + cooldownMs);
    }
    if (retryAfterMs > 0) m_cooldownUntilMs = std::max(m_cooldownUntilMs, nowMs + retryAfterMs);
    t.to = state(nowMs);
    t.changed = t.from != t.to;
    return t;
}

void TargetHealth::abandon() {
    m_inFlight = std::max(0, m_inFlight - 1);
    m_trialInFlight = false;
}

}  // namespace airlock
