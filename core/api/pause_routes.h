// Local API routes for pausing TLS interception: GET /airlock/v1/pause (may this device pause,
// and for how long) and POST /airlock/v1/pause {"minutes": N} (0 resumes); token-checked first.
#pragma once

#include "core/http/http_message.h"
#include "core/proxy/proxy_context.h"

#include <QJsonObject>

namespace airlock {

class ClientConnection;

// True when the path is a pause route (the response has been sent).
bool servePauseRoute(ProxyContext *ctx, ClientConnection *conn, const HttpRequestHead &head,
                     const QByteArray &body);

// "paused" and "paused_until" (ISO 8601 UTC with ms, or null) for /airlock/v1/status.
QJsonObject pauseStatusJson(const ProxyContext *ctx);

}  // namespace airlock
