#include "core/providers/usage_accumulator.h"

#include "core/providers/json_scan.h"

#include <QJsonDocument>

#include <algorithm>

namespace airlock {

namespace {

using json_scan::ObjectView;
using json_scan::ValueView;

// Token counts are never negative and never beyond what a double holds exactly.
qint64 count(const ObjectView &obj, QByteArrayView key) {
    const double d = obj.value(key).toDouble(0);
    if (!(d > 0)) return 0;
    return d > 9.0e15 ? qint64(9e15) : static_cast<qint64>(d);
}

QByteArray text(const ValueView &value) {
    return value.toString();
}

bool accountsUsage(EndpointKind kind) {
    // count_tokens is free, model lists have no tokens, pass-through paths are not accounted.
    return kind != EndpointKind::CountTokens && kind != EndpointKind::Models &&
           kind != EndpointKind::Passthrough;
}

// OpenAI chat/completions/embeddings ("prompt_tokens") and Responses ("input_tokens") usage.
TokenUsage openAiUsage(const ObjectView &u) {
    TokenUsage t;
    t.reported = true;
    if (u.contains("input_tokens") && !u.contains("prompt_tokens")) {
        t.inputTokens = count(u, "input_tokens");
        t.outputTokens = count(u, "output_tokens");
        t.cachedInputTokens = count(u.value("input_tokens_details").toObject(), "cached_tokens");
        t.reasoningTokens = count(u.value("output_tokens_details").toObject(), "reasoning_tokens");
    } else {
        const ObjectView promptDetails = u.value("prompt_tokens_details").toObject();
        t.inputTokens = count(u, "prompt_tokens");
        t.outputTokens = count(u, "completion_tokens");
        t.cachedInputTokens = count(promptDetails, "cached_tokens");
        // Not OpenAI's own field, but gateways in front of caching providers report it here.
        t.cacheWriteTokens = count(promptDetails, "cache_write_tokens");
        t.reasoningTokens =
            count(u.value("completion_tokens_details").toObject(), "reasoning_tokens");
    }
    return t;
}

// Anthropic usage is cumulative within a stream (message_start, then message_delta): each
// field present replaces the earlier value when larger; nothing is ever added up.
void mergeAnthropicUsage(TokenUsage *t, const ObjectView &u) {
    qint64 uncached =
        std::max<qint64>(0, t->inputTokens - t->cachedInputTokens - t->cacheWriteTokens);
    const auto raise = [&u](qint64 *field, QByteArrayView key) {
        if (u.value(key).isNumber()) *field = std::max(*field, count(u, key));
    };
    raise(&uncached, "input_tokens");
    raise(&t->cachedInputTokens, "cache_read_input_tokens");
    raise(&t->cacheWriteTokens, "cache_creation_input_tokens");
    raise(&t->outputTokens, "output_tokens");
    t->inputTokens = uncached + t->cachedInputTokens + t->cacheWriteTokens;
    t->reported = true;
}

TokenUsage geminiUsage(const ObjectView &m) {
    TokenUsage t;
    t.reported = true;
    const qint64 thoughts = count(m, "thoughtsTokenCount");
    // Tool-use prompt tokens (e.g. search results fed back) are billed as input but are not
    // part of promptTokenCount.
    t.inputTokens = count(m, "promptTokenCount") + count(m, "toolUsePromptTokenCount");
    t.cachedInputTokens = count(m, "cachedContentTokenCount");
    t.outputTokens = count(m, "candidatesTokenCount") + thoughts;
    t.reasoningTokens = thoughts;
    return t;
}

struct UpstreamError {
    QByteArray type;
    QByteArray message;
};

// Recognises the error shapes of all three formats (and of OpenAI-compatible servers).
bool findError(const ObjectView &obj, UpstreamError *out) {
    const ValueView error = obj.value("error");
    if (obj.value("type").stringEquals("error")) {
        if (error.isObject()) {  // Anthropic
            const ObjectView e = error.toObject();
            out->type = text(e.value("type"));
            if (out->type.isEmpty()) out->type = text(e.value("code"));
            out->message = text(e.value("message"));
        } else {  // OpenAI Responses stream: {"type":"error","code":…,"message":…}
            out->type = text(obj.value("code"));
            out->message = text(obj.value("message"));
        }
        if (out->type.isEmpty()) out->type = QByteArrayLiteral("error");
        return true;
    }
    if (error.isObject()) {
        const ObjectView e = error.toObject();
        // Gemini's status names the class; OpenAI's code is more specific than its type
        // ("rate_limit_exceeded" vs "requests").
        out->type = text(e.value("status"));
        if (out->type.isEmpty()) out->type = text(e.value("code"));
        if (out->type.isEmpty()) out->type = text(e.value("type"));
        qint64 code = 0;
        if (out->type.isEmpty() && e.value("code").isNumber()) {
            // QJsonValue::toInteger(): 0 for a number that is not integral.
            if (!json_scan::readInteger(e.value("code").token(), &code)) code = 0;
            out->type = QByteArray::number(code);
        }
        if (out->type.isEmpty()) out->type = QByteArrayLiteral("error");
        out->message = text(e.value("message"));
        return true;
    }
    if (error.isString() && !error.stringEquals("")) {
        out->type = QByteArrayLiteral("error");
        out->message = text(error);
        return true;
    }
    return false;
}

// Unknown format (e.g. an unclassified path): guess from the object's shape.
WireFormat guessFormat(const ObjectView &obj) {
    if (obj.contains("usageMetadata") || obj.contains("candidates") || obj.contains("modelVersion"))
        return WireFormat::Gemini;
    const QByteArray type = text(obj.value("type"));
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

// Whether QJsonDocument would take text that the strict validator refused (it is laxer about
// raw control characters, unknown escapes and numbers like "1."): the scanners read such text
// as QJsonDocument does, so the answer decides whether the old path would have seen a document.
bool laxParserAccepts(QByteArrayView text) {
    QJsonParseError error;
    QJsonDocument::fromJson(text.toByteArray(), &error);
    return error.error == QJsonParseError::NoError;
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

    void setModel(const ValueView &value) {
        // Every chunk of a stream repeats the model: compare before allocating a copy.
        if (!value.isString() || value.stringEquals("") || value.stringEquals(model)) return;
        model = value.toString();
    }

    // Returns true for an OpenAI usage-only final chunk.
    bool handle(const ObjectView &obj) {
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

    bool handleOpenAi(const ObjectView &obj) {
        const QByteArray type = text(obj.value("type"));
        if (kind == EndpointKind::Responses || type.startsWith("response.") ||
            obj.value("object").stringEquals("response")) {
            handleResponses(obj, type);
            return false;
        }
        setModel(obj.value("model"));
        const ValueView usageValue = obj.value("usage");
        if (usageValue.isObject() && accountsUsage(kind))
            usage = openAiUsage(usageValue.toObject());
        const ValueView choices = obj.value("choices");
        const ValueView firstChoice = choices.arrayAt(0);
        if (firstChoice.isPresent()) {
            const QByteArray reason = text(firstChoice.toObject().value("finish_reason"));
            if (!reason.isEmpty()) {
                stopReason = reason;
                terminal = true;
            }
        }
        return (kind == EndpointKind::ChatCompletions || kind == EndpointKind::Completions) &&
               choices.isArray() && !firstChoice.isPresent() && usageValue.isObject();
    }

    void handleResponses(const ObjectView &obj, const QByteArray &type) {
        const ObjectView response =
            obj.value("object").stringEquals("response") ? obj : obj.value("response").toObject();
        if (response.isEmpty()) return;
        setModel(response.value("model"));
        const ValueView usageValue = response.value("usage");
        if (usageValue.isObject() && accountsUsage(kind))
            usage = openAiUsage(usageValue.toObject());
        const QByteArray status = text(response.value("status"));
        const bool finished = type == "response.completed" || type == "response.incomplete" ||
                              type == "response.failed" || status == "completed" ||
                              status == "incomplete" || status == "failed" || status == "cancelled";
        if (finished) {
            terminal = true;
            const QByteArray reason =
                text(response.value("incomplete_details").toObject().value("reason"));
            stopReason = reason.isEmpty() ? status : reason;
        }
        const ValueView failure = response.value("error");
        if (failure.isObject()) {
            const ObjectView e = failure.toObject();
            errorType = text(e.value("code"));
            if (errorType.isEmpty()) errorType = text(e.value("type"));
            if (errorType.isEmpty()) errorType = QByteArrayLiteral("error");
            errorMessage = text(e.value("message"));
        }
    }

    void handleAnthropic(const ObjectView &obj) {
        const ValueView type = obj.value("type");
        const bool accounts = accountsUsage(kind);
        if (type.stringEquals("message")) {  // a whole JSON response
            setModel(obj.value("model"));
            if (accounts && obj.value("usage").isObject())
                mergeAnthropicUsage(&usage, obj.value("usage").toObject());
            const QByteArray reason = text(obj.value("stop_reason"));
            if (!reason.isEmpty()) stopReason = reason;
            terminal = true;
        } else if (type.stringEquals("message_start")) {
            const ObjectView message = obj.value("message").toObject();
            setModel(message.value("model"));
            if (accounts && message.value("usage").isObject())
                mergeAnthropicUsage(&usage, message.value("usage").toObject());
        } else if (type.stringEquals("message_delta")) {
            if (accounts && obj.value("usage").isObject())
                mergeAnthropicUsage(&usage, obj.value("usage").toObject());
            const QByteArray reason = text(obj.value("delta").toObject().value("stop_reason"));
            if (!reason.isEmpty()) stopReason = reason;
        } else if (type.stringEquals("message_stop")) {
            terminal = true;
        }
    }

    void handleGemini(const ObjectView &obj) {
        setModel(obj.value("modelVersion"));
        const ValueView metadata = obj.value("usageMetadata");
        // Each streamed chunk repeats the running totals; the last one is final.
        if (metadata.isObject() && accountsUsage(kind)) usage = geminiUsage(metadata.toObject());
        json_scan::ArrayIterator it = obj.value("candidates").elements();
        for (ValueView candidate = it.next(); candidate.isPresent(); candidate = it.next()) {
            const QByteArray reason = text(candidate.toObject().value("finishReason"));
            if (!reason.isEmpty()) {
                stopReason = reason;
                terminal = true;
                break;
            }
        }
        const QByteArray blocked =
            text(obj.value("promptFeedback").toObject().value("blockReason"));
        if (!blocked.isEmpty()) {
            stopReason = blocked;
            terminal = true;
        }
    }
};

// Reads one document: an object, or (Gemini without alt=sse) an array of objects. Returns
// handle()'s answer for an object; *parsed says whether the text was a document at all.
bool handleDocument(UsageAccumulatorImpl &impl, QByteArrayView text, bool *isObject, bool *parsed) {
    ObjectView top(text);
    const json_scan::Validation validation =
        json_scan::validate(text, [&top](const json_scan::MemberSpan &m) { top.append(m); });
    *parsed = validation.ok() || laxParserAccepts(text);
    *isObject = false;
    if (!*parsed) return false;
    const qsizetype open = json_scan::skipWhitespace(text, 0);
    if (text[open] == '{') {
        *isObject = true;
        // Text only the lax parser took is indexed by a rescan (the callback saw part of it).
        return impl.handle(validation.ok() ? top : ObjectView(text, open));
    }
    json_scan::ArrayIterator it(text, open);
    for (ValueView element = it.next(); element.isPresent(); element = it.next()) {
        if (element.isObject()) impl.handle(element.toObject());
    }
    return false;
}

}  // namespace

UsageAccumulator::UsageAccumulator(WireFormat format, EndpointKind kind)
    : m_format(format), m_kind(kind) {}

void UsageAccumulator::addJsonBody(QByteArrayView body) {
    UsageAccumulatorImpl impl{m_format,    m_kind,         m_usage,      m_model,
                              m_errorType, m_errorMessage, m_stopReason, m_terminal};
    bool isObject = false;
    bool parsed = false;
    handleDocument(impl, body, &isObject, &parsed);
    if (parsed) {
        m_terminal = true;  // a whole body (or a whole JSON-array stream): the exchange completed
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
        const QByteArrayView element = body.sliced(pos, end - pos);
        bool elementIsObject = false;
        bool elementParsed = false;
        handleDocument(impl, element, &elementIsObject, &elementParsed);
        if (!elementParsed || !elementIsObject) break;
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
    UsageAccumulatorImpl impl{m_format,    m_kind,         m_usage,      m_model,
                              m_errorType, m_errorMessage, m_stopReason, m_terminal};
    bool isObject = false;
    bool parsed = false;
    return handleDocument(impl, event.data, &isObject, &parsed);
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
    // One walk without copies; only a complete object is edited.
    json_scan::MemberIterator it(json, open);
    json_scan::MemberSpan member;
    qsizetype previousEnd = -1;  // value end of the member before the current one
    qsizetype cutBegin = -1;
    qsizetype cutEnd = -1;
    bool cutNeedsNextKey = false;
    while (it.next(&member)) {
        if (cutNeedsNextKey) {
            cutEnd = member.keyBegin;
            cutNeedsNextKey = false;
        }
        if (cutBegin < 0 && json_scan::keyEquals(member.rawKey, "usage") &&
            json.sliced(member.valueBegin, member.valueEnd - member.valueBegin) == "null") {
            // Take the comma on the side that keeps the object well formed.
            cutBegin = previousEnd >= 0 ? previousEnd : member.keyBegin;
            cutEnd = member.valueEnd;
            cutNeedsNextKey = previousEnd < 0;
        }
        previousEnd = member.valueEnd;
    }
    if (!it.complete() || cutBegin < 0) return raw;
    QByteArray stripped = raw;
    stripped.remove(valueBegin + cutBegin, cutEnd - cutBegin);
    return stripped;
}

}  // namespace airlock
