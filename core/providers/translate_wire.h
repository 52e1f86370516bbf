// Translation between AI wire formats so a route can serve a client from a provider that speaks
// another format: requests, JSON answers, SSE streams (event by event) and error bodies.
#pragma once

#include "core/http/sse_framer.h"
#include "core/providers/wire_format.h"

#include <QByteArray>
#include <QString>
#include <memory>

namespace airlock {

struct TranslatedRequest {
    QByteArray body;  // the request in the target's format
    QByteArray path;  // upstream path (with query) for the target format
    EndpointKind kind = EndpointKind::Passthrough;  // the target's endpoint kind
    QString error;  // non-empty: cannot be translated faithfully (answer 400, say why)
};

// Directions implemented: OpenAI chat <- Anthropic messages, OpenAI chat <- Gemini generateContent,
// Anthropic messages <- OpenAI chat. Same format is "translatable" (model rewrite only).
bool canTranslate(WireFormat client, EndpointKind clientKind, WireFormat target);

// The client's request (client format) for the target format and model.
TranslatedRequest translateRequest(WireFormat client, WireFormat target, const QByteArray &body,
                                   const QByteArray &targetModel, bool stream);

// A complete successful JSON answer of the target, in the client's format. Empty on garbage.
QByteArray translateResponseBody(WireFormat target, WireFormat client, const QByteArray &body);

// An error answer (status >= 400) of the target, in the client's error shape, message kept.
QByteArray translateErrorBody(WireFormat target, WireFormat client, int status,
                              const QByteArray &body);

// Rebuilds a streamed answer event by event: target SSE events in, client SSE bytes out.
class StreamTranslator {
public:
    virtual ~StreamTranslator() = default;
    virtual void feed(const SseEvent &event, QByteArray *out) = 0;
    // The upstream stream ended (cleanly or not): close what the client format needs closed.
    virtual void finish(QByteArray *out) = 0;
};

// includeUsage: an OpenAI client asked for stream_options.include_usage.
std::unique_ptr<StreamTranslator> makeStreamTranslator(WireFormat target, WireFormat client,
                                                       bool includeUsage);

}  // namespace airlock
