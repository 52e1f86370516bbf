#include "core/api/metrics.h"

namespace airlock {

namespace {

QByteArray escapeLabel(const QString &v)
{
    QByteArray out = v.toUtf8();
    out.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    return out;
}

template <size_t N>
void observe(std::array<qint64, N + 1> &buckets, const std::array<double, N> &bounds, double v)
{
    size_t i = 0;
    while (i < N && v > bounds[i]) ++i;
    ++buckets[i];
}

template <size_t N>
void renderHistogram(QByteArray &out, const char *name, const QByteArray &labels,
                     const std::array<qint64, N + 1> &buckets, const std::array<double, N> &bounds,
                     double sum, qint64 count)
{
    const QByteArray sep = labels.isEmpty() ? QByteArray() : labels + ',';
    qint64 cumulative = 0;
    for (size_t i = 0; i < N; ++i) {
        cumulative += buckets[i];
        out += name + QByteArray("_bucket{") + sep + "le=\"" + QByteArray::number(bounds[i], 'g', 6) +
               "\"} " + QByteArray::number(cumulative) + '\n';
    }
    cumulative += buckets[N];
    out += name + QByteArray("_bucket{") + sep + "le=\"+Inf\"} " + QByteArray::number(cumulative) + '\n';
    const QByteArray braces = labels.isEmpty() ? QByteArray() : '{' + labels + '}';
    out += name + QByteArray("_sum") + braces + ' ' + QByteArray::number(sum, 'g', 12) + '\n';
    out += name + QByteArray("_count") + braces + ' ' + QByteArray::number(count) + '\n';
}

}  // namespace

Metrics::Series &Metrics::seriesFor(const UsageRecord &r)
{
    Key key{r.provider, r.model, r.app};
    auto it = m_series.find(key);
    if (it != m_series.end()) return *it;
    if (m_series.size() >= kMaxLabelSets) key = Key{QStringLiteral("other"), QStringLiteral("other"), QStringLiteral("other")};
    return m_series[key];
}

void Metrics::record(const UsageRecord &r)
{
    ++m_requestsTotal;
    Series &s = seriesFor(r);
    ++s.requestsByOutcome[r.outcome];
    s.inputTokens += r.inputTokens;
    s.outputTokens += r.outputTokens;
    s.cachedTokens += r.cachedTokens;
    s.costUsd += r.costUsd;
    const double latencyS = r.latencyMs / 1000.0;
    observe(s.latency, kLatencyBucketsS, latencyS);
    s.latencySum += latencyS;
    ++s.latencyCount;
}

void Metrics::recordOverhead(double seconds)
{
    observe(m_overhead, kOverheadBucketsS, seconds);
    m_overheadSum += seconds;
    ++m_overheadCount;
}

QByteArray Metrics::render(qint64 idleUpstreams, qint64 activeUpstreams) const
{
    QByteArray out;
    out.reserve(4096 + m_series.size() * 1024);
    out += "# HELP airlock_requests_total Proxied AI requests by outcome.\n"
           "# TYPE airlock_requests_total counter\n";
    for (auto it = m_series.begin(); it != m_series.end(); ++it) {
        const QByteArray labels = "provider=\"" + escapeLabel(it.key().provider) + "\",model=\"" +
                                  escapeLabel(it.key().model) + "\",app=\"" + escapeLabel(it.key().app) + '"';
        for (auto o = it->requestsByOutcome.begin(); o != it->requestsByOutcome.end(); ++o)
            out += "airlock_requests_total{" + labels + ",outcome=\"" + escapeLabel(o.key()) + "\"} " +
                   QByteArray::number(o.value()) + '\n';
    }
    auto perSeries = [&](const char *name, const char *help, const char *type, auto value) {
        out += QByteArray("# HELP ") + name + ' ' + help + "\n# TYPE " + name + ' ' + type + '\n';
        for (auto it = m_series.begin(); it != m_series.end(); ++it) {
            out += QByteArray(name) + "{provider=\"" + escapeLabel(it.key().provider) + "\",model=\"" +
                   escapeLabel(it.key().model) + "\",app=\"" + escapeLabel(it.key().app) + "\"} " +
                   value(*it) + '\n';
        }
    };
    perSeries("airlock_input_tokens_total", "Prompt tokens, cached included.", "counter",
              [](const Series &s) { return QByteArray::number(s.inputTokens); });
    perSeries("airlock_output_tokens_total", "Generated tokens, reasoning included.", "counter",
              [](const Series &s) { return QByteArray::number(s.outputTokens); });
    perSeries("airlock_cached_tokens_total", "Prompt tokens read from a prompt cache.", "counter",
              [](const Series &s) { return QByteArray::number(s.cachedTokens); });
    perSeries("airlock_cost_usd_total", "Cost in USD from the price table.", "counter",
              [](const Series &s) { return QByteArray::number(s.costUsd, 'g', 12); });
    out += "# HELP airlock_request_duration_seconds Request head to last byte sent.\n"
           "# TYPE airlock_request_duration_seconds histogram\n";
    for (auto it = m_series.begin(); it != m_series.end(); ++it) {
        const QByteArray labels = "provider=\"" + escapeLabel(it.key().provider) + "\",model=\"" +
                                  escapeLabel(it.key().model) + "\",app=\"" + escapeLabel(it.key().app) + '"';
        renderHistogram(out, "airlock_request_duration_seconds", labels, it->latency,
                        kLatencyBucketsS, it->latencySum, it->latencyCount);
    }
    out += "# HELP airlock_overhead_seconds Time Airlock spends before forwarding a request.\n"
           "# TYPE airlock_overhead_seconds histogram\n";
    renderHistogram(out, "airlock_overhead_seconds", QByteArray(), m_overhead, kOverheadBucketsS,
                    m_overheadSum, m_overheadCount);
    out += "# HELP airlock_client_connections_open Open client connections.\n"
           "# TYPE airlock_client_connections_open gauge\n"
           "airlock_client_connections_open " + QByteArray::number(m_connectionsOpen) + '\n';
    out += "# HELP airlock_client_connections_total Accepted client connections.\n"
           "# TYPE airlock_client_connections_total counter\n"
           "airlock_client_connections_total " + QByteArray::number(m_connectionsTotal) + '\n';
    out += "# HELP airlock_upstream_connections Upstream connections by state.\n"
           "# TYPE airlock_upstream_connections gauge\n"
           "airlock_upstream_connections{state=\"idle\"} " + QByteArray::number(idleUpstreams) + '\n' +
           "airlock_upstream_connections{state=\"active\"} " + QByteArray::number(activeUpstreams) + '\n';
    return out;
}

}  // namespace airlock
