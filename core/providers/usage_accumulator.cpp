#include "core/providers/usage_accumulator.h"

#include "core/providers/json_scan.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonValue>

#include <algorithm>

namespace airlock {

namespace {

// Token counts are never negative and never beyond what a double holds exactly.
qint64 count(const QJsonObject &obj, QLatin1String key) {
    const double d = obj.value(key).toDouble(0);
    if (!(d > 0)) return 0;
    return d > 9.0e15 ? qint64(9e15) : static_cast<qint64>(d);
}

QByteArray text(const QJsonValue &value) {
    return value.isString() ? value.toString().toUtf8() : QByteArray();
}

bool accountsUsage(EndpointKind kind) {
    // count_tokens is free, model lists have no tokens, pass-through paths are not accounted.
    return kind != EndpointKind::CountTokens && kind != EndpointKind::Models &&
           kind != EndpointKind::Passthrough;
}

// OpenAI chat/completions/embeddings ("prompt_tokens") and Responses ("input_tokens") usage.
TokenUsage openAiUsage(const QJsonObject &u) {
    TokenUsage t;
    t.reported = true;
    if (u.contains(QLatin1String("input_tokens")) && !u.contains(QLatin1String("prompt_tokens"))) {
        t.inputTokens = count(u, QLatin1String("input_tokens"));
        t.outputTokens = count(u, QLatin1String("output_tokens"));
        t.cachedInputTokens = count(u.value(QLatin1String("input_tokens_details")).toObject(),
                                    QLatin1String("cached_tokens"));
        t.reasoningTokens = count(u.value(QLatin1String("output_tokens_details")).toObject(),
                                  QLatin1String("reasoning_tokens"));
    } else {
        const QJsonObject promptDetails =
            u.value(QLatin1String("prompt_tokens_details")).toObject();
        t.inputTokens = count(u, QLatin1String("prompt_tokens"));
        t.outputTokens = count(u, QLatin1String("completion_tokens"));
        t.cachedInputTokens = count(promptDetails, QLatin1String("cached_tokens"));
        // Not OpenAI's own field, but gateways in front of caching providers report it here.
        t.cacheWriteTokens = count(promptDetails, QLatin1String("cache_write_tokens"));
        t.reasoningTokens = count(u.value(QLatin1String("completion_tokens_details")).toObject(),
                                  QLatin1String("reasoning_tokens"));
    }
    return t;
}

// Anthropic usage is cumulative within a stream (message_start, then message_delta): each
// field present replaces the earlier value when larger; nothing is ever added up.
void mergeAnthropicUsage(TokenUsage *t, const QJsonObject &u) {
    qint64 uncached =
        std::max<qint64>(0, t->inputTokens - t->cachedInputTokens - t->cacheWriteTokens);
    const auto raise = [&u](qint64 *field, QLatin1String key) {
        if (u.value(key).isDouble()) *field = std::max(*field, count(u, key));
    };
    raise(&uncached, QLatin1String("input_tokens"));
    raise(&t->cachedInputTokens, QLatin1String("cache_read_input_tokens"));
    raise(&t->cacheWriteTokens, QLatin1String("cache_creation_input_tokens"));
    raise(&t->outputTokens, QLatin1String("output_tokens"));
    t->inputTokens = uncached + t->cachedInputTokens + t->cacheWriteTokens;
    t->reported = true;
}

TokenUsage geminiUsage(const QJsonObject &m) {
    TokenUsage t;
    t.reported = true;
    const qint64 thoughts = count(m, QLatin1String("thoughtsTokenCount"));
    // Tool-use prompt tokens (e.g. search results fed back) are billed as input but are not
    // part of promptTokenCount.
    t.inputTokens = count(m, QLatin1String("promptTokenCount")) +
                    count(m, QLatin1String("toolUsePromptTokenCount"));
    t.cachedInputTokens = count(m, QLatin1String("cachedContentTokenCount"));
    t.outputTokens = count(m, QLatin1String("candidatesTokenCount")) + thoughts;
    t.reasoningTokens = thoughts;
    return t;
}

struct UpstreamError {
    QByteArray type;
    QByteArray message;
};

// Recognises the error shapes of all three formats (and of OpenAI-compatible servers).
bool findError(const QJsonObject &obj, UpstreamError *out) {
    const QJsonValue error = obj.value(QLatin1String("error"));
    if (text(obj.value(QLatin1String("type"))) == "error") {
        if (error.isObject()) {  // Anthropic
            const QJsonObject e = error.toObject();
            out->type = text(e.value(QLatin1String("type")));
            if (out->type.isEmpty()) out->type = text(e.value(QLatin1String("code")));
            out->message = text(e.value(QLatin1String("message")));
        } else {  // OpenAI Responses stream: {"type":"error","code":…,"message":…}
            out->type = text(obj.value(QLatin1String("code")));
            out->message = text(obj.value(QLatin1String("message")));
        }
        if (out->type.isEmpty()) out->type = QByteArrayLiteral("error");
        return true;
    }
    if (error.isObject()) {
        const QJsonObject e = error.toObject();
        // Gemini's status names the class; OpenAI's code is more specific than its type
        // ("rate_limit_exceeded" vs "requests").
        out->type = text(e.value(QLatin1String("status")));
        if (out->type.isEmpty()) out->type = text(e.value(QLatin1String("code")));
        if (out->type.isEmpty()) out->type = text(e.value(QLatin1String("type")));
        if (out->type.isEmpty() && e.value(QLatin1String("code")).isDouble())
            out->type = QByteArray::number(e.value(QLatin1String("code")).toInteger());
        if (out->type.isEmpty()) out->type = QByteArrayLiteral("error");
        out->message = text(e.value(QLatin1String("message")));
        return true;
    }
    if (error.isString() && !error.toString().isEmpty()) {
        out->type = QByteArrayLiteral("error");
        out->message = text(error);
        return true;
    }
    return false;
}

// Unknown format (e.g. an unclassified path): guess from the object's shape.
WireFormat guessFormat(const QJsonObject &obj) {
    if (obj.contains(QLatin1String("usageMetadata")) || obj.contains(QLatin1String("candidates")) ||
        obj.contains(QLatin1String("modelVersion")))
        return WireFormat::Gemini;
    const QByteArray type = text(obj.value(QLatin1String("type")));
    if (type == "message" || type.startsWith("message_") || type.startsWith("content_block"))
        return WireFormat::Anthropic;
    return WireFormat::OpenAI;
}

bool startsLikeJsonObject(QByteArrayView data) {
    const qsizetype pos = json_scan::skipWhitespace(data, 0);
    return pos < data.size() && data[pos] == '{';
}

// Frequent stream events that carry nothing the accumulator needs: not worth a JSON parse.
bool isContentOnlyEvent(WireFormat format, QByteArrayView eventName) {
    if (eventName.isEmpty()) return false;
    if (format == WireFormat::Anthropic)
        return eventName == "content_block_delta" || eventName == "content_block_start" ||
               eventName == "content_block_stop" || eventName == "ping";
    if (format == WireFormat::OpenAI)
        return eventName.startsWith("response.") && eventName != "response.created" &&
               eventName != "response.in_progress" && eventName != "response.completed" &&
               eventName != "response.incomplete" && eventName != "response.failed" &&
               eventName != "response.queued";
    return false;
}

// The per-object work, bound to the accumulator's fields so the header stays the interface.
struct UsageAccumulatorImpl {
    WireFormat format;
    EndpointKind kind;
    TokenUsage &usage;
    QByteArray &model;
    QByteArray &errorType;
    QByteArray &errorMessage;
    QByteArray &stopReason;
    bool &terminal;

