#include "core/providers/request_inspector.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

using namespace airlock;

namespace {

EndpointMatch endpointFor(const char *target) {
    return classifyEndpoint("POST", target);
}

QJsonObject parseObject(const QByteArray &json) {
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject()) return {};
    return doc.object();
}

}  // namespace

class TestRequestInspector : public QObject {
    Q_OBJECT

private slots:
    void readsModelStreamAndTokenLimit_data() {
        QTest::addColumn<QByteArray>("target");
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<QByteArray>("model");
        QTest::addColumn<bool>("stream");
        QTest::addColumn<qint64>("maxTokens");
        QTest::addColumn<bool>("includeUsage");

        QTest::newRow("openai chat")
            << QByteArray("/v1/chat/completions")
            << QByteArray(
                   "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                   "\"stream\":true,\"max_tokens\":256}")
            << QByteArray("gpt-4o") << true << qint64(256) << false;
        QTest::newRow("openai max_completion_tokens wins")
            << QByteArray("/v1/chat/completions")
            << QByteArray("{\"model\":\"o3\",\"max_tokens\":10,\"max_completion_tokens\":5000}")
            << QByteArray("o3") << false << qint64(5000) << false;
        QTest::newRow("include usage requested")
            << QByteArray("/v1/chat/completions")
            << QByteArray(
                   "{\"model\":\"gpt-4o-mini\",\"stream\":true,"
                   "\"stream_options\":{\"include_usage\":true}}")
            << QByteArray("gpt-4o-mini") << true << qint64(-1) << true;
        QTest::newRow("responses") << QByteArray("/v1/responses")
                                   << QByteArray(
                                          "{\"model\":\"gpt-5\",\"input\":\"hi\",\"stream\":true,"
                                          "\"max_output_tokens\":900}")
                                   << QByteArray("gpt-5") << true << qint64(900) << false;
        QTest::newRow("anthropic")
            << QByteArray("/v1/messages?beta=true")
            << QByteArray(
                   "{\"model\":\"claude-sonnet-4-5-20250929\",\"max_tokens\":32000,"
                   "\"stream\":true,\"messages\":[],\"metadata\":{\"user_id\":\"u\"}}")
            << QByteArray("claude-sonnet-4-5-20250929") << true << qint64(32000) << false;
        QTest::newRow("anthropic max_tokens=1 probe")
            << QByteArray("/v1/messages")
            << QByteArray("{\"model\":\"claude-haiku-4-5\",\"max_tokens\":1,\"messages\":[]}")
            << QByteArray("claude-haiku-4-5") << false << qint64(1) << false;
        QTest::newRow("gemini stream by path, model by path")
            << QByteArray("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
            << QByteArray(
                   "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}],\"model\":\"ignored\","
                   "\"generationConfig\":{\"maxOutputTokens\":2048,\"temperature\":0.2}}")
            << QByteArray("gemini-2.5-flash") << true << qint64(2048) << false;
        QTest::newRow("gemini snake case config")
            << QByteArray("/gemini/v1beta/models/gemini-2.0-flash:generateContent")
            << QByteArray("{\"contents\":[],\"generation_config\":{\"max_output_tokens\":77}}")
            << QByteArray("gemini-2.0-flash") << false << qint64(77) << false;
        QTest::newRow("non-integer limit ignored")
            << QByteArray("/v1/chat/completions")
            << QByteArray("{\"model\":\"gpt-4o\",\"max_tokens\":\"many\",\"stream\":false}")
            << QByteArray("gpt-4o") << false << qint64(-1) << false;
        // QJsonObject keeps the last of duplicate keys; the scanner must agree.
        QTest::newRow("duplicate keys: last wins")
            << QByteArray("/v1/chat/completions")
            << QByteArray(
                   "{\"model\":\"a\",\"stream\":true,\"model\":\"b\",\"stream\":false,"
                   "\"max_tokens\":1,\"max_tokens\":2}")
            << QByteArray("b") << false << qint64(2) << false;
        QTest::newRow("escaped key and value decoded")
            << QByteArray("/v1/chat/completions")
            << QByteArray(
                   "{\"mod\\u0065l\":\"gpt-\\u00e9\\ud83d\\ude00\",\"max_tokens\":1e3,"
                   "\"str\\u0065am\":true}")
            << QByteArray("gpt-\xC3\xA9\xF0\x9F\x98\x80") << true << qint64(1000) << false;
        QTest::newRow("negative zero and fractions as QJsonValue reads them")
            << QByteArray("/v1/messages")
            << QByteArray("{\"model\":\"claude\",\"max_tokens\":-0,\"max_completion_tokens\":-1}")
            << QByteArray("claude") << false << qint64(0) << false;
        QTest::newRow("fractional limit truncated")
            << QByteArray("/v1/messages") << QByteArray("{\"model\":\"c\",\"max_tokens\":12.9}")
            << QByteArray("c") << false << qint64(12) << false;
        QTest::newRow("stream must be the literal true")
            << QByteArray("/v1/chat/completions")
            << QByteArray(
                   "{\"model\":\"m\",\"stream\":\"true\",\"stream_options\":{"
                   "\"include_usage\":1}}")
            << QByteArray("m") << false << qint64(-1) << false;
        QByteArray wide = "{";
        for (int i = 0; i < 50; ++i) wide += "\"k" + QByteArray::number(i) + "\":[{}],";
        wide += "\"model\":\"last\",\"max_tokens\":9}";
        QTest::newRow("more members than the index holds")
            << QByteArray("/v1/chat/completions") << wide << QByteArray("last") << false
            << qint64(9) << false;
    }
    void readsModelStreamAndTokenLimit() {
        QFETCH(QByteArray, target);
        QFETCH(QByteArray, body);
        QFETCH(QByteArray, model);
        QFETCH(bool, stream);
        QFETCH(qint64, maxTokens);
        QFETCH(bool, includeUsage);
        const RequestInfo info = inspectRequest(endpointFor(target), body);
        QVERIFY2(info.validJson, info.jsonError.constData());
        QCOMPARE(info.model, model);
        QCOMPARE(info.stream, stream);
        QCOMPARE(info.maxTokens, maxTokens);
        QCOMPARE(info.includeUsageRequested, includeUsage);
    }

    void emptyBodyIsValidOnlyWhereNoBodyIsExpected() {
        const RequestInfo models = inspectRequest(classifyEndpoint("GET", "/v1/models"), {});
        QVERIFY(models.validJson);
        QVERIFY(models.model.isEmpty());
        QVERIFY(!models.stream);
        QVERIFY(inspectRequest(classifyEndpoint("GET", "/v1beta/models"), "").validJson);
        QVERIFY(inspectRequest(classifyEndpoint("GET", "/openai/v1/files"), "").validJson);

        const RequestInfo chat = inspectRequest(endpointFor("/v1/chat/completions"), "  \r\n");
        QVERIFY(!chat.validJson);
        QVERIFY(!chat.jsonError.isEmpty());
    }

    void reportsParserErrorForBrokenOrNonObjectBodies() {
        const RequestInfo broken =
            inspectRequest(endpointFor("/v1/messages"), "{\"model\":\"claude\",\"max_tokens\":");
        QVERIFY(!broken.validJson);
        QVERIFY(broken.jsonError.contains("offset"));
        const RequestInfo array = inspectRequest(endpointFor("/v1/messages"), "[1,2]");
        QVERIFY(!array.validJson);
        QVERIFY(!array.jsonError.isEmpty());
    }

    // Strict RFC 8259: what QJsonDocument lets through but an upstream may read differently is
    // refused, with the byte offset of the problem.
    void refusesInvalidJsonWithItsOffset_data() {
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<QByteArray>("error");
        QTest::newRow("raw control char") << QByteArray("{\"model\":\"a\tb\"}")
                                          << QByteArray("control character in string at offset 11");
        QTest::newRow("unknown escape") << QByteArray("{\"model\":\"a\\qb\"}")
                                        << QByteArray("invalid escape sequence at offset 11");
        QTest::newRow("bare fraction")
            << QByteArray("{\"max_tokens\":.5}") << QByteArray("illegal value at offset 14");
        QTest::newRow("trailing dot")
            << QByteArray("{\"max_tokens\":1.}") << QByteArray("illegal number at offset 16");
        QTest::newRow("leading zero")
            << QByteArray("{\"max_tokens\":012}") << QByteArray("illegal number at offset 15");
        QTest::newRow("overflowing number") << QByteArray("{\"max_tokens\":1e400}")
                                            << QByteArray("number out of range at offset 14");
        QTest::newRow("trailing comma") << QByteArray("{\"model\":\"a\",}")
                                        << QByteArray("expected a member name at offset 13");
        QTest::newRow("garbage after the object")
            << QByteArray("{\"model\":\"a\"} x")
            << QByteArray("garbage at the end of the document at offset 14");
        QTest::newRow("invalid utf-8") << QByteArray("{\"model\":\"\xC0\xAF\"}")
                                       << QByteArray("invalid UTF-8 in string at offset 10");
        QTest::newRow("cut off") << QByteArray("{\"model\":\"claude\",\"max_tokens\":")
                                 << QByteArray("unexpected end of document at offset 31");
    }
    void refusesInvalidJsonWithItsOffset() {
        QFETCH(QByteArray, body);
        QFETCH(QByteArray, error);
        const RequestInfo info = inspectRequest(endpointFor("/v1/messages"), body);
        QVERIFY(!info.validJson);
        QVERIFY2(info.jsonError.endsWith(error), info.jsonError.constData());
    }

    void handlesMultiMegabyteBodies() {
        QByteArray body =
            "{\"model\":\"claude-opus-4-6\",\"max_tokens\":8192,\"stream\":true,\"messages\":[";
        const QByteArray message =
            "{\"role\":\"user\",\"content\":\"" + QByteArray(4000, 'a') + "\"},";
        while (body.size() < 3 * 1024 * 1024) body += message;
        body.chop(1);
        body += "]}";
        const RequestInfo info = inspectRequest(endpointFor("/v1/messages"), body);
        QVERIFY(info.validJson);
        QCOMPARE(info.model, QByteArray("claude-opus-4-6"));
        QCOMPARE(info.maxTokens, qint64(8192));
        QVERIFY(info.stream);
    }

    void injectsIncludeUsageTextually_data() {
        QTest::addColumn<QByteArray>("target");
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<QByteArray>("expected");

        QTest::newRow("no stream_options")
            << QByteArray("/v1/chat/completions")
            << QByteArray("{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[]}")
            << QByteArray(
                   "{\"stream_options\":{\"include_usage\":true},\"model\":\"gpt-4o\",\"stream\":"
                   "true,\"messages\":[]}");
        QTest::newRow("odd whitespace and decoy strings")
            << QByteArray("/v1/chat/completions")
            << QByteArray(
                   "\r\n \t{ \"model\" : \"gpt-4o\",\n  \"messages\": [{\"role\":\"user\","
                   "\"content\":\"set \\\"stream_options\\\": {} please\"}],\n"
                   "  \"metadata\": {\"stream_options\": {\"x\": 1}},\n"
                   "  \"temperature\": 1.0e0, \"seed\": 12345678901234567890,\n"
                   "  \"stream\" : true }\n")
            << QByteArray(
                   "\r\n \t{\"stream_options\":{\"include_usage\":true}, \"model\" : \"gpt-4o\",\n"
                   "  \"messages\": [{\"role\":\"user\","
                   "\"content\":\"set \\\"stream_options\\\": {} please\"}],\n"
                   "  \"metadata\": {\"stream_options\": {\"x\": 1}},\n"
                   "  \"temperature\": 1.0e0, \"seed\": 12345678901234567890,\n"
                   "  \"stream\" : true }\n");
        QTest::newRow("empty stream_options")
            << QByteArray("/v1/chat/completions")
            << QByteArray("{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\": { }}")
            << QByteArray(
                   "{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\": "
                   "{\"include_usage\":true }}");
        QTest::newRow("stream_options with other member")
            << QByteArray("/v1/completions")
            << QByteArray(
                   "{\"model\":\"gpt-3.5-turbo-instruct\",\"stream\":true,\"stream_options\":{"
                   "\"include_obfuscation\":false},\"prompt\":\"x\"}")
            << QByteArray(
                   "{\"model\":\"gpt-3.5-turbo-instruct\",\"stream\":true,\"stream_options\":{"
                   "\"include_usage\":true,\"include_obfuscation\":false},\"prompt\":\"x\"}");
        QTest::newRow("client declined") << QByteArray("/v1/chat/completions")
                                         << QByteArray(
                                                "{\"stream_options\":{\"include_usage\" : "
                                                "false},\"model\":\"gpt-4o\",\"stream\":true}")
                                         << QByteArray(
                                                "{\"stream_options\":{\"include_usage\" : "
                                                "true},\"model\":\"gpt-4o\",\"stream\":true}");
        QTest::newRow("null stream_options")
            << QByteArray("/v1/chat/completions")
            << QByteArray("{\"model\":\"gpt-4o\",\"stream_options\":null,\"stream\":true}")
            << QByteArray(
                   "{\"model\":\"gpt-4o\",\"stream_options\":{\"include_usage\":true},\"stream\":"
                   "true}");
        QTest::newRow("escaped key")
            << QByteArray("/openai/v1/chat/completions")
            << QByteArray("{\"model\":\"gpt-4o\",\"stream\\u005foptions\":{},\"stream\":true}")
            << QByteArray(
                   "{\"model\":\"gpt-4o\",\"stream\\u005foptions\":{\"include_usage\":true},"
                   "\"stream\":true}");
    }
    void injectsIncludeUsageTextually() {
        QFETCH(QByteArray, target);
        QFETCH(QByteArray, body);
        QFETCH(QByteArray, expected);
        const EndpointMatch endpoint = endpointFor(target);
        const RequestInfo info = inspectRequest(endpoint, body);
        QVERIFY2(info.validJson, info.jsonError.constData());
        bool injected = false;
        const QByteArray result = withStreamUsageRequested(endpoint, info, body, &injected);
        QVERIFY(injected);
        QCOMPARE(result, expected);

        // Semantically: the original object plus stream_options.include_usage = true.
        QJsonObject want = parseObject(body);
        QVERIFY(!want.isEmpty());
        QJsonObject options = want.value(QLatin1String("stream_options")).toObject();
        options.insert(QLatin1String("include_usage"), true);
        want.insert(QLatin1String("stream_options"), options);
        QCOMPARE(parseObject(result), want);

        const RequestInfo again = inspectRequest(endpoint, result);
        QVERIFY(again.includeUsageRequested);
        bool twice = true;
        QCOMPARE(withStreamUsageRequested(endpoint, again, result, &twice), result);
        QVERIFY(!twice);
    }

    void leavesBodyAloneWhenNotApplicable_data() {
        QTest::addColumn<QByteArray>("target");
        QTest::addColumn<QByteArray>("body");
        QTest::newRow("already requested") << QByteArray("/v1/chat/completions")
                                           << QByteArray(
                                                  "{\"model\":\"gpt-4o\",\"stream\":true,\"stream_"
                                                  "options\":{\"include_usage\":true}}");
        QTest::newRow("not streaming")
            << QByteArray("/v1/chat/completions") << QByteArray("{\"model\":\"gpt-4o\"}");
        QTest::newRow("stream false") << QByteArray("/v1/chat/completions")
                                      << QByteArray("{\"model\":\"gpt-4o\",\"stream\":false}");
        QTest::newRow("responses api reports usage anyway")
            << QByteArray("/v1/responses") << QByteArray("{\"model\":\"gpt-5\",\"stream\":true}");
        QTest::newRow("anthropic")
            << QByteArray("/v1/messages") << QByteArray("{\"model\":\"claude\",\"stream\":true}");
        QTest::newRow("stream_options of wrong type")
            << QByteArray("/v1/chat/completions")
            << QByteArray("{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":\"yes\"}");
        QTest::newRow("invalid json")
            << QByteArray("/v1/chat/completions") << QByteArray("{\"stream\":true,");
    }
    void leavesBodyAloneWhenNotApplicable() {
        QFETCH(QByteArray, target);
        QFETCH(QByteArray, body);
        const EndpointMatch endpoint = endpointFor(target);
        const RequestInfo info = inspectRequest(endpoint, body);
        bool injected = true;
        QCOMPARE(withStreamUsageRequested(endpoint, info, body, &injected), body);
        QVERIFY(!injected);
    }
};

QTEST_GUILESS_MAIN(TestRequestInspector)
#include "tst_request_inspector.moc"
