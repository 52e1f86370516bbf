#include "core/providers/endpoint.h"

#include <QTest>

using namespace airlock;

Q_DECLARE_METATYPE(airlock::WireFormat)
Q_DECLARE_METATYPE(airlock::EndpointKind)

class TestEndpoint : public QObject {
    Q_OBJECT

private slots:
    void classifiesIngressPaths_data() {
        QTest::addColumn<QByteArray>("method");
        QTest::addColumn<QByteArray>("target");
        QTest::addColumn<WireFormat>("format");
        QTest::addColumn<EndpointKind>("kind");
        QTest::addColumn<QByteArray>("upstreamPath");
        QTest::addColumn<QByteArray>("prefix");
        QTest::addColumn<QByteArray>("pathModel");
        QTest::addColumn<bool>("streamByPath");

        const auto row = [](const char *name, const char *method, const char *target,
                            WireFormat format, EndpointKind kind, const char *upstream,
                            const char *prefix = "", const char *model = "", bool stream = false) {
            QTest::newRow(name) << QByteArray(method) << QByteArray(target) << format << kind
                                << QByteArray(upstream) << QByteArray(prefix) << QByteArray(model)
                                << stream;
        };
        using F = WireFormat;
        using K = EndpointKind;
        // OpenAI
        row("chat", "POST", "/v1/chat/completions", F::OpenAI, K::ChatCompletions,
            "/v1/chat/completions");
        row("legacy completions", "POST", "/v1/completions", F::OpenAI, K::Completions,
            "/v1/completions");
        row("responses", "POST", "/v1/responses", F::OpenAI, K::Responses, "/v1/responses");
        row("responses by id", "GET", "/v1/responses/resp_123/input_items?limit=5", F::OpenAI,
            K::Passthrough, "/v1/responses/resp_123/input_items?limit=5");
        row("stored chat completion", "GET", "/v1/chat/completions/chatcmpl-1", F::OpenAI,
            K::Passthrough, "/v1/chat/completions/chatcmpl-1");
        row("embeddings", "POST", "/v1/embeddings", F::OpenAI, K::Embeddings, "/v1/embeddings");
        row("models", "GET", "/v1/models", F::OpenAI, K::Models, "/v1/models");
        row("model by id", "GET", "/v1/models/gpt-4o", F::OpenAI, K::Models, "/v1/models/gpt-4o");
        row("chat with query", "POST", "/v1/chat/completions?api-version=1", F::OpenAI,
            K::ChatCompletions, "/v1/chat/completions?api-version=1");
        // Anthropic
        row("messages", "POST", "/v1/messages", F::Anthropic, K::Messages, "/v1/messages");
        row("claude code beta query kept", "POST", "/v1/messages?beta=true", F::Anthropic,
            K::Messages, "/v1/messages?beta=true");
        row("count tokens", "POST", "/v1/messages/count_tokens?beta=true", F::Anthropic,
            K::CountTokens, "/v1/messages/count_tokens?beta=true");
        // Gemini
        row("generate", "POST", "/v1beta/models/gemini-2.0-flash:generateContent", F::Gemini,
            K::GenerateContent, "/v1beta/models/gemini-2.0-flash:generateContent", "",
            "gemini-2.0-flash");
        row("stream sse", "POST", "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
            F::Gemini, K::StreamGenerateContent,
            "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse", "", "gemini-2.5-pro",
            true);
        row("count tokens gemini", "POST", "/v1beta/models/gemini-2.5-flash:countTokens", F::Gemini,
            K::CountTokens, "/v1beta/models/gemini-2.5-flash:countTokens", "", "gemini-2.5-flash");
        row("gemini under v1", "POST", "/v1/models/gemini-1.5-pro-002:generateContent", F::Gemini,
            K::GenerateContent, "/v1/models/gemini-1.5-pro-002:generateContent", "",
            "gemini-1.5-pro-002");
        row("percent-encoded model", "POST",
            "/v1beta/models/tuned%2Dmodel%20x:streamGenerateContent", F::Gemini,
            K::StreamGenerateContent, "/v1beta/models/tuned%2Dmodel%20x:streamGenerateContent", "",
            "tuned-model x", true);
        row("percent-encoded colon", "POST", "/v1beta/models/gemini-2.0-flash%3AgenerateContent",
            F::Gemini, K::GenerateContent, "/v1beta/models/gemini-2.0-flash%3AgenerateContent", "",
            "gemini-2.0-flash");
        row("gemini models list", "GET", "/v1beta/models?pageSize=50", F::Gemini, K::Models,
            "/v1beta/models?pageSize=50");
        row("gemini other action", "POST", "/v1beta/models/text-embedding-004:embedContent",
            F::Gemini, K::Passthrough, "/v1beta/models/text-embedding-004:embedContent");
        // Prefixed
        row("openai prefix", "POST", "/openai/v1/chat/completions", F::OpenAI, K::ChatCompletions,
            "/v1/chat/completions", "openai");
        row("openai prefix files", "POST", "/openai/v1/files", F::OpenAI, K::Passthrough,
            "/v1/files", "openai");
        row("anthropic prefix", "POST", "/anthropic/v1/messages?beta=true", F::Anthropic,
            K::Messages, "/v1/messages?beta=true", "anthropic");
        row("anthropic prefix other", "HEAD", "/anthropic/api/hello", F::Anthropic, K::Passthrough,
            "/api/hello", "anthropic");
        row("anthropic prefix models", "GET", "/anthropic/v1/models", F::Anthropic, K::Models,
            "/v1/models", "anthropic");
        row("gemini prefix", "POST",
            "/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", F::Gemini,
            K::StreamGenerateContent,
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", "gemini",
            "gemini-2.5-flash", true);
        row("gemini prefix models", "GET", "/gemini/v1beta/models", F::Gemini, K::Models,
            "/v1beta/models", "gemini");
        row("gemini prefix v1 models", "GET", "/gemini/v1/models", F::Gemini, K::Models,
            "/v1/models", "gemini");
        row("gemini prefix files", "POST", "/gemini/upload/v1beta/files?uploadType=resumable",
            F::Gemini, K::Passthrough, "/upload/v1beta/files?uploadType=resumable", "gemini");
        row("prefix forces format", "POST", "/openai/v1/messages", F::OpenAI, K::Passthrough,
            "/v1/messages", "openai");
        row("bare prefix", "GET", "/anthropic?x=1", F::Anthropic, K::Passthrough, "/?x=1",
            "anthropic");
        // Unknown
        row("unknown v1 path", "POST", "/v1/files", F::Unknown, K::Passthrough, "/v1/files");
        row("unknown messages batches", "POST", "/v1/messages/batches", F::Unknown, K::Passthrough,
            "/v1/messages/batches");
        row("root", "GET", "/", F::Unknown, K::Passthrough, "/");
        row("api hello unprefixed", "HEAD", "/api/hello", F::Unknown, K::Passthrough, "/api/hello");
        row("prefix lookalike", "POST", "/openaiv1/chat/completions", F::Unknown, K::Passthrough,
            "/openaiv1/chat/completions");
        row("trailing slash", "POST", "/v1/messages/", F::Unknown, K::Passthrough, "/v1/messages/");
        row("dot segment", "POST", "/openai/../admin", F::Unknown, K::Passthrough,
            "/openai/../admin");
        row("encoded dot segment", "POST", "/anthropic/%2e%2e/admin", F::Unknown, K::Passthrough,
            "/anthropic/%2e%2e/admin");
        row("absolute form", "GET", "http://example.com/v1/models", F::Unknown, K::Passthrough,
            "http://example.com/v1/models");
        row("empty", "GET", "", F::Unknown, K::Passthrough, "");
    }
    void classifiesIngressPaths() {
        QFETCH(QByteArray, method);
        QFETCH(QByteArray, target);
        QFETCH(WireFormat, format);
        QFETCH(EndpointKind, kind);
        QFETCH(QByteArray, upstreamPath);
        QFETCH(QByteArray, prefix);
        QFETCH(QByteArray, pathModel);
        QFETCH(bool, streamByPath);

        const EndpointMatch m = classifyEndpoint(method, target);
        QCOMPARE(wireFormatName(m.format), wireFormatName(format));
        QCOMPARE(endpointKindName(m.kind), endpointKindName(kind));
        QCOMPARE(m.upstreamPath, upstreamPath);
        QCOMPARE(m.prefix, prefix);
        QCOMPARE(m.pathModel, pathModel);
        QCOMPARE(m.streamByPath, streamByPath);
    }
};

QTEST_GUILESS_MAIN(TestEndpoint)
#include "tst_endpoint.moc"
