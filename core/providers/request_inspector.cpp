#include "core/providers/request_inspector.h"

#include "core/providers/json_scan.h"

#include <QJsonDocument>
#include <QJsonParseError>
#include <QJsonValue>

namespace airlock {

namespace {

// A token limit as the client wrote it; -1 when absent or not a non-negative integer.
qint64 tokenLimit(const QJsonValue &value) {
    if (!value.isDouble()) return -1;
    const double d = value.toDouble();
    if (!(d >= 0) || d > 9.0e15) return -1;
    return static_cast<qint64>(d);
}

bool emptyBodyAllowed(EndpointKind kind) {
    return kind == EndpointKind::Models || kind == EndpointKind::Passthrough;
}

bool isBlank(const QByteArray &body) {
    for (const char c : body) {
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
    }
    return true;
}

}  // namespace

RequestInfo inspectRequest(const EndpointMatch &endpoint, const QByteArray &body) {
    RequestInfo info;
    // Gemini names the model and the streaming mode in the path, not the body.
    info.model = endpoint.pathModel;
    info.stream = endpoint.streamByPath;

    if (isBlank(body)) {
        info.validJson = endpoint.format == WireFormat::Unknown || emptyBodyAllowed(endpoint.kind);
        if (!info.validJson) info.jsonError = QByteArrayLiteral("empty request body");
        return info;
    }

    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(body, &error);
    if (error.error != QJsonParseError::NoError) {
        info.jsonError =
            error.errorString().toUtf8() + " at offset " + QByteArray::number(error.offset);
        return info;
    }
    if (!doc.isObject()) {
        info.jsonError = QByteArrayLiteral("request body is not a JSON object");
        return info;
    }
    info.validJson = true;
    const QJsonObject obj = doc.object();

    if (endpoint.format != WireFormat::Gemini) {
        const QJsonValue model = obj.value(QLatin1String("model"));
        if (model.isString()) info.model = model.toString().toUtf8();
        info.stream = obj.value(QLatin1String("stream")).toBool(false);
    }

    // The first limit the client set, in the order the formats name it.
    for (const char *key : {"max_completion_tokens", "max_tokens", "max_output_tokens"}) {
        const qint64 limit = tokenLimit(obj.value(QLatin1String(key)));
        if (limit >= 0) {
            info.maxTokens = limit;
            break;
        }
    }
    if (info.maxTokens < 0 && endpoint.format != WireFormat::OpenAI &&
        endpoint.format != WireFormat::Anthropic) {
        // Gemini's REST layer accepts both camelCase and snake_case field names.
        for (const char *configKey : {"generationConfig", "generation_config"}) {
            const QJsonObject config = obj.value(QLatin1String(configKey)).toObject();
            for (const char *key : {"maxOutputTokens", "max_output_tokens"}) {
                const qint64 limit = tokenLimit(config.value(QLatin1String(key)));
                if (limit >= 0 && info.maxTokens < 0) info.maxTokens = limit;
            }
        }
    }

    const QJsonValue streamOptions = obj.value(QLatin1String("stream_options"));
    info.includeUsageRequested =
        streamOptions.toObject().value(QLatin1String("include_usage")).toBool(false);
    return info;
}

QByteArray withStreamUsageRequested(const EndpointMatch &endpoint, const RequestInfo &info,
                                    const QByteArray &body, bool *injected) {
    if (injected) *injected = false;
    const bool applies = endpoint.format == WireFormat::OpenAI &&
                         (endpoint.kind == EndpointKind::ChatCompletions ||
                          endpoint.kind == EndpointKind::Completions) &&
                         info.validJson && info.stream && !info.includeUsageRequested;
    if (!applies) return body;

    namespace js = json_scan;
    const qsizetype open = js::skipWhitespace(body, 0);
    QList<js::Member> members;
    if (open >= body.size() || !js::objectMembers(body, open, &members)) return body;

    QByteArray result;
    const js::Member *options = js::findMember(members, "stream_options");
    if (!options) {
        // Right after the '{': no need to find the object's end, and the comma always fits
        // because "stream" is a member.
        result = body;
        result.insert(open + 1,
                      members.isEmpty()
                          ? QByteArrayLiteral("\"stream_options\":{\"include_usage\":true}")
                          : QByteArrayLiteral("\"stream_options\":{\"include_usage\":true},"));
    } else if (body.at(options->valueBegin) == '{') {
        QList<js::Member> inner;
        if (!js::objectMembers(body, options->valueBegin, &inner)) return body;
        result = body;
        if (const js::Member *flag = js::findMember(inner, "include_usage")) {
            // The client said false (or sent junk): ask anyway; the pipeline hides the answer.
            result.replace(flag->valueBegin, flag->valueEnd - flag->valueBegin, "true");
        } else {
            result.insert(options->valueBegin + 1,
                          inner.isEmpty() ? QByteArrayLiteral("\"include_usage\":true")
                                          : QByteArrayLiteral("\"include_usage\":true,"));
        }
    } else if (QByteArrayView(body).sliced(options->valueBegin,
                                           options->valueEnd - options->valueBegin) == "null") {
        result = body;
        result.replace(options->valueBegin, options->valueEnd - options->valueBegin,
                       "{\"include_usage\":true}");
    } else {
        return body;  // not an object: the upstream will reject it; do not mask that
    }
    if (injected) *injected = true;
    return result;
}

}  // namespace airlock
