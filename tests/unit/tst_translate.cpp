// Wire-format translation against golden files (tests/unit/fixtures/translate/): requests,
// answers and streams in every implemented direction, plus what must be refused instead of
// silently dropped, and that streams are rebuilt event by event rather than buffered.
#include "core/providers/translate_wire.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

using namespace airlock;

namespace {

QString fixtureDir() {
    return QStringLiteral(AIRLOCK_SOURCE_DIR "/tests/unit/fixtures/translate/");
}

QJsonObject loadFixture(const QString &name) {
    QFile f(fixtureDir() + name);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

WireFormat fmt(const QJsonObject &o, const char *key) {
    return wireFormatFromName(o.value(QLatin1String(key)).toString().toUtf8());
}

// Timestamps are generated: leave them out of comparisons.
QJsonValue withoutCreated(QJsonValue v) {
    if (!v.isObject()) return v;
    QJsonObject o = v.toObject();
    o.remove(QStringLiteral("created"));
    return o;
}

SseEvent toEvent(const QJsonObject &e) {
    SseEvent ev;
    ev.event = e.value("event").toString().toUtf8();
    const QJsonValue d = e.value("data");
    ev.data = d.isString() ? d.toString().toUtf8()
                           : QJsonDocument(d.toObject()).toJson(QJsonDocument::Compact);
    ev.raw = (ev.event.isEmpty() ? QByteArray() : "event: " + ev.event + "\n") +
             "data: " + ev.data + "\n\n";
    return ev;
}

// The client-format SSE bytes back as [{event, data}] for comparison.
QJsonArray parseSse(const QByteArray &bytes) {
    SseFramer framer;
    QJsonArray out;
    QList<SseEvent> events = framer.feed(bytes);
    events += framer.finish();
    for (const SseEvent &ev : events) {
        QJsonObject o;
        if (!ev.event.isEmpty()) o.insert("event", QString::fromUtf8(ev.event));
        const QJsonDocument d = QJsonDocument::fromJson(ev.data);
        o.insert("data", d.isObject() ? withoutCreated(d.object())
                                      : QJsonValue(QString::fromUtf8(ev.data)));
        out.append(o);
    }
    return out;
}

QByteArray pretty(const QJsonValue &v) {
    return v.isArray() ? QJsonDocument(v.toArray()).toJson() : QJsonDocument(v.toObject()).toJson();
}

// Outside the class: moc misreads some of these raw strings.
void addRefusalRows() {
    QTest::addColumn<int>("client");
    QTest::addColumn<int>("target");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("reason");
    const int oa = int(WireFormat::OpenAI), an = int(WireFormat::Anthropic),
              ge = int(WireFormat::Gemini);
    QTest::newRow("n>1") << oa << an << QByteArray(R"({"n":2,"messages":[]})") << "n > 1";
    QTest::newRow("logprobs") << oa << an << QByteArray(R"({"logprobs":true,"messages":[]})")
                              << "logprobs";
    QTest::newRow("web_search_options")
        << oa << an << QByteArray(R"({"web_search_options":{},"messages":[]})") << "web search";
    QTest::newRow("json_schema")
        << oa << an << QByteArray(R"({"response_format":{"type":"json_schema"},"messages":[]})")
        << "json_schema";
    QTest::newRow("audio part")
        << oa << an
        << QByteArray(R"({"messages":[{"role":"user","content":[{"type":"input_audio"}]}]})")
        << "input_audio";
    QTest::newRow("bad tool args")
        << oa << an
        << QByteArray(
               R"({"messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{nope"}}]}]})")
        << "JSON object";
    QTest::newRow("server tool")
        << an << oa
        << QByteArray(
               R"({"max_tokens":5,"messages":[],"tools":[{"type":"web_search_20250305","name":"web_search"}]})")
        << "web_search_20250305";
    QTest::newRow("document")
        << an << oa
        << QByteArray(
               R"({"max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{}}]}]})")
        << "document";
    QTest::newRow("top_k") << an << oa << QByteArray(R"({"max_tokens":5,"top_k":5,"messages":[]})")
                           << "top_k";
    QTest::newRow("gemini n>1") << oa << ge << QByteArray(R"({"n":3,"messages":[]})") << "n > 1";
    QTest::newRow("gemini url image")
        << oa << ge
        << QByteArray(
               R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]})")
        << "base64";
    QTest::newRow("not json") << oa << an << QByteArray("[1,2]") << "JSON object";
}

}  // namespace

