#include "core/providers/translate_gemini.h"

#include "core/providers/translate_anthropic.h"

#include <QDateTime>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>

namespace airlock::translate {

namespace {

QString str(const QJsonObject &o, const char *key) {
    return o.value(QLatin1String(key)).toString();
}

// Gemini's function schemas are an OpenAPI subset: drop the JSON Schema keys it rejects.
QJsonValue geminiSchema(const QJsonValue &v) {
    if (v.isArray()) {
        QJsonArray out;
        for (const QJsonValue &e : v.toArray()) out.append(geminiSchema(e));
        return out;
    }
    if (!v.isObject()) return v;
    QJsonObject out;
    const QJsonObject o = v.toObject();
    for (auto it = o.begin(); it != o.end(); ++it) {
        if (it.key() == QLatin1String("$schema") ||
            it.key() == QLatin1String("additionalProperties") ||
            it.key() == QLatin1String("strict"))
            continue;
        out.insert(it.key(), geminiSchema(it.value()));
    }
    return out;
}

QString finishFromGemini(const QString &reason, bool toolCalls) {
    if (toolCalls) return QStringLiteral("tool_calls");
    if (reason == QLatin1String("MAX_TOKENS")) return QStringLiteral("length");
    if (reason == QLatin1String("STOP") || reason.isEmpty()) return QStringLiteral("stop");
    return QStringLiteral("content_filter");  // SAFETY, RECITATION, BLOCKLIST, ...
}

QJsonObject usageFromGemini(const QJsonObject &u) {
    const qint64 prompt = u.value(QLatin1String("promptTokenCount")).toInteger();
    const qint64 output = u.value(QLatin1String("candidatesTokenCount")).toInteger() +
                          u.value(QLatin1String("thoughtsTokenCount")).toInteger();
    return {{QStringLiteral("prompt_tokens"), prompt},
            {QStringLiteral("completion_tokens"), output},
            {QStringLiteral("total_tokens"), prompt + output},
            {QStringLiteral("prompt_tokens_details"),
             QJsonObject{{QStringLiteral("cached_tokens"),
                          u.value(QLatin1String("cachedContentTokenCount")).toInteger()}}},
            {QStringLiteral("completion_tokens_details"),
             QJsonObject{{QStringLiteral("reasoning_tokens"),
                          u.value(QLatin1String("thoughtsTokenCount")).toInteger()}}}};
}

}  // namespace

QJsonObject openAiToGeminiRequest(const QJsonObject &in, QString *error) {
    auto refuse = [error](const QString &why) {
        *error = why;
        return QJsonObject();
    };
    if (in.value(QLatin1String("n")).toInt(1) != 1)
        return refuse(QStringLiteral("n > 1 cannot be served by a Gemini target"));
    if (in.value(QLatin1String("logprobs")).toBool() || in.contains(QLatin1String("audio")) ||
        in.contains(QLatin1String("web_search_options")))
        return refuse(
            QStringLiteral("logprobs, audio and web search cannot be served by a Gemini target"));
    QJsonObject out;
    QString system;
    QJsonArray contents;
    QHash<QString, QString> toolNames;  // tool_call_id -> function name (Gemini answers by name)
    auto append = [&contents](const QString &role, const QJsonArray &parts) {
        appendTurnMergingRole(&contents, role, parts, QLatin1String("parts"));
    };
    for (const QJsonValue &mv : in.value(QLatin1String("messages")).toArray()) {
        const QJsonObject m = mv.toObject();
        const QString role = str(m, "role");
        const QJsonValue content = m.value(QLatin1String("content"));
        bool onlyText = true;
        if (role == QLatin1String("system") || role == QLatin1String("developer")) {
            const QString text = textOfContent(content, &onlyText);
            if (!onlyText) return refuse(QStringLiteral("a system message may hold only text"));
            if (!system.isEmpty()) system += QStringLiteral("\n\n");
            system += text;
        } else if (role == QLatin1String("user")) {
            QJsonArray parts;
            if (content.isString())
                parts.append(QJsonObject{{QStringLiteral("text"), content.toString()}});
            for (const QJsonValue &pv : content.toArray()) {
                const QJsonObject p = pv.toObject();
                if (str(p, "type") == QLatin1String("text")) {
                    parts.append(QJsonObject{{QStringLiteral("text"), str(p, "text")}});
                } else if (str(p, "type") == QLatin1String("image_url")) {
                    const QString url = p.value(QLatin1String("image_url"))
                                            .toObject()
                                            .value(QLatin1String("url"))
                                            .toString();
                    const qsizetype comma = url.indexOf(QLatin1Char(','));
                    const qsizetype semi = url.indexOf(QLatin1String(";base64"));
                    if (!url.startsWith(QLatin1String("data:")) || comma < 0 || semi < 0 ||
                        semi > comma)
                        return refuse(QStringLiteral(
                            "a Gemini target takes images only as base64 data URLs"));
                    parts.append(
                        QJsonObject{{QStringLiteral("inlineData"),
                                     QJsonObject{{QStringLiteral("mimeType"), url.mid(5, semi - 5)},
                                                 {QStringLiteral("data"), url.mid(comma + 1)}}}});
                } else {
                    return refuse(
                        QStringLiteral("content part '%1' cannot be served by a Gemini target")
                            .arg(str(p, "type")));
                }
            }
            append(QStringLiteral("user"), parts);
        } else if (role == QLatin1String("assistant")) {
            QJsonArray parts;
            const QString text = textOfContent(content, &onlyText);
            if (!text.isEmpty()) parts.append(QJsonObject{{QStringLiteral("text"), text}});
            for (const QJsonValue &tv : m.value(QLatin1String("tool_calls")).toArray()) {
                const QJsonObject tc = tv.toObject();
                const QJsonObject fn = tc.value(QLatin1String("function")).toObject();
                const QJsonDocument args = QJsonDocument::fromJson(str(fn, "arguments").toUtf8());
                if (!args.isObject() && !str(fn, "arguments").isEmpty())
                    return refuse(QStringLiteral("tool call arguments must be a JSON object"));
                toolNames.insert(str(tc, "id"), str(fn, "name"));
                parts.append(QJsonObject{{QStringLiteral("functionCall"),
                                          QJsonObject{{QStringLiteral("name"), str(fn, "name")},
                                                      {QStringLiteral("args"), args.object()}}}});
            }
            if (!parts.isEmpty()) append(QStringLiteral("model"), parts);
        } else if (role == QLatin1String("tool")) {
            const QString id = str(m, "tool_call_id");
            if (!toolNames.contains(id))
                return refuse(
                    QStringLiteral("tool message '%1' answers no earlier tool call").arg(id));
            append(QStringLiteral("user"),
                   QJsonArray{QJsonObject{
                       {QStringLiteral("functionResponse"),
                        QJsonObject{{QStringLiteral("name"), toolNames.value(id)},
                                    {QStringLiteral("response"),
                                     QJsonObject{{QStringLiteral("content"),
                                                  textOfContent(content, &onlyText)}}}}}}});
        } else {
            return refuse(
                QStringLiteral("message role '%1' cannot be served by a Gemini target").arg(role));
        }
    }
    out.insert(QStringLiteral("contents"), contents);
    if (!system.isEmpty())
        out.insert(QStringLiteral("systemInstruction"),
                   QJsonObject{{QStringLiteral("parts"),
                                QJsonArray{QJsonObject{{QStringLiteral("text"), system}}}}});
    QJsonObject gen;
    const QJsonValue maxTokens = in.contains(QLatin1String("max_completion_tokens"))
                                     ? in.value(QLatin1String("max_completion_tokens"))
                                     : in.value(QLatin1String("max_tokens"));
    if (maxTokens.isDouble()) gen.insert(QStringLiteral("maxOutputTokens"), maxTokens);
    if (in.contains(QLatin1String("temperature")))
        gen.insert(QStringLiteral("temperature"), in.value(QLatin1String("temperature")));
    if (in.contains(QLatin1String("top_p")))
        gen.insert(QStringLiteral("topP"), in.value(QLatin1String("top_p")));
    const QJsonValue stop = in.value(QLatin1String("stop"));
    if (stop.isString())
        gen.insert(QStringLiteral("stopSequences"), QJsonArray{stop});
    else if (stop.isArray())
        gen.insert(QStringLiteral("stopSequences"), stop);
    const QString rf = in.value(QLatin1String("response_format"))
                           .toObject()
                           .value(QLatin1String("type"))
                           .toString();
    if (rf == QLatin1String("json_object"))
        gen.insert(QStringLiteral("responseMimeType"), QStringLiteral("application/json"));
    else if (!rf.isEmpty() && rf != QLatin1String("text"))
        return refuse(
            QStringLiteral("response_format %1 cannot be served by a Gemini target").arg(rf));
    if (!gen.isEmpty()) out.insert(QStringLiteral("generationConfig"), gen);
    if (in.contains(QLatin1String("tools"))) {
        QJsonArray decls;
        for (const QJsonValue &tv : in.value(QLatin1String("tools")).toArray()) {
            const QJsonObject t = tv.toObject();
            if (str(t, "type") != QLatin1String("function"))
                return refuse(QStringLiteral("tool type '%1' cannot be served by a Gemini target")
                                  .arg(str(t, "type")));
            const QJsonObject fn = t.value(QLatin1String("function")).toObject();
            QJsonObject d{{QStringLiteral("name"), str(fn, "name")}};
            if (fn.contains(QLatin1String("description")))
                d.insert(QStringLiteral("description"), fn.value(QLatin1String("description")));
            if (fn.contains(QLatin1String("parameters")))
                d.insert(QStringLiteral("parameters"),
                         geminiSchema(fn.value(QLatin1String("parameters"))));
            decls.append(d);
        }
        out.insert(QStringLiteral("tools"),
                   QJsonArray{QJsonObject{{QStringLiteral("functionDeclarations"), decls}}});
    }
    const QJsonValue tc = in.value(QLatin1String("tool_choice"));
    QJsonObject fcc;
    if (tc.toString() == QLatin1String("auto"))
        fcc = {{QStringLiteral("mode"), QStringLiteral("AUTO")}};
    else if (tc.toString() == QLatin1String("none"))
        fcc = {{QStringLiteral("mode"), QStringLiteral("NONE")}};
    else if (tc.toString() == QLatin1String("required"))
        fcc = {{QStringLiteral("mode"), QStringLiteral("ANY")}};
    else if (tc.isObject())
        fcc = {{QStringLiteral("mode"), QStringLiteral("ANY")},
               {QStringLiteral("allowedFunctionNames"),
                QJsonArray{tc.toObject()
                               .value(QLatin1String("function"))
                               .toObject()
                               .value(QLatin1String("name"))}}};
    if (!fcc.isEmpty())
        out.insert(QStringLiteral("toolConfig"),
                   QJsonObject{{QStringLiteral("functionCallingConfig"), fcc}});
    return out;
}

namespace {

// Text and tool calls of a Gemini response's first candidate.
struct GeminiParts {
    QString text;
    QJsonArray toolCalls;  // OpenAI shape (with index)
    QString finishReason;
};

GeminiParts readCandidate(const QJsonObject &in, int *toolCounter) {
    GeminiParts g;
    const QJsonObject cand = in.value(QLatin1String("candidates")).toArray().at(0).toObject();
    g.finishReason = str(cand, "finishReason");
    for (const QJsonValue &pv :
         cand.value(QLatin1String("content")).toObject().value(QLatin1String("parts")).toArray()) {
        const QJsonObject p = pv.toObject();
        if (p.value(QLatin1String("thought")).toBool()) continue;
        if (p.contains(QLatin1String("text"))) g.text += str(p, "text");
        if (p.contains(QLatin1String("functionCall"))) {
            const QJsonObject fc = p.value(QLatin1String("functionCall")).toObject();
            const int index = (*toolCounter)++;
            g.toolCalls.append(QJsonObject{
                {QStringLiteral("index"), index},
                {QStringLiteral("id"),
                 str(fc, "id").isEmpty() ? QStringLiteral("call_%1").arg(index) : str(fc, "id")},
                {QStringLiteral("type"), QStringLiteral("function")},
                {QStringLiteral("function"),
                 QJsonObject{
                     {QStringLiteral("name"), str(fc, "name")},
                     {QStringLiteral("arguments"),
                      QString::fromUtf8(QJsonDocument(fc.value(QLatin1String("args")).toObject())
                                            .toJson(QJsonDocument::Compact))}}}});
        }
    }
    return g;
}

}  // namespace

QJsonObject geminiToOpenAiResponse(const QJsonObject &in, const QByteArray &model) {
    int counter = 0;
    const GeminiParts g = readCandidate(in, &counter);
    QJsonArray toolCalls;
    for (const QJsonValue &tv : g.toolCalls) {
        QJsonObject t = tv.toObject();
        t.remove(QStringLiteral("index"));
        toolCalls.append(t);
    }
    QJsonObject message{
        {QStringLiteral("role"), QStringLiteral("assistant")},
        {QStringLiteral("content"),
         g.text.isEmpty() && !toolCalls.isEmpty() ? QJsonValue() : QJsonValue(g.text)},
        {QStringLiteral("refusal"), QJsonValue()}};
    if (!toolCalls.isEmpty()) message.insert(QStringLiteral("tool_calls"), toolCalls);
    const QString served = str(in, "modelVersion");
    return {{QStringLiteral("id"), QStringLiteral("chatcmpl-") + (str(in, "responseId").isEmpty()
                                                                      ? QStringLiteral("airlock")
                                                                      : str(in, "responseId"))},
            {QStringLiteral("object"), QStringLiteral("chat.completion")},
            {QStringLiteral("created"), QDateTime::currentSecsSinceEpoch()},
            {QStringLiteral("model"), served.isEmpty() ? QString::fromUtf8(model) : served},
            {QStringLiteral("choices"),
             QJsonArray{QJsonObject{{QStringLiteral("index"), 0},
                                    {QStringLiteral("message"), message},
                                    {QStringLiteral("logprobs"), QJsonValue()},
                                    {QStringLiteral("finish_reason"),
                                     finishFromGemini(g.finishReason, !toolCalls.isEmpty())}}}},
            {QStringLiteral("usage"),
             usageFromGemini(in.value(QLatin1String("usageMetadata")).toObject())}};
}

namespace {

class GeminiToOpenAiStream : public StreamTranslator {
public:
    GeminiToOpenAiStream(bool includeUsage, const QByteArray &model)
        : m_includeUsage(includeUsage), m_model(QString::fromUtf8(model)) {}