    void setModel(const QJsonValue &value) {
        const QByteArray name = text(value);
        if (!name.isEmpty()) model = name;
    }

    // Returns true for an OpenAI usage-only final chunk.
    bool handle(const QJsonObject &obj) {
        UpstreamError error;
        if (findError(obj, &error)) {
            errorType = error.type;
            errorMessage = error.message;
            return false;
        }
        const WireFormat f = format == WireFormat::Unknown ? guessFormat(obj) : format;
        switch (f) {
            case WireFormat::OpenAI:
                return handleOpenAi(obj);
            case WireFormat::Anthropic:
                handleAnthropic(obj);
                return false;
            case WireFormat::Gemini:
                handleGemini(obj);
                return false;
            case WireFormat::Unknown:
                break;
        }
        return false;
    }

    bool handleOpenAi(const QJsonObject &obj) {
        const QByteArray type = text(obj.value(QLatin1String("type")));
        if (kind == EndpointKind::Responses || type.startsWith("response.") ||
            text(obj.value(QLatin1String("object"))) == "response") {
            handleResponses(obj, type);
            return false;
        }
        setModel(obj.value(QLatin1String("model")));
        const QJsonValue usageValue = obj.value(QLatin1String("usage"));
        if (usageValue.isObject() && accountsUsage(kind))
            usage = openAiUsage(usageValue.toObject());
        const QJsonValue choices = obj.value(QLatin1String("choices"));
        const QJsonArray choiceList = choices.toArray();
        if (!choiceList.isEmpty()) {
            const QByteArray reason =
                text(choiceList.first().toObject().value(QLatin1String("finish_reason")));
            if (!reason.isEmpty()) {
                stopReason = reason;
                terminal = true;
            }
        }
        return (kind == EndpointKind::ChatCompletions || kind == EndpointKind::Completions) &&
               choices.isArray() && choiceList.isEmpty() && usageValue.isObject();
    }