class TestTranslate : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void requestsMatchGoldenFiles_data() {
        QTest::addColumn<QString>("file");
        for (const QString &f : QDir(fixtureDir()).entryList({QStringLiteral("req_*.json")}))
            QTest::newRow(qPrintable(f)) << f;
    }
    void requestsMatchGoldenFiles() {
        QFETCH(QString, file);
        const QJsonObject fx = loadFixture(file);
        QVERIFY(!fx.isEmpty());
        const TranslatedRequest t = translateRequest(
            fmt(fx, "client"), fmt(fx, "target"),
            QJsonDocument(fx.value("in").toObject()).toJson(QJsonDocument::Compact),
            fx.value("model").toString().toUtf8(), fx.value("stream").toBool());
        QVERIFY2(t.error.isEmpty(), qPrintable(t.error));
        const QJsonObject got = QJsonDocument::fromJson(t.body).object();
        const QJsonObject want = fx.value("out").toObject();
        QVERIFY2(got == want, pretty(got).constData());
    }

    void requestPathsNameTheTargetEndpoint() {
        const QByteArray body = R"({"model":"x","messages":[{"role":"user","content":"hi"}]})";
        QCOMPARE(translateRequest(WireFormat::OpenAI, WireFormat::Anthropic, body, "c", false).path,
                 QByteArray("/v1/messages"));
        QCOMPARE(translateRequest(WireFormat::OpenAI, WireFormat::Gemini, body, "g", true).path,
                 QByteArray("/v1beta/models/g:streamGenerateContent?alt=sse"));
        QCOMPARE(translateRequest(WireFormat::OpenAI, WireFormat::Gemini, body, "g", false).kind,
                 EndpointKind::GenerateContent);
        QCOMPARE(translateRequest(WireFormat::Anthropic, WireFormat::OpenAI,
                                  R"({"model":"x","max_tokens":5,"messages":[]})", "o", false)
                     .path,
                 QByteArray("/v1/chat/completions"));
    }

    void responsesMatchGoldenFiles_data() {
        QTest::addColumn<QString>("file");
        for (const QString &f : QDir(fixtureDir()).entryList({QStringLiteral("resp_*.json")}))
            QTest::newRow(qPrintable(f)) << f;
    }
    void responsesMatchGoldenFiles() {
        QFETCH(QString, file);
        const QJsonObject fx = loadFixture(file);
        const QByteArray out =
            translateResponseBody(fmt(fx, "target"), fmt(fx, "client"),
                                  QJsonDocument(fx.value("in").toObject()).toJson());
        const QJsonValue got = withoutCreated(QJsonDocument::fromJson(out).object());
        QVERIFY2(got == fx.value("out"), pretty(got).constData());
    }

    void streamsMatchGoldenFiles_data() {
        QTest::addColumn<QString>("file");
        for (const QString &f : QDir(fixtureDir()).entryList({QStringLiteral("stream_*.json")}))
            QTest::newRow(qPrintable(f)) << f;
    }
    void streamsMatchGoldenFiles() {
        QFETCH(QString, file);
        const QJsonObject fx = loadFixture(file);
        auto translator = makeStreamTranslator(fmt(fx, "target"), fmt(fx, "client"),
                                               fx.value("include_usage").toBool());
        QVERIFY(translator);
        QByteArray out;
        for (const QJsonValue &e : fx.value("in").toArray())
            translator->feed(toEvent(e.toObject()), &out);
        translator->finish(&out);
        const QJsonArray got = parseSse(out);
        QVERIFY2(got == fx.value("out").toArray(), pretty(got).constData());
    }

    void streamsAreRebuiltEventByEvent() {
        const QJsonObject fx = loadFixture(QStringLiteral("stream_anthropic_to_openai.json"));
        auto translator = makeStreamTranslator(WireFormat::Anthropic, WireFormat::OpenAI, false);
        const QJsonArray in = fx.value("in").toArray();
        QByteArray out;
        translator->feed(toEvent(in[0].toObject()), &out);
        QVERIFY(out.contains(R"("role":"assistant")"));
        out.clear();
        translator->feed(toEvent(in[2].toObject()), &out);  // first text delta: out at once
        QVERIFY(out.contains(R"("content":"Let me")"));
        QVERIFY(!out.contains("[DONE]"));
    }

    void streamedErrorsKeepTheClientsShape() {
        auto a2o = makeStreamTranslator(WireFormat::Anthropic, WireFormat::OpenAI, false);
        QByteArray out;
        SseEvent ev;
        ev.event = "error";
        ev.data = R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})";
        a2o->feed(ev, &out);
        QVERIFY(out.startsWith("data: {\"error\":"));
        QVERIFY(out.contains("Overloaded"));
        auto o2a = makeStreamTranslator(WireFormat::OpenAI, WireFormat::Anthropic, false);
        out.clear();
        ev.event.clear();
        ev.data = R"({"error":{"message":"boom","type":"server_error"}})";
        o2a->feed(ev, &out);
        QVERIFY(out.startsWith("event: error\n"));
        QVERIFY(out.contains(R"("type":"error")"));
    }

    void errorBodiesAreConvertedToTheCallersShape() {
        const QByteArray anthropicErr =
            R"({"type":"error","error":{"type":"rate_limit_error","message":"slow down"}})";
        const QJsonObject o =
            QJsonDocument::fromJson(
                translateErrorBody(WireFormat::Anthropic, WireFormat::OpenAI, 429, anthropicErr))
                .object();
        QCOMPARE(o.value("error").toObject().value("message").toString(),
                 QStringLiteral("slow down"));
        QVERIFY(o.value("error").toObject().contains("type"));
        const QJsonObject a =
            QJsonDocument::fromJson(
                translateErrorBody(WireFormat::OpenAI, WireFormat::Anthropic, 400,
                                   R"({"error":{"message":"bad","type":"invalid_request_error"}})"))
                .object();
        QCOMPARE(a.value("type").toString(), QStringLiteral("error"));
        QCOMPARE(a.value("error").toObject().value("type").toString(),
                 QStringLiteral("invalid_request_error"));
        QCOMPARE(a.value("error").toObject().value("message").toString(), QStringLiteral("bad"));
        // Garbage from upstream still gives a well-formed error.
        const QJsonObject g =
            QJsonDocument::fromJson(
                translateErrorBody(WireFormat::Gemini, WireFormat::OpenAI, 503, "<html>"))
                .object();
        QVERIFY(g.value("error").toObject().value("message").toString().contains("503"));
    }

    void refusesWhatCannotBeTranslatedFaithfully_data() { addRefusalRows(); }
    void refusesWhatCannotBeTranslatedFaithfully() {
        QFETCH(int, client);
        QFETCH(int, target);
        QFETCH(QByteArray, body);
        QFETCH(QString, reason);
        const TranslatedRequest t =
            translateRequest(WireFormat(client), WireFormat(target), body, "m", false);
        QVERIFY2(t.error.contains(reason), qPrintable(t.error));
        QVERIFY(t.body.isEmpty());
    }

    void onlyImplementedDirectionsAreTranslatable() {
        QVERIFY(
            canTranslate(WireFormat::OpenAI, EndpointKind::ChatCompletions, WireFormat::Anthropic));
        QVERIFY(
            canTranslate(WireFormat::OpenAI, EndpointKind::ChatCompletions, WireFormat::Gemini));
        QVERIFY(canTranslate(WireFormat::Anthropic, EndpointKind::Messages, WireFormat::OpenAI));
        QVERIFY(canTranslate(WireFormat::OpenAI, EndpointKind::Responses, WireFormat::OpenAI));
        QVERIFY(!canTranslate(WireFormat::OpenAI, EndpointKind::Responses, WireFormat::Anthropic));
        QVERIFY(!canTranslate(WireFormat::Anthropic, EndpointKind::Messages, WireFormat::Gemini));
        QVERIFY(!canTranslate(WireFormat::OpenAI, EndpointKind::Embeddings, WireFormat::Gemini));
    }
};

QTEST_GUILESS_MAIN(TestTranslate)
#include "tst_translate.moc"
