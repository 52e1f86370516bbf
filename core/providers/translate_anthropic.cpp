#include "core/providers/translate_anthropic.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QMap>

namespace airlock::translate {

namespace {

// Anthropic requires max_tokens; OpenAI clients often leave it out.
constexpr int kDefaultAnthropicMaxTokens = 4096;

QString str(const QJsonObject &o, const char *key) {
    return o.value(QLatin1String(key)).toString();
}

// "data:image/png;base64,AAAA" -> media type + data; false when not a base64 data URL.
bool splitDataUrl(const QString &url, QString *mediaType, QString *data) {
    if (!url.startsWith(QLatin1String("data:"))) return false;
    const qsizetype comma = url.indexOf(QLatin1Char(','));
    const qsizetype semi = url.indexOf(QLatin1String(";base64"));
    if (comma < 0 || semi < 0 || semi > comma) return false;
    *mediaType = url.mid(5, semi - 5);
    *data = url.mid(comma + 1);
    return true;
}

}  // namespace

void appendTurnMergingRole(QJsonArray *turns, const QString &role, const QJsonArray &items,
                           QLatin1String itemsKey) {
    if (!turns->isEmpty()) {
        QJsonObject last = turns->last().toObject();
        if (str(last, "role") == role) {
            QJsonArray merged = last.value(itemsKey).toArray();
            for (const QJsonValue &item : items) merged.append(item);
            last.insert(itemsKey, merged);
            (*turns)[turns->size() - 1] = last;
            return;
        }
    }
    turns->append(QJsonObject{{QStringLiteral("role"), role}, {itemsKey, items}});
}

QByteArray sseData(const QJsonObject &o) {
    return "data: " + QJsonDocument(o).toJson(QJsonDocument::Compact) + "\n\n";
}

QByteArray sseEvent(const char *name, const QJsonObject &o) {
    return QByteArray("event: ") + name +
           "\ndata: " + QJsonDocument(o).toJson(QJsonDocument::Compact) + "\n\n";
}

QString openAiFinishFromAnthropic(const QString &r) {
    if (r == QLatin1String("max_tokens")) return QStringLiteral("length");
    if (r == QLatin1String("tool_use")) return QStringLiteral("tool_calls");
    if (r == QLatin1String("refusal")) return QStringLiteral("content_filter");
    return QStringLiteral("stop");  // end_turn, stop_sequence, pause_turn
}

QString anthropicStopFromOpenAi(const QString &r) {
    if (r == QLatin1String("length")) return QStringLiteral("max_tokens");
    if (r == QLatin1String("tool_calls") || r == QLatin1String("function_call"))
        return QStringLiteral("tool_use");
    if (r == QLatin1String("content_filter")) return QStringLiteral("refusal");
    return QStringLiteral("end_turn");
}

QString textOfContent(const QJsonValue &content, bool *onlyText) {
    *onlyText = true;
    if (content.isString()) return content.toString();
    if (content.isNull() || content.isUndefined()) return {};
    QString out;
    for (const QJsonValue &part : content.toArray()) {
        const QJsonObject p = part.toObject();
        if (str(p, "type") == QLatin1String("text")) {
            if (!out.isEmpty()) out += QLatin1Char('\n');
            out += str(p, "text");
        } else {
            *onlyText = false;
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// OpenAI client -> Anthropic target

QJsonObject openAiToAnthropicRequest(const QJsonObject &in, const QByteArray &model, bool stream,
                                     QString *error) {
    auto refuse = [error](const QString &why) {
        *error = why;
        return QJsonObject();
    };
    if (in.value(QLatin1String("n")).toInt(1) != 1)
        return refuse(QStringLiteral("n > 1 cannot be served by an Anthropic target"));
    if (in.value(QLatin1String("logprobs")).toBool() || in.contains(QLatin1String("top_logprobs")))
        return refuse(QStringLiteral("logprobs cannot be served by an Anthropic target"));
    if (in.contains(QLatin1String("audio")) || in.contains(QLatin1String("modalities")) ||
        in.contains(QLatin1String("prediction")) ||
        in.contains(QLatin1String("web_search_options")))
        return refuse(
            QStringLiteral("audio, modalities, prediction and web search cannot be served "
                           "by an Anthropic target"));
    const QString rf = in.value(QLatin1String("response_format"))
                           .toObject()
                           .value(QLatin1String("type"))
                           .toString();
    if (!rf.isEmpty() && rf != QLatin1String("text"))
        return refuse(
            QStringLiteral("response_format %1 cannot be served by an Anthropic target").arg(rf));

    QJsonObject out;
    out.insert(QStringLiteral("model"), QString::fromUtf8(model));
    QString system;
    QJsonArray messages;
    auto append = [&messages](const QString &role, const QJsonArray &blocks) {
        appendTurnMergingRole(&messages, role, blocks, QLatin1String("content"));
    };
    for (const QJsonValue &mv : in.value(QLatin1String("messages")).toArray()) {
        const QJsonObject m = mv.toObject();
        const QString role = str(m, "role");
        const QJsonValue content = m.value(QLatin1String("content"));
        if (role == QLatin1String("system") || role == QLatin1String("developer")) {
            bool onlyText = true;
            const QString text = textOfContent(content, &onlyText);
            if (!onlyText) return refuse(QStringLiteral("a system message may hold only text"));
            if (!system.isEmpty()) system += QStringLiteral("\n\n");
            system += text;
        } else if (role == QLatin1String("user")) {
            QJsonArray blocks;
            if (content.isString()) {
                blocks.append(QJsonObject{{QStringLiteral("type"), QStringLiteral("text")},
                                          {QStringLiteral("text"), content.toString()}});
            } else {
                for (const QJsonValue &pv : content.toArray()) {
                    const QJsonObject p = pv.toObject();
                    const QString type = str(p, "type");
                    if (type == QLatin1String("text")) {
                        blocks.append(QJsonObject{{QStringLiteral("type"), QStringLiteral("text")},
                                                  {QStringLiteral("text"), str(p, "text")}});
                    } else if (type == QLatin1String("image_url")) {
                        const QString url = p.value(QLatin1String("image_url"))
                                                .toObject()
                                                .value(QLatin1String("url"))
                                                .toString();
                        QString mediaType, data;
                        QJsonObject source;
                        if (splitDataUrl(url, &mediaType, &data))
                            source = {{QStringLiteral("type"), QStringLiteral("base64")},
                                      {QStringLiteral("media_type"), mediaType},
                                      {QStringLiteral("data"), data}};
                        else if (url.startsWith(QLatin1String("https://")) ||
                                 url.startsWith(QLatin1String("http://")))
                            source = {{QStringLiteral("type"), QStringLiteral("url")},
                                      {QStringLiteral("url"), url}};
                        else
                            return refuse(QStringLiteral(
                                "image_url must be a base64 data URL or an http(s) URL"));
                        blocks.append(QJsonObject{{QStringLiteral("type"), QStringLiteral("image")},
                                                  {QStringLiteral("source"), source}});
                    } else {
                        return refuse(
                            QStringLiteral(
                                "content part '%1' cannot be served by an Anthropic target")
                                .arg(type));
                    }
                }
            }
            append(QStringLiteral("user"), blocks);
        } else if (role == QLatin1String("assistant")) {
            QJsonArray blocks;
            bool onlyText = true;
            const QString text = textOfContent(content, &onlyText);
            if (!text.isEmpty())
                blocks.append(QJsonObject{{QStringLiteral("type"), QStringLiteral("text")},
                                          {QStringLiteral("text"), text}});
            for (const QJsonValue &tv : m.value(QLatin1String("tool_calls")).toArray()) {
                const QJsonObject tc = tv.toObject();
                const QJsonObject fn = tc.value(QLatin1String("function")).toObject();
                QJsonParseError pe;
                const QString argsText = str(fn, "arguments");
                const QJsonDocument args = QJsonDocument::fromJson(
                    argsText.isEmpty() ? QByteArray("{}") : argsText.toUtf8(), &pe);
                if (pe.error != QJsonParseError::NoError || !args.isObject())
                    return refuse(QStringLiteral("tool call arguments must be a JSON object"));
                blocks.append(QJsonObject{{QStringLiteral("type"), QStringLiteral("tool_use")},
                                          {QStringLiteral("id"), str(tc, "id")},
                                          {QStringLiteral("name"), str(fn, "name")},
                                          {QStringLiteral("input"), args.object()}});
            }
            if (blocks.isEmpty())
                blocks.append(QJsonObject{{QStringLiteral("type"), QStringLiteral("text")},
                                          {QStringLiteral("text"), QString()}});
            append(QStringLiteral("assistant"), blocks);
        } else if (role == QLatin1String("tool")) {
            bool onlyText = true;
            const QString text = textOfContent(content, &onlyText);
            append(QStringLiteral("user"),
                   QJsonArray{QJsonObject{{QStringLiteral("type"), QStringLiteral("tool_result")},
                                          {QStringLiteral("tool_use_id"), str(m, "tool_call_id")},
                                          {QStringLiteral("content"), text}}});
        } else {
            return refuse(
                QStringLiteral("message role '%1' cannot be served by an Anthropic target")
                    .arg(role));
        }
    }
    if (!system.isEmpty()) out.insert(QStringLiteral("system"), system);
    out.insert(QStringLiteral("messages"), messages);
    int maxTokens = kDefaultAnthropicMaxTokens;
    if (in.contains(QLatin1String("max_completion_tokens")))
        maxTokens = in.value(QLatin1String("max_completion_tokens")).toInt(maxTokens);
    else if (in.contains(QLatin1String("max_tokens")))
        maxTokens = in.value(QLatin1String("max_tokens")).toInt(maxTokens);
    out.insert(QStringLiteral("max_tokens"), maxTokens);
    for (const char *k : {"temperature", "top_p"})
        if (in.contains(QLatin1String(k))) out.insert(QLatin1String(k), in.value(QLatin1String(k)));
    const QJsonValue stop = in.value(QLatin1String("stop"));
    if (stop.isString())
        out.insert(QStringLiteral("stop_sequences"), QJsonArray{stop});
    else if (stop.isArray())
        out.insert(QStringLiteral("stop_sequences"), stop);
    if (in.contains(QLatin1String("user")))
        out.insert(QStringLiteral("metadata"),
                   QJsonObject{{QStringLiteral("user_id"), in.value(QLatin1String("user"))}});
    if (in.contains(QLatin1String("tools"))) {
        QJsonArray tools;
        for (const QJsonValue &tv : in.value(QLatin1String("tools")).toArray()) {
            const QJsonObject t = tv.toObject();
            if (str(t, "type") != QLatin1String("function"))
                return refuse(
                    QStringLiteral("tool type '%1' cannot be served by an Anthropic target")
                        .arg(str(t, "type")));
            const QJsonObject fn = t.value(QLatin1String("function")).toObject();
            QJsonObject tool{{QStringLiteral("name"), str(fn, "name")}};
            if (fn.contains(QLatin1String("description")))
                tool.insert(QStringLiteral("description"), fn.value(QLatin1String("description")));
            tool.insert(QStringLiteral("input_schema"),
                        fn.contains(QLatin1String("parameters"))
                            ? fn.value(QLatin1String("parameters"))
                            : QJsonObject{{QStringLiteral("type"), QStringLiteral("object")}});
            tools.append(tool);
        }
        out.insert(QStringLiteral("tools"), tools);
    }
    QJsonObject choice;
    const QJsonValue tc = in.value(QLatin1String("tool_choice"));
    if (tc.isString()) {
        const QString s = tc.toString();
        if (s == QLatin1String("auto"))
            choice = {{QStringLiteral("type"), QStringLiteral("auto")}};
        else if (s == QLatin1String("none"))
            choice = {{QStringLiteral("type"), QStringLiteral("none")}};
        else if (s == QLatin1String("required"))
            choice = {{QStringLiteral("type"), QStringLiteral("any")}};
    } else if (tc.isObject()) {
        choice = {{QStringLiteral("type"), QStringLiteral("tool")},
                  {QStringLiteral("name"), tc.toObject()
                                               .value(QLatin1String("function"))
                                               .toObject()
                                               .value(QLatin1String("name"))}};
    }
    if (in.value(QLatin1String("parallel_tool_calls")).isBool() &&
        !in.value(QLatin1String("parallel_tool_calls")).toBool() &&
        in.contains(QLatin1String("tools"))) {
        if (choice.isEmpty()) choice = {{QStringLiteral("type"), QStringLiteral("auto")}};
        choice.insert(QStringLiteral("disable_parallel_tool_use"), true);
    }
    if (!choice.isEmpty()) out.insert(QStringLiteral("tool_choice"), choice);
    if (stream) out.insert(QStringLiteral("stream"), true);
    return out;
}

namespace {

QJsonObject openAiUsageFromAnthropic(const QJsonObject &u) {
    const qint64 cacheRead = u.value(QLatin1String("cache_read_input_tokens")).toInteger();
    const qint64 cacheWrite = u.value(QLatin1String("cache_creation_input_tokens")).toInteger();
    const qint64 input =
        u.value(QLatin1String("input_tokens")).toInteger() + cacheRead + cacheWrite;
    const qint64 output = u.value(QLatin1String("output_tokens")).toInteger();
    return {{QStringLiteral("prompt_tokens"), input},
            {QStringLiteral("completion_tokens"), output},
            {QStringLiteral("total_tokens"), input + output},
            {QStringLiteral("prompt_tokens_details"),
             QJsonObject{{QStringLiteral("cached_tokens"), cacheRead}}}};
}

QString chatId(const QString &upstreamId) {
    return QStringLiteral("chatcmpl-") +
           (upstreamId.isEmpty() ? QStringLiteral("airlock") : upstreamId);
}

}  // namespace

QJsonObject anthropicToOpenAiResponse(const QJsonObject &in) {
    QString text;
    QJsonArray toolCalls;
    for (const QJsonValue &bv : in.value(QLatin1String("content")).toArray()) {
        const QJsonObject b = bv.toObject();
        const QString type = str(b, "type");
        if (type == QLatin1String("text")) {
            text += str(b, "text");
        } else if (type == QLatin1String("tool_use")) {
            toolCalls.append(QJsonObject{
                {QStringLiteral("id"), str(b, "id")},
                {QStringLiteral("type"), QStringLiteral("function")},
                {QStringLiteral("function"),
                 QJsonObject{
                     {QStringLiteral("name"), str(b, "name")},
                     {QStringLiteral("arguments"),
                      QString::fromUtf8(QJsonDocument(b.value(QLatin1String("input")).toObject())
                                            .toJson(QJsonDocument::Compact))}}}});
        }
    }
    QJsonObject message{{QStringLiteral("role"), QStringLiteral("assistant")},
                        {QStringLiteral("content"),
                         text.isEmpty() && !toolCalls.isEmpty() ? QJsonValue() : QJsonValue(text)},
                        {QStringLiteral("refusal"), QJsonValue()}};
    if (!toolCalls.isEmpty()) message.insert(QStringLiteral("tool_calls"), toolCalls);
    return {{QStringLiteral("id"), chatId(str(in, "id"))},
            {QStringLiteral("object"), QStringLiteral("chat.completion")},
            {QStringLiteral("created"), QDateTime::currentSecsSinceEpoch()},
            {QStringLiteral("model"), str(in, "model")},
            {QStringLiteral("choices"),
             QJsonArray{QJsonObject{{QStringLiteral("index"), 0},
                                    {QStringLiteral("message"), message},
                                    {QStringLiteral("logprobs"), QJsonValue()},
                                    {QStringLiteral("finish_reason"),
                                     openAiFinishFromAnthropic(str(in, "stop_reason"))}}}},
            {QStringLiteral("usage"),
             openAiUsageFromAnthropic(in.value(QLatin1String("usage")).toObject())}};
}

namespace {

// Anthropic SSE -> OpenAI chat.completion.chunk SSE.
class AnthropicToOpenAiStream : public StreamTranslator {
public:
    explicit AnthropicToOpenAiStream(bool includeUsage) : m_includeUsage(includeUsage) {}

    void feed(const SseEvent &event, QByteArray *out) override {
        if (m_done || event.commentOnly || event.data.isEmpty()) return;
        const QJsonObject d = QJsonDocument::fromJson(event.data).object();
        const QString type = str(d, "type");
        if (type == QLatin1String("message_start")) {
            const QJsonObject msg = d.value(QLatin1String("message")).toObject();
            m_id = chatId(str(msg, "id"));
            m_model = str(msg, "model");
            m_usage = msg.value(QLatin1String("usage")).toObject();
            *out += chunk(QJsonObject{{QStringLiteral("role"), QStringLiteral("assistant")},
                                      {QStringLiteral("content"), QString()}});
        } else if (type == QLatin1String("content_block_start")) {
            const QJsonObject b = d.value(QLatin1String("content_block")).toObject();
            if (str(b, "type") == QLatin1String("tool_use")) {
                const int toolIndex = int(m_toolIndex.size());
                m_toolIndex.insert(d.value(QLatin1String("index")).toInt(), toolIndex);
                *out += chunk(
                    QJsonObject{{QStringLiteral("tool_calls"),
                                 QJsonArray{QJsonObject{
                                     {QStringLiteral("index"), toolIndex},
                                     {QStringLiteral("id"), str(b, "id")},
                                     {QStringLiteral("type"), QStringLiteral("function")},
                                     {QStringLiteral("function"),
                                      QJsonObject{{QStringLiteral("name"), str(b, "name")},
                                                  {QStringLiteral("arguments"), QString()}}}}}}});
            }
        } else if (type == QLatin1String("content_block_delta")) {
            const QJsonObject delta = d.value(QLatin1String("delta")).toObject();
            const QString dt = str(delta, "type");
            if (dt == QLatin1String("text_delta")) {
                *out += chunk(QJsonObject{{QStringLiteral("content"), str(delta, "text")}});
            } else if (dt == QLatin1String("input_json_delta")) {
                const int idx = m_toolIndex.value(d.value(QLatin1String("index")).toInt(), -1);
                if (idx >= 0)
                    *out += chunk(QJsonObject{
                        {QStringLiteral("tool_calls"),
                         QJsonArray{QJsonObject{{QStringLiteral("index"), idx},
                                                {QStringLiteral("function"),
                                                 QJsonObject{{QStringLiteral("arguments"),
                                                              str(delta, "partial_json")}}}}}}});
            }
        } else if (type == QLatin1String("message_delta")) {
            const QJsonObject u = d.value(QLatin1String("usage")).toObject();
            for (auto it = u.begin(); it != u.end(); ++it)
                if (!it.value().isNull()) m_usage.insert(it.key(), it.value());
            const QString stop = d.value(QLatin1String("delta"))
                                     .toObject()
                                     .value(QLatin1String("stop_reason"))
                                     .toString();
            if (!stop.isEmpty()) *out += chunk(QJsonObject(), openAiFinishFromAnthropic(stop));
        } else if (type == QLatin1String("message_stop")) {
            end(out);
        } else if (type == QLatin1String("error")) {
            const QJsonObject e = d.value(QLatin1String("error")).toObject();
            *out += sseData(QJsonObject{{QStringLiteral("error"),
                                         QJsonObject{{QStringLiteral("message"), str(e, "message")},
                                                     {QStringLiteral("type"), str(e, "type")},
                                                     {QStringLiteral("code"), QJsonValue()}}}});
            m_done = true;
        }
    }

    void finish(QByteArray *out) override {
        if (!m_done && !m_id.isEmpty()) end(out);
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

    void end(QByteArray *out) {
        if (m_includeUsage)
            *out += sseData(
                QJsonObject{{QStringLiteral("id"), m_id},
                            {QStringLiteral("object"), QStringLiteral("chat.completion.chunk")},
                            {QStringLiteral("created"), m_created},
                            {QStringLiteral("model"), m_model},
                            {QStringLiteral("choices"), QJsonArray()},
                            {QStringLiteral("usage"), openAiUsageFromAnthropic(m_usage)}});
        *out += "data: [DONE]\n\n";
        m_done = true;
    }

    bool m_includeUsage;
    bool m_done = false;
    QString m_id;
    QString m_model;
    qint64 m_created = QDateTime::currentSecsSinceEpoch();
    QJsonObject m_usage;
    QMap<int, int> m_toolIndex;  // Anthropic content block index -> OpenAI tool_calls index
};

}  // namespace

std::unique_ptr<StreamTranslator> anthropicToOpenAiStream(bool includeUsage) {
    return std::make_unique<AnthropicToOpenAiStream>(includeUsage);
}

// ---------------------------------------------------------------------------------------------
// Anthropic client -> OpenAI target

QJsonObject anthropicToOpenAiRequest(const QJsonObject &in, const QByteArray &model, bool stream,
                                     QString *error) {
    auto refuse = [error](const QString &why) {
        *error = why;
        return QJsonObject();
    };
    if (in.contains(QLatin1String("top_k")))
        return refuse(QStringLiteral("top_k cannot be served by an OpenAI-format target"));
    QJsonObject out{{QStringLiteral("model"), QString::fromUtf8(model)}};
    QJsonArray messages;
    const QJsonValue system = in.value(QLatin1String("system"));
    if (!system.isUndefined() && !system.isNull()) {
        bool onlyText = true;
        const QString text = textOfContent(system, &onlyText);
        if (!onlyText) return refuse(QStringLiteral("system may hold only text blocks"));
        if (!text.isEmpty())
            messages.append(QJsonObject{{QStringLiteral("role"), QStringLiteral("system")},
                                        {QStringLiteral("content"), text}});
    }
    for (const QJsonValue &mv : in.value(QLatin1String("messages")).toArray()) {
        const QJsonObject m = mv.toObject();
        const QString role = str(m, "role");
        const QJsonValue content = m.value(QLatin1String("content"));
        if (role != QLatin1String("user") && role != QLatin1String("assistant"))
            return refuse(QStringLiteral("message role '%1' is not user or assistant").arg(role));
        if (content.isString()) {
            messages.append(
                QJsonObject{{QStringLiteral("role"), role}, {QStringLiteral("content"), content}});
            continue;
        }
        QJsonArray parts;      // user content parts
        QString text;          // assistant text
        QJsonArray toolCalls;  // assistant tool_use
        for (const QJsonValue &bv : content.toArray()) {
            const QJsonObject b = bv.toObject();
            const QString type = str(b, "type");
            if (type == QLatin1String("text")) {
                if (role == QLatin1String("user"))
                    parts.append(QJsonObject{{QStringLiteral("type"), QStringLiteral("text")},
                                             {QStringLiteral("text"), str(b, "text")}});
                else
                    text += str(b, "text");
            } else if (type == QLatin1String("image") && role == QLatin1String("user")) {
                const QJsonObject src = b.value(QLatin1String("source")).toObject();
                QString url;
                if (str(src, "type") == QLatin1String("base64"))
                    url = QStringLiteral("data:%1;base64,%2")
                              .arg(str(src, "media_type"), str(src, "data"));
                else if (str(src, "type") == QLatin1String("url"))
                    url = str(src, "url");
                else
                    return refuse(
                        QStringLiteral(
                            "image source '%1' cannot be served by an OpenAI-format target")
                            .arg(str(src, "type")));
                parts.append(QJsonObject{
                    {QStringLiteral("type"), QStringLiteral("image_url")},
                    {QStringLiteral("image_url"), QJsonObject{{QStringLiteral("url"), url}}}});
            } else if (type == QLatin1String("tool_result") && role == QLatin1String("user")) {
                bool onlyText = true;
                const QString result = textOfContent(b.value(QLatin1String("content")), &onlyText);
                if (!onlyText)
                    return refuse(QStringLiteral(
                        "tool results with images cannot be served by an OpenAI-format target"));
                const QString prefix = b.value(QLatin1String("is_error")).toBool()
                                           ? QStringLiteral("Error: ")
                                           : QString();
                // Tool answers must directly follow the assistant's calls: emit them before the
                // text.
                messages.append(QJsonObject{{QStringLiteral("role"), QStringLiteral("tool")},
                                            {QStringLiteral("tool_call_id"), str(b, "tool_use_id")},
                                            {QStringLiteral("content"), prefix + result}});
            } else if (type == QLatin1String("tool_use") && role == QLatin1String("assistant")) {
                toolCalls.append(QJsonObject{
                    {QStringLiteral("id"), str(b, "id")},
                    {QStringLiteral("type"), QStringLiteral("function")},
                    {QStringLiteral("function"),
                     QJsonObject{{QStringLiteral("name"), str(b, "name")},
                                 {QStringLiteral("arguments"),
                                  QString::fromUtf8(
                                      QJsonDocument(b.value(QLatin1String("input")).toObject())
                                          .toJson(QJsonDocument::Compact))}}}});
            } else if (type == QLatin1String("thinking") ||
                       type == QLatin1String("redacted_thinking")) {
                // Earlier turns' thinking is signed for Anthropic only; other models cannot use it.
            } else {
                return refuse(
                    QStringLiteral("content block '%1' cannot be served by an OpenAI-format target")
                        .arg(type));
            }
        }
        if (role == QLatin1String("user")) {
            if (!parts.isEmpty())
                messages.append(QJsonObject{{QStringLiteral("role"), role},
                                            {QStringLiteral("content"), parts}});
        } else {
            QJsonObject a{
                {QStringLiteral("role"), role},
                {QStringLiteral("content"),
                 text.isEmpty() && !toolCalls.isEmpty() ? QJsonValue() : QJsonValue(text)}};
            if (!toolCalls.isEmpty()) a.insert(QStringLiteral("tool_calls"), toolCalls);
            messages.append(a);
        }
    }
    out.insert(QStringLiteral("messages"), messages);
    if (in.contains(QLatin1String("max_tokens")))
        out.insert(QStringLiteral("max_completion_tokens"), in.value(QLatin1String("max_tokens")));
    for (const char *k : {"temperature", "top_p"})
        if (in.contains(QLatin1String(k))) out.insert(QLatin1String(k), in.value(QLatin1String(k)));
    if (in.contains(QLatin1String("stop_sequences")))
        out.insert(QStringLiteral("stop"), in.value(QLatin1String("stop_sequences")));
    const QString user =
        in.value(QLatin1String("metadata")).toObject().value(QLatin1String("user_id")).toString();
    if (!user.isEmpty()) out.insert(QStringLiteral("user"), user.left(256));
    if (in.contains(QLatin1String("tools"))) {
        QJsonArray tools;
        for (const QJsonValue &tv : in.value(QLatin1String("tools")).toArray()) {
            const QJsonObject t = tv.toObject();
            const QString type = str(t, "type");
            if (!type.isEmpty() && type != QLatin1String("custom"))
                return refuse(
                    QStringLiteral("server tool '%1' cannot be served by an OpenAI-format target")
                        .arg(type));
            QJsonObject fn{{QStringLiteral("name"), str(t, "name")},
                           {QStringLiteral("parameters"), t.value(QLatin1String("input_schema"))}};
            if (t.contains(QLatin1String("description")))
                fn.insert(QStringLiteral("description"), t.value(QLatin1String("description")));
            tools.append(QJsonObject{{QStringLiteral("type"), QStringLiteral("function")},
                                     {QStringLiteral("function"), fn}});
        }
        if (!tools.isEmpty()) out.insert(QStringLiteral("tools"), tools);
    }
    const QJsonObject tc = in.value(QLatin1String("tool_choice")).toObject();
    const QString tct = str(tc, "type");
    if (tct == QLatin1String("auto"))
        out.insert(QStringLiteral("tool_choice"), QStringLiteral("auto"));
    else if (tct == QLatin1String("any"))
        out.insert(QStringLiteral("tool_choice"), QStringLiteral("required"));
    else if (tct == QLatin1String("none"))
        out.insert(QStringLiteral("tool_choice"), QStringLiteral("none"));
    else if (tct == QLatin1String("tool"))
        out.insert(QStringLiteral("tool_choice"),
                   QJsonObject{{QStringLiteral("type"), QStringLiteral("function")},
                               {QStringLiteral("function"),
                                QJsonObject{{QStringLiteral("name"), str(tc, "name")}}}});
    if (tc.value(QLatin1String("disable_parallel_tool_use")).toBool() &&
        out.contains(QLatin1String("tools")))
        out.insert(QStringLiteral("parallel_tool_calls"), false);
    if (stream) {
        out.insert(QStringLiteral("stream"), true);
        // Usage for the client's message_delta and for the ledger.
        out.insert(QStringLiteral("stream_options"),
                   QJsonObject{{QStringLiteral("include_usage"), true}});
    }
    return out;
}

namespace {

QJsonObject anthropicUsageFromOpenAi(const QJsonObject &u) {
    const qint64 cached = u.value(QLatin1String("prompt_tokens_details"))
                              .toObject()
                              .value(QLatin1String("cached_tokens"))
                              .toInteger();
    return {
        {QStringLiteral("input_tokens"),
         u.value(QLatin1String("prompt_tokens")).toInteger() - cached},
        {QStringLiteral("cache_read_input_tokens"), cached},
        {QStringLiteral("cache_creation_input_tokens"), 0},
        {QStringLiteral("output_tokens"), u.value(QLatin1String("completion_tokens")).toInteger()}};
}

QString messageId(const QString &upstreamId) {
    return QStringLiteral("msg_") + (upstreamId.isEmpty() ? QStringLiteral("airlock") : upstreamId);
}

QJsonObject toolInput(const QString &arguments) {
    const QJsonDocument d = QJsonDocument::fromJson(arguments.toUtf8());
    return d.isObject() ? d.object() : QJsonObject();
}

}  // namespace

QJsonObject openAiToAnthropicResponse(const QJsonObject &in) {
    const QJsonObject choice = in.value(QLatin1String("choices")).toArray().at(0).toObject();
    const QJsonObject msg = choice.value(QLatin1String("message")).toObject();
    QJsonArray content;
    const QString text = str(msg, "content");
    if (!text.isEmpty())
        content.append(QJsonObject{{QStringLiteral("type"), QStringLiteral("text")},
                                   {QStringLiteral("text"), text}});
    for (const QJsonValue &tv : msg.value(QLatin1String("tool_calls")).toArray()) {
        const QJsonObject tc = tv.toObject();
        const QJsonObject fn = tc.value(QLatin1String("function")).toObject();
        content.append(QJsonObject{{QStringLiteral("type"), QStringLiteral("tool_use")},
                                   {QStringLiteral("id"), str(tc, "id")},
                                   {QStringLiteral("name"), str(fn, "name")},
                                   {QStringLiteral("input"), toolInput(str(fn, "arguments"))}});
    }
    return {{QStringLiteral("id"), messageId(str(in, "id"))},
            {QStringLiteral("type"), QStringLiteral("message")},
            {QStringLiteral("role"), QStringLiteral("assistant")},
            {QStringLiteral("model"), str(in, "model")},
            {QStringLiteral("content"), content},
            {QStringLiteral("stop_reason"), anthropicStopFromOpenAi(str(choice, "finish_reason"))},
            {QStringLiteral("stop_sequence"), QJsonValue()},
            {QStringLiteral("usage"),
             anthropicUsageFromOpenAi(in.value(QLatin1String("usage")).toObject())}};
}

namespace {

// OpenAI chat.completion.chunk SSE -> Anthropic message SSE events.
class OpenAiToAnthropicStream : public StreamTranslator {
public:
    void feed(const SseEvent &event, QByteArray *out) override {
        if (m_done || event.commentOnly || event.data.isEmpty()) return;
        if (event.data.trimmed() == "[DONE]") {
            end(out);
            return;
        }
        const QJsonObject d = QJsonDocument::fromJson(event.data).object();
        if (d.contains(QLatin1String("error"))) {
            const QJsonObject e = d.value(QLatin1String("error")).toObject();
            *out += sseEvent(
                "error",
                QJsonObject{{QStringLiteral("type"), QStringLiteral("error")},
                            {QStringLiteral("error"),
                             QJsonObject{{QStringLiteral("type"), QStringLiteral("api_error")},
                                         {QStringLiteral("message"), str(e, "message")}}}});
            m_done = true;
            return;
        }
        start(d, out);
        if (d.value(QLatin1String("usage")).isObject())
            m_usage = d.value(QLatin1String("usage")).toObject();
        const QJsonArray choices = d.value(QLatin1String("choices")).toArray();
        if (choices.isEmpty()) return;
        const QJsonObject choice = choices.at(0).toObject();
        const QJsonObject delta = choice.value(QLatin1String("delta")).toObject();
        const QString text = str(delta, "content");
        if (!text.isEmpty()) {
            if (m_openKind != 't') {
                closeBlock(out);
                openBlock(out, 't',
                          QJsonObject{{QStringLiteral("type"), QStringLiteral("text")},
                                      {QStringLiteral("text"), QString()}});
            }
            *out += sseEvent(
                "content_block_delta",
                QJsonObject{{QStringLiteral("type"), QStringLiteral("content_block_delta")},
                            {QStringLiteral("index"), m_blockIndex},
                            {QStringLiteral("delta"),
                             QJsonObject{{QStringLiteral("type"), QStringLiteral("text_delta")},
                                         {QStringLiteral("text"), text}}}});
        }
        for (const QJsonValue &tv : delta.value(QLatin1String("tool_calls")).toArray()) {
            const QJsonObject tc = tv.toObject();
            const int idx = tc.value(QLatin1String("index")).toInt();
            const QJsonObject fn = tc.value(QLatin1String("function")).toObject();
            if (m_openKind != 'u' || idx != m_toolIdx) {
                closeBlock(out);
                m_toolIdx = idx;
                openBlock(out, 'u',
                          QJsonObject{{QStringLiteral("type"), QStringLiteral("tool_use")},
                                      {QStringLiteral("id"), str(tc, "id")},
                                      {QStringLiteral("name"), str(fn, "name")},
                                      {QStringLiteral("input"), QJsonObject()}});
            }
            const QString args = str(fn, "arguments");
            if (!args.isEmpty())
                *out += sseEvent(
                    "content_block_delta",
                    QJsonObject{
                        {QStringLiteral("type"), QStringLiteral("content_block_delta")},
                        {QStringLiteral("index"), m_blockIndex},
                        {QStringLiteral("delta"),
                         QJsonObject{{QStringLiteral("type"), QStringLiteral("input_json_delta")},
                                     {QStringLiteral("partial_json"), args}}}});
        }
        const QString finish = str(choice, "finish_reason");
        if (!finish.isEmpty()) {
            m_stop = anthropicStopFromOpenAi(finish);
            closeBlock(out);
        }
    }

    void finish(QByteArray *out) override {
        if (!m_done && m_started) end(out);
    }

private:
    void start(const QJsonObject &d, QByteArray *out) {
        if (m_started) return;
        m_started = true;
        *out += sseEvent(
            "message_start",
            QJsonObject{{QStringLiteral("type"), QStringLiteral("message_start")},
                        {QStringLiteral("message"),
                         QJsonObject{{QStringLiteral("id"), messageId(str(d, "id"))},
                                     {QStringLiteral("type"), QStringLiteral("message")},
                                     {QStringLiteral("role"), QStringLiteral("assistant")},
                                     {QStringLiteral("model"), str(d, "model")},
                                     {QStringLiteral("content"), QJsonArray()},
                                     {QStringLiteral("stop_reason"), QJsonValue()},
                                     {QStringLiteral("stop_sequence"), QJsonValue()},
                                     {QStringLiteral("usage"),
                                      QJsonObject{{QStringLiteral("input_tokens"), 0},
                                                  {QStringLiteral("output_tokens"), 0}}}}}});
    }

    void openBlock(QByteArray *out, char kind, const QJsonObject &block) {
        ++m_blockIndex;
        m_openKind = kind;
        *out +=
            sseEvent("content_block_start",
                     QJsonObject{{QStringLiteral("type"), QStringLiteral("content_block_start")},
                                 {QStringLiteral("index"), m_blockIndex},
                                 {QStringLiteral("content_block"), block}});
    }

    void closeBlock(QByteArray *out) {
        if (!m_openKind) return;
        m_openKind = 0;
        *out += sseEvent("content_block_stop",
                         QJsonObject{{QStringLiteral("type"), QStringLiteral("content_block_stop")},
                                     {QStringLiteral("index"), m_blockIndex}});
    }

    void end(QByteArray *out) {
        QJsonObject start;
        start.insert(QStringLiteral("id"), QString());
        if (!m_started) this->start(start, out);
        closeBlock(out);
        // Cumulative usage, input included: the client learns input tokens only here.
        *out += sseEvent(
            "message_delta",
            QJsonObject{{QStringLiteral("type"), QStringLiteral("message_delta")},
                        {QStringLiteral("delta"),
                         QJsonObject{{QStringLiteral("stop_reason"),
                                      m_stop.isEmpty() ? QStringLiteral("end_turn") : m_stop},
                                     {QStringLiteral("stop_sequence"), QJsonValue()}}},
                        {QStringLiteral("usage"), anthropicUsageFromOpenAi(m_usage)}});
        *out += sseEvent("message_stop",
                         QJsonObject{{QStringLiteral("type"), QStringLiteral("message_stop")}});
        m_done = true;
    }

    bool m_started = false;
    bool m_done = false;
    char m_openKind = 0;  // 't' text, 'u' tool_use, 0 none
    int m_blockIndex = -1;
    int m_toolIdx = -1;
    QString m_stop;
    QJsonObject m_usage;
};

}  // namespace

std::unique_ptr<StreamTranslator> openAiToAnthropicStream() {
    return std::make_unique<OpenAiToAnthropicStream>();
}

}  // namespace airlock::translate
