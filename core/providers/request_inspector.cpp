#include "core/providers/request_inspector.h"

#include "core/providers/json_scan.h"

namespace airlock {

namespace {

// A token limit as the client wrote it; -1 when absent or not a non-negative integer.
qint64 tokenLimit(const json_scan::ValueView &value) {
    if (!value.isNumber()) return -1;
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
    namespace js = json_scan;
    RequestInfo info;
    // Gemini names the model and the streaming mode in the path, not the body.
    info.model = endpoint.pathModel;
    info.stream = endpoint.streamByPath;

    if (isBlank(body)) {
        info.validJson = endpoint.format == WireFormat::Unknown || emptyBodyAllowed(endpoint.kind);
        if (!info.validJson) info.jsonError = QByteArrayLiteral("empty request body");
        return info;
    }

    // One strict pass that also indexes the top-level members: no document is built, so the
    // cost is a scan of the bytes, whatever the size of the messages.
    js::ObjectView obj(body);
    const js::Validation validation =
        js::validate(body, [&obj](const js::MemberSpan &member) { obj.append(member); });
    if (!validation.ok()) {
        info.jsonError = QByteArray(js::errorText(validation.error)) + " at offset " +
                         QByteArray::number(validation.offset);
        return info;
    }
    if (body.at(js::skipWhitespace(body, 0)) != '{') {
        info.jsonError = QByteArrayLiteral("request body is not a JSON object");
        return info;
    }
    info.validJson = true;

    if (endpoint.format != WireFormat::Gemini) {
        const js::ValueView model = obj.value("model");
        if (model.isString()) info.model = model.toString();
        info.stream = obj.value("stream").isTrue();
    }

    // The first limit the client set, in the order the formats name it.
    for (const char *key : {"max_completion_tokens", "max_tokens", "max_output_tokens"}) {
        const qint64 limit = tokenLimit(obj.value(key));
        if (limit >= 0) {
            info.maxTokens = limit;
            break;
        }
    }
    if (info.maxTokens < 0 && endpoint.format != WireFormat::OpenAI &&
        endpoint.format != WireFormat::Anthropic) {
        // Gemini's REST layer accepts both camelCase and snake_case field names.
        for (const char *configKey : {"generationConfig", "generation_config"}) {
            const js::ObjectView config = obj.value(configKey).toObject();
            for (const char *key : {"maxOutputTokens", "max_output_tokens"}) {
                const qint64 limit = tokenLimit(config.value(key));
                if (limit >= 0 && info.maxTokens < 0) info.maxTokens = limit;
            }
        }
    }

    info.includeUsageRequested =
        obj.value("stream_options").toObject().value("include_usage").isTrue();
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