    void handleResponses(const QJsonObject &obj, const QByteArray &type) {
        const QJsonObject response = text(obj.value(QLatin1String("object"))) == "response"
                                         ? obj
                                         : obj.value(QLatin1String("response")).toObject();
        if (response.isEmpty()) return;
        setModel(response.value(QLatin1String("model")));
        const QJsonValue usageValue = response.value(QLatin1String("usage"));
        if (usageValue.isObject() && accountsUsage(kind))
            usage = openAiUsage(usageValue.toObject());
        const QByteArray status = text(response.value(QLatin1String("status")));
        const bool finished = type == "response.completed" || type == "response.incomplete" ||
                              type == "response.failed" || status == "completed" ||
                              status == "incomplete" || status == "failed" || status == "cancelled";
        if (finished) {
            terminal = true;
            const QByteArray reason = text(response.value(QLatin1String("incomplete_details"))
                                               .toObject()
                                               .value(QLatin1String("reason")));
            stopReason = reason.isEmpty() ? status : reason;
        }
        const QJsonValue failure = response.value(QLatin1String("error"));
        if (failure.isObject()) {
            const QJsonObject e = failure.toObject();
            errorType = text(e.value(QLatin1String("code")));
            if (errorType.isEmpty()) errorType = text(e.value(QLatin1String("type")));
            if (errorType.isEmpty()) errorType = QByteArrayLiteral("error");
            errorMessage = text(e.value(QLatin1String("message")));
        }
    }

    void handleAnthropic(const QJsonObject &obj) {
        const QByteArray type = text(obj.value(QLatin1String("type")));
        const bool accounts = accountsUsage(kind);
        if (type == "message") {  // a whole JSON response
            setModel(obj.value(QLatin1String("model")));
            if (accounts && obj.value(QLatin1String("usage")).isObject())
                mergeAnthropicUsage(&usage, obj.value(QLatin1String("usage")).toObject());
            const QByteArray reason = text(obj.value(QLatin1String("stop_reason")));
            if (!reason.isEmpty()) stopReason = reason;
            terminal = true;
        } else if (type == "message_start") {
            const QJsonObject message = obj.value(QLatin1String("message")).toObject();
            setModel(message.value(QLatin1String("model")));
            if (accounts && message.value(QLatin1String("usage")).isObject())
                mergeAnthropicUsage(&usage, message.value(QLatin1String("usage")).toObject());
        } else if (type == "message_delta") {
            if (accounts && obj.value(QLatin1String("usage")).isObject())
                mergeAnthropicUsage(&usage, obj.value(QLatin1String("usage")).toObject());
            const QByteArray reason = text(
                obj.value(QLatin1String("delta")).toObject().value(QLatin1String("stop_reason")));
            if (!reason.isEmpty()) stopReason = reason;
        } else if (type == "message_stop") {
            terminal = true;
        }
    }

