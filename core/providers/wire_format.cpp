#include "core/providers/wire_format.h"

namespace airlock {

QByteArray wireFormatName(WireFormat format)
{
    switch (format) {
    case WireFormat::OpenAI: return QByteArrayLiteral("openai");
    case WireFormat::Anthropic: return QByteArrayLiteral("anthropic");
    case WireFormat::Gemini: return QByteArrayLiteral("gemini");
    case WireFormat::Unknown: break;
    }
    return QByteArrayLiteral("unknown");
}

WireFormat wireFormatFromName(QByteArrayView name)
{
    if (name == "openai") return WireFormat::OpenAI;
    if (name == "anthropic") return WireFormat::Anthropic;
    if (name == "gemini") return WireFormat::Gemini;
    return WireFormat::Unknown;
}

QByteArray endpointKindName(EndpointKind kind)
{
    switch (kind) {
    case EndpointKind::Passthrough: return QByteArrayLiteral("passthrough");
    case EndpointKind::ChatCompletions: return QByteArrayLiteral("chat");
    case EndpointKind::Completions: return QByteArrayLiteral("completions");
    case EndpointKind::Responses: return QByteArrayLiteral("responses");
    case EndpointKind::Embeddings: return QByteArrayLiteral("embeddings");
    case EndpointKind::Models: return QByteArrayLiteral("models");
    case EndpointKind::Messages: return QByteArrayLiteral("messages");
    case EndpointKind::CountTokens: return QByteArrayLiteral("count_tokens");
    case EndpointKind::GenerateContent: return QByteArrayLiteral("generate");
    case EndpointKind::StreamGenerateContent: return QByteArrayLiteral("stream_generate");
    }
    return QByteArrayLiteral("passthrough");
}

}  // namespace airlock
