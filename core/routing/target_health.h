// Passive health of one routing target: latency/TTFT averages, error rate, in-flight count and a
// circuit breaker (closed -> open after consecutive failures -> half-open trial -> closed).
#pragma once

#include <QtGlobal>

namespace airlock {

enum class CircuitState { Closed, Open, HalfOpen };

const char *circuitStateName(CircuitState state);

class TargetHealth {
public:
    // Smoothing factor of the moving averages: a new sample weighs this much.
    static constexpr double kEwmaAlpha = 0.3;

    struct Transition {
        bool changed = false;
        CircuitState from = CircuitState::Closed;
        CircuitState to = CircuitState::Closed;
    };

    // May a request go to this target now? Open circuits become half-open after their cooldown,
    // and a half-open circuit admits one trial request at a time.
    bool available(qint64 nowMs) const;
    CircuitState state(qint64 nowMs) const;
    // An attempt starts (counts in-flight; claims the half-open trial slot).
    void begin(qint64 nowMs);
    Transition succeed(double latencyMs, double ttftMs, qint64 nowMs);
    // retryAfterMs > 0: the target asked to be left alone that long (429 Retry-After).
    Transition fail(qint64 nowMs, int failureThreshold, int cooldownMs, qint64 retryAfterMs = 0);
    // An attempt ended without a verdict on the target (client went away).
    void abandon();

    double ewmaLatencyMs() const { return m_latencyMs; }
    double ewmaTtftMs() const { return m_ttftMs; }
    double errorRate() const { return m_errorRate; }
    int inFlight() const { return m_inFlight; }
    qint64 requests() const { return m_requests; }
    qint64 failures() const { return m_failures; }
    qint64 samples() const { return m_samples; }
    qint64 cooldownUntilMs() const { return m_cooldownUntilMs; }
    qint64 lastPickSeq = 0;  // strategy bookkeeping: when the latency strategy last chose it

private:
    double m_latencyMs = 0;
    double m_ttftMs = 0;
    double m_errorRate = 0;
    qint64 m_samples = 0;
    qint64 m_requests = 0;
    qint64 m_failures = 0;
    int m_inFlight = 0;
    int m_consecutiveFailures = 0;
    bool m_open = false;  // tripped; half-open once the cooldown has passed
    bool m_trialInFlight = false;
    qint64 m_cooldownUntilMs = 0;  // no traffic before this (circuit cooldown or Retry-After)
};

}  // namespace airlock