    void feed(const SseEvent &event, QByteArray *out) override {
        if (m_done || event.commentOnly || event.data.isEmpty()) return;
        const QJsonObject d = QJsonDocument::fromJson(event.data).object();
        if (d.contains(QLatin1String("error"))) {
            const QJsonObject e = d.value(QLatin1String("error")).toObject();
            *out += sseData(QJsonObject{{QStringLiteral("error"),
                                         QJsonObject{{QStringLiteral("message"), str(e, "message")},
                                                     {QStringLiteral("type"), str(e, "status")},
                                                     {QStringLiteral("code"), QJsonValue()}}}});
            m_done = true;
            return;
        }
        if (m_id.isEmpty()) {
            m_id =
                QStringLiteral("chatcmpl-") +
                (str(d, "responseId").isEmpty() ? QStringLiteral("airlock") : str(d, "responseId"));
            if (!str(d, "modelVersion").isEmpty()) m_model = str(d, "modelVersion");
            *out += chunk(QJsonObject{{QStringLiteral("role"), QStringLiteral("assistant")},
                                      {QStringLiteral("content"), QString()}});
        }
        if (d.value(QLatin1String("usageMetadata")).isObject())
            m_usage = d.value(QLatin1String("usageMetadata")).toObject();
        const GeminiParts g = readCandidate(d, &m_toolCounter);
        if (!g.text.isEmpty()) *out += chunk(QJsonObject{{QStringLiteral("content"), g.text}});
        if (!g.toolCalls.isEmpty()) {
            m_sawTools = true;
            *out += chunk(QJsonObject{{QStringLiteral("tool_calls"), g.toolCalls}});
        }
        if (!g.finishReason.isEmpty()) m_finish = finishFromGemini(g.finishReason, m_sawTools);
    }

