// Error responses in each caller's own format, so SDKs surface a clear, typed error.
#pragma once

#include "core/providers/wire_format.h"

#include <QByteArray>
#include <QString>

namespace airlock {

enum class ErrorKind {
    InvalidRequest,    // 400
    Authentication,    // 401
    PermissionDenied,  // 403 (policy / guardrail blocks)
    NotFound,          // 404
    PayloadTooLarge,   // 413
    RateLimited,       // 429
    QuotaExceeded,     // 429 insufficient_quota (budget)
    UpstreamError,     // 502
    Unavailable,       // 503
    Timeout,           // 504
    Internal,          // 500
};

int errorHttpStatus(ErrorKind kind);

// OpenAI:    {"error":{"message":…,"type":…,"param":null,"code":…}}
// Anthropic: {"type":"error","error":{"type":…,"message":…}}
// Gemini:    {"error":{"code":N,"message":…,"status":"INVALID_ARGUMENT"|…}}
// Unknown formats get the OpenAI shape. code may be empty (then the kind's default code or null).
QByteArray errorBody(WireFormat format, ErrorKind kind, const QString &message,
                     const QByteArray &code = {});

// The same error as one SSE event in the caller's stream format, for failures after a stream
// has started (Anthropic "event: error", OpenAI/Gemini a data line with an error object).
QByteArray errorSseEvent(WireFormat format, ErrorKind kind, const QString &message);

}  // namespace airlock
