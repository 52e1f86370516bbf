// Prometheus counters and histograms for /metrics, fed with every ledger record. Label sets
// are bounded so a misbehaving client cannot grow memory without limit.
#pragma once

#include "core/store/usage_record.h"

#include <QByteArray>
#include <QHash>
#include <array>

namespace airlock {

class Metrics {
public:
    static constexpr int kMaxLabelSets = 2000;
    static constexpr std::array<double, 14> kLatencyBucketsS = {
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
    static constexpr std::array<double, 10> kOverheadBucketsS = {
        25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 50e-3};

    void record(const UsageRecord &r);
    void recordOverhead(double seconds);
    void connectionOpened() { ++m_connectionsTotal; ++m_connectionsOpen; }
    void connectionClosed() { --m_connectionsOpen; }
    qint64 requestsTotal() const { return m_requestsTotal; }
    qint64 openConnections() const { return m_connectionsOpen; }
    // Prometheus text exposition format 0.0.4.
    QByteArray render(qint64 idleUpstreams, qint64 activeUpstreams) const;

private:
    struct Key {
        QString provider, model, app;
        bool operator==(const Key &o) const = default;
    };
    friend size_t qHash(const Key &k, size_t seed) { return qHashMulti(seed, k.provider, k.model, k.app); }
    struct Series {
        QHash<QString, qint64> requestsByOutcome;
        qint64 inputTokens = 0, outputTokens = 0, cachedTokens = 0;
        double costUsd = 0;
        std::array<qint64, kLatencyBucketsS.size() + 1> latency{};
        double latencySum = 0;
        qint64 latencyCount = 0;
    };
    Series &seriesFor(const UsageRecord &r);

    QHash<Key, Series> m_series;
    std::array<qint64, kOverheadBucketsS.size() + 1> m_overhead{};
    double m_overheadSum = 0;
    qint64 m_overheadCount = 0;
    qint64 m_requestsTotal = 0;
    qint64 m_connectionsTotal = 0;
    qint64 m_connectionsOpen = 0;
};

}  // namespace airlock
