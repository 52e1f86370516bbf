// Maps an ingress request path to the wire format and endpoint it speaks, stripping an optional
// provider prefix (/openai, /anthropic, /gemini). Unknown paths under a prefix pass through.
#pragma once

#include "core/providers/wire_format.h"

#include <QByteArray>

namespace airlock {

struct EndpointMatch {
    WireFormat format = WireFormat::Unknown;  // Unknown: not an AI path (404 unless forward-proxy)
    EndpointKind kind = EndpointKind::Passthrough;
    QByteArray upstreamPath;  // path (with query) to append to the provider's base URL
    QByteArray prefix;        // the provider prefix that was stripped, e.g. "openai"; empty when none
    QByteArray pathModel;     // Gemini: model named in the path ("gemini-2.0-flash"), else empty
    bool streamByPath = false;  // Gemini :streamGenerateContent
};

// target: origin-form request target incl. query ("/v1/chat/completions", "/gemini/v1beta/models/x:generateContent?alt=sse").
EndpointMatch classifyEndpoint(const QByteArray &method, const QByteArray &target);

}  // namespace airlock
