// Collects token usage, the served model and upstream errors from a response, whether it arrives
// as one JSON body, as SSE events, or as a streamed JSON array (Gemini without alt=sse).
#pragma once

#include "core/http/sse_framer.h"
#include "core/providers/wire_format.h"

#include <QByteArray>

namespace airlock {

class UsageAccumulator {
public:
    UsageAccumulator(WireFormat format, EndpointKind kind);

    // A whole non-streamed JSON body (or a Gemini JSON-array stream, collected).
    void addJsonBody(QByteArrayView body);
    // One SSE event of a streamed response. Returns true when the event carries only
    // usage the client did not ask for (OpenAI final chunk with "choices":[] after we injected
    // include_usage) — the caller then drops it when stripInjectedUsage is set.
    bool addSseEvent(const SseEvent &event);

    TokenUsage usage() const { return m_usage; }
    QByteArray responseModel() const { return m_model; }  // model the upstream says it used
    QByteArray errorType() const { return m_errorType; }  // upstream error type/code when one was seen
    QByteArray errorMessage() const { return m_errorMessage; }
    QByteArray stopReason() const { return m_stopReason; }
    bool sawTerminalEvent() const { return m_terminal; }  // [DONE], message_stop, response.completed, finishReason

private:
    WireFormat m_format;
    EndpointKind m_kind;
    TokenUsage m_usage;
    QByteArray m_model;
    QByteArray m_errorType;
    QByteArray m_errorMessage;
    QByteArray m_stopReason;
    bool m_terminal = false;
};

// When we injected include_usage, rewrite an OpenAI chunk's SSE event to the client's view:
// drops a `"usage":null` member from the data JSON (textually, keeping all other bytes).
// Returns the raw event unchanged when it has no such member.
QByteArray stripNullUsage(const SseEvent &event);

}  // namespace airlock
