// Sliding-window rate limits (requests and tokens per minute) and concurrency caps, keyed by
// profile rule and app or device. Exact windows from an injectable monotonic clock: no drift, no
// resets.
#pragma once

#include "core/policy/policy_bundle.h"

#include <QHash>
#include <QList>
#include <QString>
#include <deque>
#include <functional>
#include <mutex>

namespace airlock {

class RateLimiter {
public:
    using Clock = std::function<qint64()>;  // monotonic milliseconds
    static constexpr qint64 kWindowMs = 60'000;

    explicit RateLimiter(Clock clock = {});

    struct Check {
        bool allowed = true;
        int retryAfterSeconds = 0;
        QString limit;  // "rpm", "tpm" or "concurrent" when refused
    };
    struct Slot {
        QString key;  // which window
        const RateLimitRule *rule = nullptr;
    };
    // Checks every slot and, only when all allow, records the request in all of them (atomic).
    Check acquire(const QByteArray &requestId, const QList<Slot> &windowSlots,
                  qint64 estimatedTokens);
    // The request ended: frees its concurrency slot and replaces its token estimate by the real
    // count.
    void release(const QByteArray &requestId, qint64 actualTokens);
    int inFlight(const QString &key) const;

private:
    struct TokenEntry {
        qint64 tsMs;
        qint64 tokens;
        quint64 serial;
    };
    struct Window {
        std::deque<qint64> requests;
        std::deque<TokenEntry> tokens;
        qint64 tokenSum = 0;
        int inFlight = 0;
    };
    struct Held {
        QString key;
        quint64 serial;
    };
    void prune(Window &w, qint64 now);
    Check checkOne(Window &w, const RateLimitRule &rule, qint64 estimatedTokens, qint64 now) const;

    Clock m_clock;
    mutable std::mutex m_mutex;
    QHash<QString, Window> m_windows;
    QHash<QByteArray, QList<Held>> m_held;
    quint64 m_serial = 0;
};

}  // namespace airlock
