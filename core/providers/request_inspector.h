// Reads what the pipeline needs from a request body (model, stream flag, max tokens) and makes
// the few rewrites accounting needs (ask OpenAI streams for usage when the client did not).
#pragma once

#include "core/providers/endpoint.h"

#include <QByteArray>
#include <QJsonObject>

namespace airlock {

struct RequestInfo {
    bool validJson = false;     // body parsed as a JSON object (or was empty on a GET)
    QByteArray jsonError;       // parser message when not valid
    QByteArray model;           // from body "model", or EndpointMatch::pathModel for Gemini
    bool stream = false;        // body "stream": true, or Gemini :streamGenerateContent
    qint64 maxTokens = -1;      // max_tokens / max_completion_tokens / max_output_tokens / generationConfig.maxOutputTokens
    bool includeUsageRequested = false;  // OpenAI stream_options.include_usage was true in the client's body
};

RequestInfo inspectRequest(const EndpointMatch &endpoint, const QByteArray &body);

// For OpenAI chat/completions streams without stream_options.include_usage: returns the body with
// "stream_options":{"include_usage":true} added (other fields untouched) and sets *injected.
// Otherwise returns body unchanged with *injected=false.
QByteArray withStreamUsageRequested(const EndpointMatch &endpoint, const RequestInfo &info,
                                    const QByteArray &body, bool *injected);

}  // namespace airlock
