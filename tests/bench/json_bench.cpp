// Per-request JSON cost on the proxy's event-loop thread: request inspection (small chat body and
// a 1 MB body) and usage extraction (small chat response, one streamed chunk), in ns per call.
// The "QJsonDocument::fromJson only" rows are the floor of the former whole-document parse path.
#include "core/http/sse_framer.h"
#include "core/providers/endpoint.h"
#include "core/providers/request_inspector.h"
#include "core/providers/usage_accumulator.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cstdio>
#include <vector>

using namespace airlock;

namespace {

constexpr qsizetype kLargeBodyBytes = 1024 * 1024;
int g_rounds = 15;
int g_callsOverride = 0;
QString g_only;  // --only=TEXT: run the rows whose name contains TEXT  // --calls=N: N calls, one
                 // round (e.g. under callgrind)

const QByteArray kSmallChatBody =
    R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},)"
    R"({"role":"user","content":"Write a haiku about a proxy that counts tokens."}],)"
    R"("max_tokens":256,"temperature":0.7,"stream":false})";

const QByteArray kSmallChatResponse =
    R"({"id":"chatcmpl-AbC123","object":"chat.completion","created":1764000000,)"
    R"("model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant",)"
    R"("content":"Bytes pass through the gate,\nevery token weighed and logged,\nquiet ledger grows.",)"
    R"("refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":31,)"
    R"("completion_tokens":19,"total_tokens":50,"prompt_tokens_details":{"cached_tokens":0,)"
    R"("audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,)"
    R"("accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default",)"
    R"("system_fingerprint":"fp_0123456789"})";

const QByteArray kSseChunkData =
    R"({"id":"chatcmpl-AbC123","object":"chat.completion.chunk","created":1764000000,)"
    R"("model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_0123456789",)"
    R"("choices":[{"index":0,"delta":{"content":" token"},"logprobs":null,"finish_reason":null}],)"
    R"("usage":null})";

QByteArray makeLargeBody() {
    const QString line = QStringLiteral(
        "The function returns the list of users sorted by their creation date, see issue 4521. "
        "for (int i = 0; i < n; ++i) { total += values[i] * 3.14159; } // \"quoted\" \\ path\n");
    QJsonArray messages;
    qsizetype size = 0;
    for (int k = 0; size < kLargeBodyBytes; ++k) {
        const QString content = line.repeated(40);
        messages.append(QJsonObject{
            {QStringLiteral("role"), k % 2 ? QStringLiteral("assistant") : QStringLiteral("user")},
            {QStringLiteral("content"), content}});
        size += content.size() + 40;
    }
    return QJsonDocument(QJsonObject{{QStringLiteral("model"), QStringLiteral("gpt-4o")},
                                     {QStringLiteral("messages"), messages},
                                     {QStringLiteral("stream"), true},
                                     {QStringLiteral("max_tokens"), 4096}})
        .toJson(QJsonDocument::Compact);
}

// Median over rounds of the mean ns per call within a round.
template <typename F>
double nsPerCall(int callsPerRound, F &&call) {
    std::vector<double> rounds;
    if (g_callsOverride > 0) callsPerRound = g_callsOverride;
    for (int r = 0; r < g_rounds; ++r) {
        QElapsedTimer timer;
        timer.start();
        for (int i = 0; i < callsPerRound; ++i) call();
        rounds.push_back(double(timer.nsecsElapsed()) / callsPerRound);
    }
    std::sort(rounds.begin(), rounds.end());
    return rounds[rounds.size() / 2];
}

volatile qint64 g_sink = 0;  // keeps the optimiser from dropping the calls

template <typename F>
void measure(const char *name, int callsPerRound, F &&call) {
    if (!g_only.isEmpty() && !QString::fromUtf8(name).contains(g_only)) return;
    std::printf("%-58s %12.0f ns/call\n", name, nsPerCall(callsPerRound, call));
}

}  // namespace

int main(int argc, char **argv) {
    QCoreApplication app(argc, argv);
    for (const QString &arg : app.arguments()) {
        if (arg.startsWith(QLatin1String("--calls="))) {
            g_callsOverride = arg.mid(8).toInt();
            g_rounds = 1;
        } else if (arg.startsWith(QLatin1String("--only="))) {
            g_only = arg.mid(7);
        }
    }
    const EndpointMatch chat = classifyEndpoint("POST", "/v1/chat/completions");
    const QByteArray large = makeLargeBody();
    SseEvent chunk;
    chunk.data = kSseChunkData;
    chunk.raw = "data: " + kSseChunkData + "\n\n";

    std::printf(
        "json_bench: small chat body %lld B, large body %lld B, response %lld B, chunk %lld B\n",
        qint64(kSmallChatBody.size()), qint64(large.size()), qint64(kSmallChatResponse.size()),
        qint64(kSseChunkData.size()));

    measure("inspect small chat body (inspectRequest)", 20000,
            [&] { g_sink = g_sink + inspectRequest(chat, kSmallChatBody).maxTokens; });
    measure("inspect small chat body (QJsonDocument::fromJson only)", 20000,
            [&] { g_sink = g_sink + QJsonDocument::fromJson(kSmallChatBody).object().size(); });
    measure("inspect 1 MB chat body (inspectRequest)", 20,
            [&] { g_sink = g_sink + inspectRequest(chat, large).maxTokens; });
    measure("inspect 1 MB chat body (QJsonDocument::fromJson only)", 20,
            [&] { g_sink = g_sink + QJsonDocument::fromJson(large).object().size(); });
    measure("usage small chat response (addJsonBody)", 20000, [&] {
        UsageAccumulator acc(WireFormat::OpenAI, EndpointKind::ChatCompletions);
        acc.addJsonBody(kSmallChatResponse);
        g_sink = g_sink + acc.usage().outputTokens;
    });
    measure("usage small chat response (QJsonDocument::fromJson only)", 20000,
            [&] { g_sink = g_sink + QJsonDocument::fromJson(kSmallChatResponse).object().size(); });
    UsageAccumulator streamAcc(WireFormat::OpenAI, EndpointKind::ChatCompletions);
    measure("usage SSE chunk (addSseEvent)", 20000,
            [&] { g_sink = g_sink + streamAcc.addSseEvent(chunk); });
    measure("usage SSE chunk (QJsonDocument::fromJson only)", 20000,
            [&] { g_sink = g_sink + QJsonDocument::fromJson(kSseChunkData).object().size(); });
    return 0;
}
