// One proxied AI request: inspect the body, pick the provider, forward it over a pooled upstream
// connection, stream the answer back event by event, account tokens and cost, and record it.
#pragma once

#include "core/http/sse_framer.h"
#include "core/http/upstream_connection.h"
#include "core/providers/endpoint.h"
#include "core/providers/error_body.h"
#include "core/providers/request_inspector.h"
#include "core/providers/usage_accumulator.h"
#include "core/proxy/client_connection.h"
#include "core/proxy/proxy_context.h"
#include "core/store/usage_record.h"

#include <optional>

namespace airlock {

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
    void route();
    void sendToUpstream(bool freshConnection);
    QByteArray buildUpstreamRequest(QString *error);
    void reject(ErrorKind kind, const QString &message, const QString &outcome,
                const QByteArray &code = {}, int retryAfterSeconds = -1);
    void sendToClient(QByteArrayView data);
    void finishRecord(const QString &outcome, const QString &error = {});
    HttpHeaders airlockHeaders() const;

    ProxyContext *m_ctx;
    ClientConnection *m_conn;
    HttpRequestHead m_head;
    QByteArray m_body;
    EndpointMatch m_match;
    RequestInfo m_info;
    const ProviderConfig *m_provider = nullptr;
    UpstreamConnection *m_upstream = nullptr;
    std::optional<UsageAccumulator> m_usage;
    SseFramer m_framer;
    UsageRecord m_record;
    QByteArray m_upstreamRequest;
    QByteArray m_capture;       // non-streamed response body kept for usage parsing
    bool m_captureOverflow = false;
    bool m_sse = false;
    bool m_injectedUsage = false;
    bool m_recorded = false;
    bool m_retried = false;
    bool m_policyPending = false;
    QList<QPair<QByteArray, QByteArray>> m_policyHeaders;
    int m_upstreamStatus = 0;
    qint64 m_startNs = 0;
    qint64 m_forwardNs = 0;
    qint64 m_firstByteNs = 0;
};

}  // namespace airlock
