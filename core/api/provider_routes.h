// GET /airlock/v1/providers: every routing target with its health (circuit, averages, in-flight),
// for the dashboard and `airlockctl`; read-only, so it needs no state beyond the Router.
#pragma once

#include "core/proxy/proxy_context.h"

#include <QJsonObject>

namespace airlock {

// {"targets":[{"name","provider","model","base_url","healthy","circuit","ewma_latency_ms",...}]}
QJsonObject providersJson(const ProxyContext &context);

}  // namespace airlock
