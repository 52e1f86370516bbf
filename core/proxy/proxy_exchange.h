// One proxied AI request: inspect the body, pick the provider (or a route's target, retrying and
// translating formats as needed), forward it over a pooled upstream connection, stream the answer
// back event by event, account tokens and cost, and record it.
#pragma once

#include "core/http/sse_framer.h"
#include "core/http/upstream_connection.h"
#include "core/providers/endpoint.h"
#include "core/providers/error_body.h"
#include "core/providers/request_inspector.h"
#include "core/providers/translate_wire.h"
#include "core/providers/usage_accumulator.h"
#include "core/proxy/client_connection.h"
#include "core/proxy/proxy_context.h"
#include "core/routing/router.h"
#include "core/store/response_cache.h"
#include "core/store/usage_record.h"

#include <memory>
#include <optional>

namespace airlock {

struct PolicyVerdict;

class ProxyExchange : public ExchangeHandler, public UpstreamListener {
    Q_OBJECT
public:
    ProxyExchange(ProxyContext *context, ClientConnection *connection);
    ~ProxyExchange() override;

    void start(const HttpRequestHead &head, QByteArray body) override;
    void clientGone() override;
    void clientDrained() override;

    void upstreamHead(const HttpResponseHead &head) override;
    void upstreamBody(QByteArrayView data) override;
    void upstreamComplete() override;
    void upstreamFailed(const UpstreamFailure &failure) override;

private:
    void forward();
    void applyPolicy();
    // After the verdict: answer from the response cache, or go on to route() (miss, bypass, off).
    void consultCache(const PolicyVerdict &verdict);
    void serveFromCache(const CachedResponse &cached);
    // A complete 200 answer of a cache miss: keep it for the next identical request.
    void storeInCache(const HttpResponseHead &upstream, const QByteArray &body,
                      const QByteArray &contentType = {});
    void route();
    // Routed requests: start the next attempt on the target the route's strategy picks.
    void nextAttempt();
    // Before anything reached the client: may another attempt start (attempts, deadline, targets)?
    bool mayRetry() const;
    void retryAfterFailure(qint64 retryAfterMs);
    bool prepareTarget(const RouteTarget &target, const ProviderConfig *provider, QString *error);
    void sendUpstreamHead(const HttpResponseHead &upstream, qint64 length,
                          const QByteArray &contentType = {});
    void attemptSucceeded();
    void attemptFailed(qint64 retryAfterMs = 0);
    void sendToUpstream(bool freshConnection);
    QByteArray buildUpstreamRequest(QString *error);
    void reject(ErrorKind kind, const QString &message, const QString &outcome,
                const QByteArray &code = {}, int retryAfterSeconds = -1);
    // `last`: the body ends with these bytes (they leave with its end in one write).
    void sendToClient(QByteArrayView data, bool last = false);
    // Framed SSE events to the client, translated or as the client's own view (usage we asked
    // for hidden), and into the usage accounting.
    void relayEvents(const QList<SseEvent> &events, bool last);
    void finishRecord(const QString &outcome, const QString &error = {});
    HttpHeaders airlockHeaders() const;

    ProxyContext *m_ctx;
    ClientConnection *m_conn;
    HttpRequestHead m_head;
    QByteArray m_body;
    EndpointMatch m_match;
    RequestInfo m_info;
    const ProviderConfig *m_provider = nullptr;
    bool m_namedProvider = false;  // the path named a provider: no routing
    // Routing state (m_route null: not routed, today's single-provider path).
    Router::RouteState *m_route = nullptr;
    int m_targetIndex = -1;
    bool m_attemptOpen = false;  // the router counts the current attempt as in flight
    quint64 m_triedMask = 0;
    quint64 m_unusableMask = 0;  // targets that cannot take this request (format, missing key)
    QString m_skipReason;
    bool m_skipForKey = false;
    bool m_keyMissing = false;  // the last prepareTarget() failed for want of a key
    int m_attempts = 0;
    qint64 m_routeStartNs = 0;
    qint64 m_attemptStartNs = 0;
    qint64 m_upstreamHeadNs = 0;
    qint64 m_upstreamRetryAfterMs = 0;  // the answer's Retry-After, for cooling the target down
    QByteArray m_hashInput;
    QByteArray m_targetModel;
    QByteArray m_forwardBody;  // body sent upstream (model rewritten or translated)
    QByteArray m_forwardPath;  // path sent upstream
    WireFormat m_targetFormat = WireFormat::Unknown;
    bool m_translating = false;
    bool m_holdBody = false;  // translated JSON or error body: collected, converted at the end
    HttpResponseHead m_heldHead;
    std::unique_ptr<StreamTranslator> m_translator;
    UpstreamConnection *m_upstream = nullptr;
    std::optional<UsageAccumulator> m_usage;
    SseFramer m_framer;
    UsageRecord m_record;
    QByteArray m_upstreamRequest;
    QByteArray m_capture;  // non-streamed response body kept for usage parsing
    bool m_captureOverflow = false;
    bool m_sse = false;
    bool m_injectedUsage = false;
    bool m_recorded = false;
    bool m_retried = false;
    bool m_policyPending = false;
    QList<QPair<QByteArray, QByteArray>> m_policyHeaders;
    // Response cache: Off (no cache for the profile: no header), else what x-airlock-cache says.
    enum class CacheState { Off, Bypass, Miss, Hit };
    CacheState m_cacheState = CacheState::Off;
    bool m_cachePending = false;  // a lookup is out; its answer or its timeout goes on
    bool m_cacheStore = false;    // this answer is to be stored when complete
    QByteArray m_cacheKey;
    HttpResponseHead m_cacheHead;
    QString m_cacheBucket;
    int m_cacheTtlSeconds = 0;
    qint64 m_cacheMaxBytes = 0;
    int m_upstreamStatus = 0;
    qint64 m_startNs = 0;
    qint64 m_forwardNs = 0;
    qint64 m_firstByteNs = 0;
};

}  // namespace airlock
