#include "core/limits/rate_limiter.h"

#include <QElapsedTimer>

namespace airlock {

namespace {
int ceilSeconds(qint64 ms) {
    return int(qMax<qint64>(1, (ms + 999) / 1000));
}
}  // namespace

RateLimiter::RateLimiter(Clock clock) : m_clock(std::move(clock)) {
    if (!m_clock) {
        auto timer = std::make_shared<QElapsedTimer>();
        timer->start();
        m_clock = [timer] { return timer->elapsed(); };
    }
}

void RateLimiter::prune(Window &w, qint64 now) {
    while (!w.requests.empty() && w.requests.front() <= now - kWindowMs) w.requests.pop_front();
    while (!w.tokens.empty() && w.tokens.front().tsMs <= now - kWindowMs) {
        w.tokenSum -= w.tokens.front().tokens;
        w.tokens.pop_front();
    }
}

RateLimiter::Check RateLimiter::checkOne(Window &w, const RateLimitRule &rule,
                                         qint64 estimatedTokens, qint64 now) const {
    Check c;
    if (rule.concurrent > 0 && w.inFlight >= rule.concurrent) {
        c.allowed = false;
        c.limit = QStringLiteral("concurrent");
        c.retryAfterSeconds = 1;
        return c;
    }
    if (rule.rpm > 0 && qint64(w.requests.size()) >= rule.rpm) {
        c.allowed = false;
        c.limit = QStringLiteral("rpm");
        // The oldest request that must leave the window for one more to fit.
        const qint64 leaves = w.requests[w.requests.size() - size_t(rule.rpm)] + kWindowMs;
        c.retryAfterSeconds = ceilSeconds(leaves - now);
        return c;
    }
    // A request larger than the whole per-minute allowance still passes on an empty window.
    if (rule.tpm > 0 && w.tokenSum > 0 && w.tokenSum + estimatedTokens > rule.tpm) {
        c.allowed = false;
        c.limit = QStringLiteral("tpm");
        qint64 sum = w.tokenSum;
        qint64 at = now + kWindowMs;
        for (const TokenEntry &e : w.tokens) {
            sum -= e.tokens;
            if (sum + estimatedTokens <= rule.tpm || sum <= 0) {
                at = e.tsMs + kWindowMs;
                break;
            }
        }
        c.retryAfterSeconds = ceilSeconds(at - now);
        return c;
    }
    return c;
}

RateLimiter::Check RateLimiter::acquire(const QByteArray &requestId, const QList<Slot> &windowSlots,
                                        qint64 estimatedTokens) {
    std::lock_guard lock(m_mutex);
    const qint64 now = m_clock();
    for (const Slot &s : windowSlots) {
        Window &w = m_windows[s.key];
        prune(w, now);
        const Check c = checkOne(w, *s.rule, estimatedTokens, now);
        if (!c.allowed) return c;
    }
    QList<Held> held;
    for (const Slot &s : windowSlots) {
        Window &w = m_windows[s.key];
        w.requests.push_back(now);
        const quint64 serial = ++m_serial;
        w.tokens.push_back(TokenEntry{now, estimatedTokens, serial});
        w.tokenSum += estimatedTokens;
        ++w.inFlight;
        held.append(Held{s.key, serial});
    }
    if (!held.isEmpty()) m_held.insert(requestId, held);
    return {};
}

void RateLimiter::release(const QByteArray &requestId, qint64 actualTokens) {
    std::lock_guard lock(m_mutex);
    const auto it = m_held.find(requestId);
    if (it == m_held.end()) return;  // never acquired (refused, or evaluated by no rule)
    for (const Held &h : *it) {
        auto wit = m_windows.find(h.key);
        if (wit == m_windows.end()) continue;
        Window &w = *wit;
        if (w.inFlight > 0) --w.inFlight;
        for (auto e = w.tokens.rbegin(); e != w.tokens.rend(); ++e) {
            if (e->serial != h.serial) continue;
            w.tokenSum += actualTokens - e->tokens;
            e->tokens = actualTokens;
            break;
        }
    }
    m_held.erase(it);
}

int RateLimiter::inFlight(const QString &key) const {
    std::lock_guard lock(m_mutex);
    return m_windows.value(key).inFlight;
}

}  // namespace airlock
