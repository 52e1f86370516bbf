#include "core/providers/translate_wire.h"

#include "core/providers/error_body.h"
#include "core/providers/translate_anthropic.h"
#include "core/providers/translate_gemini.h"

#include <QJsonDocument>
#include <QJsonObject>

namespace airlock {

bool canTranslate(WireFormat client, EndpointKind kind, WireFormat target) {
    if (client == target) return true;
    if (client == WireFormat::OpenAI && kind == EndpointKind::ChatCompletions)
        return target == WireFormat::Anthropic || target == WireFormat::Gemini;
    if (client == WireFormat::Anthropic && kind == EndpointKind::Messages)
        return target == WireFormat::OpenAI;
    return false;
}

TranslatedRequest translateRequest(WireFormat client, WireFormat target, const QByteArray &body,
                                   const QByteArray &targetModel, bool stream) {
    TranslatedRequest t;
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(body, &pe);
    if (!doc.isObject()) {
        t.error = QStringLiteral("the request body is not a JSON object");
        return t;
    }
    QJsonObject out;
    if (client == WireFormat::OpenAI && target == WireFormat::Anthropic) {
        out = translate::openAiToAnthropicRequest(doc.object(), targetModel, stream, &t.error);
        t.path = "/v1/messages";
        t.kind = EndpointKind::Messages;
    } else if (client == WireFormat::OpenAI && target == WireFormat::Gemini) {
        out = translate::openAiToGeminiRequest(doc.object(), &t.error);
        t.path = "/v1beta/models/" + targetModel +
                 (stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
        t.kind = stream ? EndpointKind::StreamGenerateContent : EndpointKind::GenerateContent;
    } else if (client == WireFormat::Anthropic && target == WireFormat::OpenAI) {
        out = translate::anthropicToOpenAiRequest(doc.object(), targetModel, stream, &t.error);
        t.path = "/v1/chat/completions";
        t.kind = EndpointKind::ChatCompletions;
    } else {
        t.error = QStringLiteral("no translation from %1 to %2")
                      .arg(QString::fromUtf8(wireFormatName(client)),
                           QString::fromUtf8(wireFormatName(target)));
    }
    if (t.error.isEmpty()) t.body = QJsonDocument(out).toJson(QJsonDocument::Compact);
    return t;
}

QByteArray translateResponseBody(WireFormat target, WireFormat client, const QByteArray &body) {
    const QJsonDocument doc = QJsonDocument::fromJson(body);
    if (!doc.isObject()) return {};
    QJsonObject out;
    if (target == WireFormat::Anthropic && client == WireFormat::OpenAI)
        out = translate::anthropicToOpenAiResponse(doc.object());
    else if (target == WireFormat::Gemini && client == WireFormat::OpenAI)
        out = translate::geminiToOpenAiResponse(doc.object(), {});
    else if (target == WireFormat::OpenAI && client == WireFormat::Anthropic)
        out = translate::openAiToAnthropicResponse(doc.object());
    else
        return {};
    return QJsonDocument(out).toJson(QJsonDocument::Compact);
}

QByteArray translateErrorBody(WireFormat target, WireFormat client, int status,
                              const QByteArray &body) {
    // Every format nests the message at error.message.
    const QJsonObject err =
        QJsonDocument::fromJson(body).object().value(QLatin1String("error")).toObject();
    QString message = err.value(QLatin1String("message")).toString();
    if (message.isEmpty())
        message = QStringLiteral("the %1 upstream answered HTTP %2")
                      .arg(QString::fromUtf8(wireFormatName(target)))
                      .arg(status);
    ErrorKind kind = ErrorKind::UpstreamError;
    switch (status) {
        case 400:
        case 422:
            kind = ErrorKind::InvalidRequest;
            break;
        case 401:
            kind = ErrorKind::Authentication;
            break;
        case 403:
            kind = ErrorKind::PermissionDenied;
            break;
        case 404:
            kind = ErrorKind::NotFound;
            break;
        case 413:
            kind = ErrorKind::PayloadTooLarge;
            break;
        case 429:
            kind = ErrorKind::RateLimited;
            break;
        case 503:
        case 529:
            kind = ErrorKind::Unavailable;
            break;
        case 504:
            kind = ErrorKind::Timeout;
            break;
        default:
            kind = status >= 500 ? ErrorKind::UpstreamError : ErrorKind::InvalidRequest;
            break;
    }
    return errorBody(client, kind, message.left(2000));
}

std::unique_ptr<StreamTranslator> makeStreamTranslator(WireFormat target, WireFormat client,
                                                       bool includeUsage) {
    if (target == WireFormat::Anthropic && client == WireFormat::OpenAI)
        return translate::anthropicToOpenAiStream(includeUsage);
    if (target == WireFormat::Gemini && client == WireFormat::OpenAI)
        return translate::geminiToOpenAiStream(includeUsage, {});
    if (target == WireFormat::OpenAI && client == WireFormat::Anthropic)
        return translate::openAiToAnthropicStream();
    return nullptr;
}

}  // namespace airlock
