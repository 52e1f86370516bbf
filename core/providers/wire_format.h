// The AI wire formats Airlock speaks, and the kinds of endpoint each one has.
// Everything format-specific in the pipeline keys off these two enums.
#pragma once

#include <QByteArray>
#include <QByteArrayView>

namespace airlock {

enum class WireFormat { Unknown, OpenAI, Anthropic, Gemini };

enum class EndpointKind {
    Passthrough,      // a path we forward unchanged and do not account (e.g. /v1/files)
    ChatCompletions,  // OpenAI /v1/chat/completions
    Completions,      // OpenAI /v1/completions (legacy)
    Responses,        // OpenAI /v1/responses
    Embeddings,       // OpenAI /v1/embeddings
    Models,           // OpenAI /v1/models, Gemini GET /v1beta/models
    Messages,         // Anthropic /v1/messages
    CountTokens,      // Anthropic /v1/messages/count_tokens, Gemini :countTokens
    GenerateContent,  // Gemini :generateContent
    StreamGenerateContent,  // Gemini :streamGenerateContent
};

QByteArray wireFormatName(WireFormat format);             // "openai", "anthropic", "gemini", "unknown"
WireFormat wireFormatFromName(QByteArrayView name);        // Unknown when not one of the three
QByteArray endpointKindName(EndpointKind kind);            // "chat", "responses", "messages", ...

// Token counts of one exchange, normalised across formats:
// inputTokens counts every prompt token, cached ones included (OpenAI's prompt_tokens semantics;
// for Anthropic input_tokens + cache_read_input_tokens + cache_creation_input_tokens);
// outputTokens counts every generated token, reasoning/thinking included.
struct TokenUsage {
    qint64 inputTokens = 0;
    qint64 outputTokens = 0;
    qint64 cachedInputTokens = 0;  // prompt tokens read from a prompt cache (subset of inputTokens)
    qint64 cacheWriteTokens = 0;   // prompt tokens written to a prompt cache (subset of inputTokens)
    qint64 reasoningTokens = 0;    // subset of outputTokens
    bool reported = false;         // the upstream reported usage at all
};

}  // namespace airlock
