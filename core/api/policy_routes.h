// Local API routes for governance: GET /airlock/v1/policy, POST /airlock/v1/policy/sync and
// GET /airlock/v1/budgets (token-checked by LocalApiHandler before they are reached).
#pragma once

#include "core/http/http_message.h"
#include "core/proxy/proxy_context.h"

#include <QObject>

namespace airlock {

class ClientConnection;

// True when the path is a policy route (the response is sent, possibly later while `guard` lives).
bool servePolicyRoute(ProxyContext *ctx, ClientConnection *conn, const HttpRequestHead &head,
                      QObject *guard);

}  // namespace airlock