    void handleGemini(const QJsonObject &obj) {
        setModel(obj.value(QLatin1String("modelVersion")));
        const QJsonValue metadata = obj.value(QLatin1String("usageMetadata"));
        // Each streamed chunk repeats the running totals; the last one is final.
        if (metadata.isObject() && accountsUsage(kind)) usage = geminiUsage(metadata.toObject());
        const QJsonArray candidates = obj.value(QLatin1String("candidates")).toArray();
        for (const QJsonValue &candidate : candidates) {
            const QByteArray reason =
                text(candidate.toObject().value(QLatin1String("finishReason")));
            if (!reason.isEmpty()) {
                stopReason = reason;
                terminal = true;
                break;
            }
        }
        const QByteArray blocked = text(obj.value(QLatin1String("promptFeedback"))
                                            .toObject()
                                            .value(QLatin1String("blockReason")));
        if (!blocked.isEmpty()) {
            stopReason = blocked;
            terminal = true;
        }
    }
};

}  // namespace

UsageAccumulator::UsageAccumulator(WireFormat format, EndpointKind kind)
    : m_format(format), m_kind(kind) {}

void UsageAccumulator::addJsonBody(QByteArrayView body) {
    UsageAccumulatorImpl impl{m_format,    m_kind,         m_usage,      m_model,
                              m_errorType, m_errorMessage, m_stopReason, m_terminal};
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(body.toByteArray(), &error);
    if (error.error == QJsonParseError::NoError) {
        if (doc.isObject()) {
            impl.handle(doc.object());
            m_terminal = true;  // a whole body: the exchange completed
        } else if (doc.isArray()) {
            // Gemini streamGenerateContent without alt=sse: one array of responses.
            for (const QJsonValue &element : doc.array()) {
                if (element.isObject()) impl.handle(element.toObject());
            }
            m_terminal = true;
        }
        return;
    }
    // A JSON-array stream cut off mid-way still has complete elements worth counting.
    const qsizetype open = json_scan::skipWhitespace(body, 0);
    if (open >= body.size() || body[open] != '[') return;
    qsizetype pos = open + 1;
    while (pos < body.size()) {
        pos = json_scan::skipWhitespace(body, pos);
        if (pos < body.size() && body[pos] == ',') pos = json_scan::skipWhitespace(body, pos + 1);
        if (pos >= body.size() || body[pos] != '{') break;
        const qsizetype end = json_scan::valueEnd(body, pos);
        if (end < 0) break;
        const QJsonDocument element =
            QJsonDocument::fromJson(body.sliced(pos, end - pos).toByteArray());
        if (!element.isObject()) break;
        impl.handle(element.object());
        pos = end;
    }
}

bool UsageAccumulator::addSseEvent(const SseEvent &event) {
    if (event.commentOnly || event.data.isEmpty()) return false;
    if (event.data == "[DONE]") {
        m_terminal = true;
        return false;
    }
    if (isContentOnlyEvent(m_format, event.event)) return false;
    if (!startsLikeJsonObject(event.data)) return false;
    const QJsonDocument doc = QJsonDocument::fromJson(event.data);
    if (!doc.isObject()) return false;
    UsageAccumulatorImpl impl{m_format,    m_kind,         m_usage,      m_model,
                              m_errorType, m_errorMessage, m_stopReason, m_terminal};
    return impl.handle(doc.object());
}

QByteArray stripNullUsage(const SseEvent &event) {
    const QByteArray &raw = event.raw;
    // Cheap exits first: this runs on every chunk of an injected stream. An event without data
    // (also the unparsed pass-through of an oversized event) is never edited.
    if (event.data.isEmpty() || !event.data.contains("\"usage\"")) return raw;
    const char *d = raw.constData();
    const qsizetype n = raw.size();
    // Locate the one data line; a JSON split over several data lines is left alone.
    qsizetype valueBegin = -1;
    qsizetype valueEnd = -1;
    int dataLines = 0;
    qsizetype pos = 0;
    while (pos < n) {
        qsizetype end = pos;
        while (end < n && d[end] != '\n' && d[end] != '\r') ++end;
        const QByteArrayView line(d + pos, end - pos);
        if (line.isEmpty()) break;
        if (line == "data" || line.startsWith("data:")) {
            ++dataLines;
            valueBegin = pos + qMin<qsizetype>(line.size(), 5);
            if (valueBegin < end && d[valueBegin] == ' ') ++valueBegin;
            valueEnd = end;
        }
        pos = end;
        if (pos < n) pos += (d[pos] == '\r' && pos + 1 < n && d[pos + 1] == '\n') ? 2 : 1;
    }
    if (dataLines != 1) return raw;

    const QByteArrayView json(d + valueBegin, valueEnd - valueBegin);
    const qsizetype open = json_scan::skipWhitespace(json, 0);
    QList<json_scan::Member> members;
    if (open >= json.size() || !json_scan::objectMembers(json, open, &members)) return raw;
    for (qsizetype i = 0; i < members.size(); ++i) {
        const json_scan::Member &m = members[i];
        if (m.key != "usage" || json.sliced(m.valueBegin, m.valueEnd - m.valueBegin) != "null")
            continue;
        // Take the comma on the side that keeps the object well formed.
        qsizetype cutBegin = m.keyBegin;
        qsizetype cutEnd = m.valueEnd;
        if (i > 0) {
            cutBegin = members[i - 1].valueEnd;
        } else if (i + 1 < members.size()) {
            cutEnd = members[i + 1].keyBegin;
        }
        QByteArray stripped = raw;
        stripped.remove(valueBegin + cutBegin, cutEnd - cutBegin);
        return stripped;
    }
    return raw;
}

}  // namespace airlock