    void finish(QByteArray *out) override {
        if (m_done || m_id.isEmpty()) return;
        *out += chunk(QJsonObject(), m_finish.isEmpty() ? QStringLiteral("stop") : m_finish);
        if (m_includeUsage)
            *out += sseData(
                QJsonObject{{QStringLiteral("id"), m_id},
                            {QStringLiteral("object"), QStringLiteral("chat.completion.chunk")},
                            {QStringLiteral("created"), m_created},
                            {QStringLiteral("model"), m_model},
                            {QStringLiteral("choices"), QJsonArray()},
                            {QStringLiteral("usage"), usageFromGemini(m_usage)}});
        *out += "data: [DONE]\n\n";
        m_done = true;
    }

private:
    QByteArray chunk(const QJsonObject &delta, const QString &finish = {}) const {
        return sseData(QJsonObject{
            {QStringLiteral("id"), m_id},
            {QStringLiteral("object"), QStringLiteral("chat.completion.chunk")},
            {QStringLiteral("created"), m_created},
            {QStringLiteral("model"), m_model},
            {QStringLiteral("choices"),
             QJsonArray{QJsonObject{{QStringLiteral("index"), 0},
                                    {QStringLiteral("delta"), delta},
                                    {QStringLiteral("logprobs"), QJsonValue()},
                                    {QStringLiteral("finish_reason"),
                                     finish.isEmpty() ? QJsonValue() : QJsonValue(finish)}}}}});
    }

    bool m_includeUsage;
    bool m_done = false;
    bool m_sawTools = false;
    int m_toolCounter = 0;
    QString m_id;
    QString m_model;
    QString m_finish;
    qint64 m_created = QDateTime::currentSecsSinceEpoch();
    QJsonObject m_usage;
};

}  // namespace

std::unique_ptr<StreamTranslator> geminiToOpenAiStream(bool includeUsage, const QByteArray &model) {
    return std::make_unique<GeminiToOpenAiStream>(includeUsage, model);
}

}  // namespace airlock::translate
