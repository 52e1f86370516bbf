#include "core/providers/error_body.h"

namespace airlock {

namespace {

struct ErrorSpec {
    int status;
    const char *openAiType;
    const char *openAiCode;  // nullptr: "code":null
    const char *anthropicType;
    const char *geminiStatus;
};

// What each provider itself answers for the situation (OpenAI sends 401 as an
// invalid_request_error with code invalid_api_key, and 429 as type "requests").
ErrorSpec specFor(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::InvalidRequest:
            return {400, "invalid_request_error", nullptr, "invalid_request_error",
                    "INVALID_ARGUMENT"};
        case ErrorKind::Authentication:
            return {401, "invalid_request_error", "invalid_api_key", "authentication_error",
                    "UNAUTHENTICATED"};
        case ErrorKind::PermissionDenied:
            return {403, "request_forbidden", nullptr, "permission_error", "PERMISSION_DENIED"};
        case ErrorKind::NotFound:
            return {404, "invalid_request_error", nullptr, "not_found_error", "NOT_FOUND"};
        case ErrorKind::PayloadTooLarge:
            return {413, "invalid_request_error", nullptr, "request_too_large", "INVALID_ARGUMENT"};
        case ErrorKind::RateLimited:
            return {429, "requests", "rate_limit_exceeded", "rate_limit_error",
                    "RESOURCE_EXHAUSTED"};
        case ErrorKind::QuotaExceeded:
            return {429, "insufficient_quota", "insufficient_quota", "rate_limit_error",
                    "RESOURCE_EXHAUSTED"};
        case ErrorKind::UpstreamError:
            return {502, "server_error", nullptr, "api_error", "UNAVAILABLE"};
        case ErrorKind::Unavailable:
            return {503, "server_error", nullptr, "overloaded_error", "UNAVAILABLE"};
        case ErrorKind::Timeout:
            return {504, "server_error", nullptr, "timeout_error", "DEADLINE_EXCEEDED"};
        case ErrorKind::Internal:
            break;
    }
    return {500, "server_error", nullptr, "api_error", "INTERNAL"};
}

// A JSON string literal, quotes included.
QByteArray jsonString(QByteArrayView utf8) {
    static constexpr char kHex[] = "0123456789abcdef";
    QByteArray out;
    out.reserve(utf8.size() + 2);
    out.append('"');
    for (const char c : utf8) {
        const auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '"':
                out.append("\\\"");
                break;
            case '\\':
                out.append("\\\\");
                break;
            case '\n':
                out.append("\\n");
                break;
            case '\r':
                out.append("\\r");
                break;
            case '\t':
                out.append("\\t");
                break;
            case '\b':
                out.append("\\b");
                break;
            case '\f':
                out.append("\\f");
                break;
            default:
                if (u < 0x20) {
                    out.append("\\u00");
                    out.append(kHex[u >> 4]);
                    out.append(kHex[u & 0xF]);
                } else {
                    out.append(c);
                }
        }
    }
    out.append('"');
    return out;
}

}  // namespace

int errorHttpStatus(ErrorKind kind) {
    return specFor(kind).status;
}

QByteArray errorBody(WireFormat format, ErrorKind kind, const QString &message,
                     const QByteArray &code) {
    const ErrorSpec spec = specFor(kind);
    // QString::toUtf8 replaces unpaired surrogates, so the output is always valid UTF-8.
    const QByteArray text = jsonString(message.toUtf8());
    switch (format) {
        case WireFormat::Anthropic:
            return "{\"type\":\"error\",\"error\":{\"type\":\"" + QByteArray(spec.anthropicType) +
                   "\",\"message\":" + text + "}}";
        case WireFormat::Gemini:
            return "{\"error\":{\"code\":" + QByteArray::number(spec.status) +
                   ",\"message\":" + text + ",\"status\":\"" + QByteArray(spec.geminiStatus) +
                   "\"}}";
        case WireFormat::OpenAI:
        case WireFormat::Unknown:
            break;
    }
    QByteArray codeJson = QByteArrayLiteral("null");
    if (!code.isEmpty()) {
        codeJson = jsonString(code);
    } else if (spec.openAiCode) {
        codeJson = jsonString(spec.openAiCode);
    }
    return "{\"error\":{\"message\":" + text + ",\"type\":\"" + QByteArray(spec.openAiType) +
           "\",\"param\":null,\"code\":" + codeJson + "}}";
}

QByteArray errorSseEvent(WireFormat format, ErrorKind kind, const QString &message) {
    const QByteArray body = errorBody(format, kind, message);
    if (format == WireFormat::Anthropic) return "event: error\ndata: " + body + "\n\n";
    // The OpenAI SDKs throw on any data object with an "error" member; Gemini's do the same.
    return "data: " + body + "\n\n";
}

}  // namespace airlock
