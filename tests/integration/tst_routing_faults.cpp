// Routing and resilience end to end inside one process: a real Daemon routing one logical model
// over several scriptable loopback upstreams that fail in every way (5xx, 429 + Retry-After,
// hangs, connect errors, resets before and during a stream, stalls), plus a format-translated
// target. Asserts success, the target chosen, attempts, and that no client ever gets a
// duplicated or mixed answer.
#include "core/daemon/daemon.h"
#include "core/store/ledger_reader.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QSet>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>
#include <functional>

#include "tests/integration/fake_upstream.h"

using namespace airlock;

namespace {

using testing::FakeUpstream;
using testing::SeenRequest;

QByteArray chatReply(const QByteArray &source) {
    return R"({"id":"chatcmpl-)" + source +
           R"(","object":"chat.completion","created":1,"model":"m-)" + source +
           R"(","choices":[{"index":0,"message":{"role":"assistant","content":"from )" + source +
           R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}})";
}

void sendJson(QTcpSocket *s, const QByteArray &json, int status = 200,
              const QByteArray &extra = {}) {
    s->write("HTTP/1.1 " + QByteArray::number(status) +
             " X\r\nContent-Type: application/json\r\nContent-Length: " +
             QByteArray::number(json.size()) + "\r\n" + extra + "\r\n" + json);
}

void sendError(QTcpSocket *s, int status, const QByteArray &extra = {}) {
    sendJson(s, R"({"error":{"message":"upstream says no","type":"server_error","code":null}})",
             status, extra);
}

// SSE head plus `events` chunk events naming the source; complete: ends with [DONE].
void sendStream(QTcpSocket *s, const QByteArray &source, int events, bool complete) {
    QByteArray body;
    for (int i = 0; i < events; ++i)
        body +=
            R"(data: {"id":"x","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":")" +
            source + QByteArray::number(i) +
            R"("},"finish_reason":null}]})"
            "\n\n";
    if (complete) body += "data: [DONE]\n\n";
    QByteArray out =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    out += QByteArray::number(body.size(), 16) + "\r\n" + body + "\r\n";
    if (complete) out += "0\r\n\r\n";
    s->write(out);
    s->flush();
}

QByteArray chatRequest(const QByteArray &model = "logical", bool stream = false,
                       const QByteArray &extra = {}) {
    const QByteArray body = R"({"model":")" + model +
                            R"(","messages":[{"role":"user","content":"hi"}])" +
                            (stream ? QByteArray(R"(,"stream":true)") : QByteArray()) + "}";
    return "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           "Authorization: Bearer sk-test\r\n" +
           extra + "Content-Length: " + QByteArray::number(body.size()) + "\r\n\r\n" + body;
}

struct Response {
    int status = 0;
    QByteArray head;
    QByteArray body;
    bool complete = false;
    QByteArray header(const QByteArray &name) const {
        for (const QByteArray &line : head.split('\n')) {
            const qsizetype colon = line.indexOf(':');
            if (colon > 0 && line.left(colon).trimmed().compare(name, Qt::CaseInsensitive) == 0)
                return line.mid(colon + 1).trimmed();
        }
        return {};
    }
};

// One request on a fresh connection; reads until the response is complete or the server closes.
Response roundTrip(quint16 port, const QByteArray &request, int timeoutMs = 10000) {
    QTcpSocket s;
    s.connectToHost(QHostAddress::LocalHost, port);
    s.waitForConnected(2000);
    s.write(request);
    QByteArray buffer;
    Response r;
    QDeadlineTimer deadline(timeoutMs);
    while (!deadline.hasExpired()) {
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
        buffer += s.readAll();
        const qsizetype end = buffer.indexOf("\r\n\r\n");
        if (end >= 0) {
            r.head = buffer.left(end);
            r.status = r.head.mid(9, 3).toInt();
            const QByteArray rest = buffer.mid(end + 4);
            if (r.header("transfer-encoding").toLower() == "chunked") {
                QByteArray body;
                qsizetype pos = 0;
                bool done = false;
                for (;;) {
                    const qsizetype le = rest.indexOf("\r\n", pos);
                    if (le < 0) break;
                    const qint64 size = rest.mid(pos, le - pos).toLongLong(nullptr, 16);
                    if (rest.size() < le + 2 + size + 2) break;
                    if (size == 0) {
                        done = true;
                        break;
                    }
                    body += rest.mid(le + 2, size);
                    pos = le + 2 + size + 2;
                }
                r.body = body;
                r.complete = done;
            } else {
                const qint64 length = r.header("content-length").toLongLong();
                r.body = rest.left(length);
                r.complete = rest.size() >= length;
            }
            if (r.complete) return r;
        }
        if (s.state() != QAbstractSocket::ConnectedState && s.bytesAvailable() == 0) break;
    }
    return r;
}

}  // namespace

class TestRoutingFaults : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<QTemporaryDir> m_tmp;
    std::unique_ptr<Daemon> m_daemon;
    std::vector<std::unique_ptr<FakeUpstream>> m_up;

    // n fake upstreams named p0..p{n-1} (OpenAI format unless formats says otherwise) and one
    // route "logical" over them with targets model-0..; extra JSON merged into the route.
    void startDaemon(int n, const QByteArray &routeExtra, const QStringList &formats = {},
                     const QByteArray &targetExtra = {}) {
        QJsonArray providers, targets;
        for (int i = 0; i < n; ++i) {
            m_up.push_back(std::make_unique<FakeUpstream>());
            const QString name = QStringLiteral("p%1").arg(i);
            providers.append(QJsonObject{
                {"name", name},
                {"format", i < formats.size() ? formats[i] : QStringLiteral("openai")},
                {"base_url",
                 QStringLiteral("http://127.0.0.1:%1").arg(m_up.back()->serverPort())}});
            QJsonObject t{{"provider", name}, {"model", QStringLiteral("model-%1").arg(i)}};
            const QJsonObject extra =
                QJsonDocument::fromJson(targetExtra.isEmpty() ? "{}" : targetExtra).object();
            for (auto it = extra.begin(); it != extra.end(); ++it) t.insert(it.key(), it.value());
            targets.append(t);
        }
        QJsonObject route =
            QJsonDocument::fromJson(routeExtra.isEmpty() ? "{}" : routeExtra).object();
        route.insert("targets", targets);
        const QJsonObject config{{"providers", providers},
                                 {"routes", QJsonObject{{"logical", route}}}};
        QFile file(m_tmp->filePath(QStringLiteral("config.json")));
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(QJsonDocument(config).toJson());
        file.close();
        DaemonOptions o;
        o.configPath = file.fileName();
        o.listen = QStringLiteral("127.0.0.1:0");
        o.dataDir = m_tmp->filePath(QStringLiteral("data"));
        m_daemon = std::make_unique<Daemon>();
        QString error;
        QVERIFY2(m_daemon->start(o, &error), qPrintable(error));
    }

    QList<UsageRecord> ledgerRows(int expected) {
        LedgerReader reader(m_tmp->filePath(QStringLiteral("data/usage.db")));
        QList<UsageRecord> rows;
        if (!reader.open(nullptr)) return rows;
        const bool enough = QTest::qWaitFor(
            [&] {
                rows = reader.requests(RequestsQuery{});
                return rows.size() >= expected;
            },
            5000);
        if (!enough) qWarning("ledger has %d rows, expected %d", int(rows.size()), expected);
        return rows;
    }

    quint16 port() const { return m_daemon->port(); }

private Q_SLOTS:
    void init() {
        qputenv("AIRLOCK_MANAGED_CONFIG", "/nonexistent/managed.json");
        m_tmp = std::make_unique<QTemporaryDir>();
    }
    void cleanup() {
        m_daemon.reset();
        m_up.clear();
    }

    void failsOverFrom5xxToNextTargetAndSaysWhichServed() {
        startDaemon(2, R"({"strategy":"fallback"})");
        m_up[0]->responder = [](QTcpSocket *s, const SeenRequest &) { sendError(s, 503); };
        m_up[1]->responder = [](QTcpSocket *s, const SeenRequest &) {
            sendJson(s, chatReply("p1"));
        };
        const Response r = roundTrip(port(), chatRequest());
        QCOMPARE(r.status, 200);
        QCOMPARE(r.body, chatReply("p1"));
        QCOMPARE(r.header("x-airlock-target"), QByteArray("p1/model-1"));
        QCOMPARE(r.header("x-airlock-attempts"), QByteArray("2"));
        // Each target got the request with its own model name.
        QVERIFY(m_up[0]->seen[0].body.contains(R"("model":"model-0")"));
        QVERIFY(m_up[1]->seen[0].body.contains(R"("model":"model-1")"));
        QVERIFY(m_up[1]->seen[0].body.contains(R"("messages":[{"role":"user","content":"hi"}])"));
        const QList<UsageRecord> rows = ledgerRows(1);
        QCOMPARE(rows.size(), 1);
        QCOMPARE(rows[0].provider, QStringLiteral("p1"));
        QCOMPARE(rows[0].model, QStringLiteral("model-1"));
        QCOMPARE(rows[0].responseModel, QStringLiteral("logical"));
        QCOMPARE(rows[0].inputTokens, 11);
    }

    void unroutedModelKeepsDefaultProvider() {
        startDaemon(2, R"({"strategy":"fallback"})");
        m_up[0]->responder = [](QTcpSocket *s, const SeenRequest &) {
            sendJson(s, chatReply("p0"));
        };
        const Response r = roundTrip(port(), chatRequest("gpt-4o-mini"));
        QCOMPARE(r.status, 200);
        QVERIFY(r.header("x-airlock-target").isEmpty());
        QVERIFY(m_up[0]->seen[0].body.contains(R"("model":"gpt-4o-mini")"));
    }

    void rateLimitedTargetCoolsDownForItsRetryAfter() {
        startDaemon(2, R"({"strategy":"fallback"})");
        m_up[0]->responder = [](QTcpSocket *s, const SeenRequest &) {
            sendError(s, 429, "Retry-After: 30\r\n");
        };
        m_up[1]->responder = [](QTcpSocket *s, const SeenRequest &) {
            sendJson(s, chatReply("p1"));
        };
        Response r = roundTrip(port(), chatRequest());
        QCOMPARE(r.status, 200);
        QCOMPARE(r.header("x-airlock-attempts"), QByteArray("2"));
        for (int i = 0; i < 5; ++i) {
            r = roundTrip(port(), chatRequest());
            QCOMPARE(r.status, 200);
            QCOMPARE(r.header("x-airlock-target"), QByteArray("p1/model-1"));
            QCOMPARE(r.header("x-airlock-attempts"), QByteArray("1"));
        }
        QCOMPARE(m_up[0]->seen.size(), 1);  // left alone while cooling down
    }

    void lastTargetsErrorReachesClientWhenAttemptsRunOut() {
        startDaemon(2, R"({"strategy":"fallback","retry":{"max_attempts":2}})");
        for (auto &u : m_up)
            u->responder = [](QTcpSocket *s, const SeenRequest &) { sendError(s, 500); };
        const Response r = roundTrip(port(), chatRequest());
        QCOMPARE(r.status, 500);
        QCOMPARE(r.header("x-airlock-attempts"), QByteArray("2"));
        QVERIFY(r.body.contains("upstream says no"));
        QCOMPARE(m_up[0]->seen.size() + m_up[1]->seen.size(), 2);
    }

    void retriesHungTargetAfterFirstByteTimeout() {
        startDaemon(2, R"({"strategy":"fallback"})", {}, R"({"first_byte_timeout_ms":300})");
        m_up[0]->responder = [](QTcpSocket *, const SeenRequest &) {};  // hangs
        m_up[1]->responder = [](QTcpSocket *s, const SeenRequest &) {
            sendJson(s, chatReply("p1"));
        };
        QElapsedTimer t;
        t.start();
        const Response r = roundTrip(port(), chatRequest());
        QCOMPARE(r.status, 200);
        QCOMPARE(r.header("x-airlock-target"), QByteArray("p1/model-1"));
        QVERIFY(t.elapsed() >= 250);  // coarse timers may fire 5% early
    }

    void retriesConnectErrorsAndResetsBeforeTheHead() {
        startDaemon(3, R"({"strategy":"fallback"})");
        m_up[0]->close();  // nobody listens: connection refused
        m_up[1]->responder = [](QTcpSocket *s, const SeenRequest &) { s->abort(); };
        m_up[2]->responder = [](QTcpSocket *s, const SeenRequest &) {
            sendJson(s, chatReply("p2"));
        };
        const Response r = roundTrip(port(), chatRequest());
        QCOMPARE(r.status, 200);
        QCOMPARE(r.body, chatReply("p2"));
        QCOMPARE(r.header("x-airlock-attempts"), QByteArray("3"));
    }

    void resetMidStreamIsNeverRetriedOrMixed() {
        startDaemon(2, R"({"strategy":"fallback"})");
        m_up[0]->responder = [](QTcpSocket *s, const SeenRequest &) {
            sendStream(s, "p0-", 2, false);
            QTimer::singleShot(50, s, [s] { s->abort(); });
        };
        m_up[1]->responder = [](QTcpSocket *s, const SeenRequest &) {
            sendStream(s, "p1-", 3, true);
        };
        const Response r = roundTrip(port(), chatRequest("logical", true));
        QCOMPARE(r.status, 200);
        QCOMPARE(r.header("x-airlock-target"), QByteArray("p0/model-0"));
        QVERIFY(r.body.contains("p0-0") && r.body.contains("p0-1"));
        QVERIFY(!r.body.contains("p1-"));   // never mixed with another target's stream
        QCOMPARE(r.body.count("p0-0"), 1);  // never duplicated
        QVERIFY(r.body.contains("error"));  // told in its own format that the stream broke
        QVERIFY(!r.complete);
        QCOMPARE(m_up[1]->seen.size(), 0);
    }

    void stalledStreamIsCaughtByIdleTimeout() {
        startDaemon(2, R"({"strategy":"fallback"})", {}, R"({"idle_timeout_ms":300})");
        m_up[0]->responder = [](QTcpSocket *s, const SeenRequest &) {
            sendStream(s, "p0-", 1, false);
        };
        QElapsedTimer t;
        t.start();
        const Response r = roundTrip(port(), chatRequest("logical", true));
        QVERIFY(t.elapsed() < 5000);
        QVERIFY(r.body.contains("p0-0"));
        QVERIFY(r.body.contains("error"));
        QCOMPARE(m_up[1]->seen.size(), 0);
        const QList<UsageRecord> rows = ledgerRows(1);
        QCOMPARE(rows.size(), 1);
        QCOMPARE(rows[0].outcome, QStringLiteral("timeout"));
    }

    void slowFirstByteWithinTimeoutIsServedOnce() {
        startDaemon(2, R"({"strategy":"fallback"})", {}, R"({"first_byte_timeout_ms":2000})");
        m_up[0]->responder = [](QTcpSocket *s, const SeenRequest &) {
            QTimer::singleShot(300, s, [s] { sendStream(s, "p0-", 3, true); });
        };
        const Response r = roundTrip(port(), chatRequest("logical", true));
        QCOMPARE(r.status, 200);
        QVERIFY(r.complete);
        QCOMPARE(r.body.count("p0-2"), 1);
        QCOMPARE(r.header("x-airlock-attempts"), QByteArray("1"));
        QCOMPARE(m_up[1]->seen.size(), 0);
    }

    void circuitOpensAndFailingTargetIsSkipped() {
        startDaemon(
            2, R"({"strategy":"weighted","circuit":{"failure_threshold":2,"cooldown_ms":60000}})");
        m_up[0]->responder = [](QTcpSocket *s, const SeenRequest &) { sendError(s, 500); };
        m_up[1]->responder = [](QTcpSocket *s, const SeenRequest &) {
            sendJson(s, chatReply("p1"));
        };
        for (int i = 0; i < 20; ++i) QCOMPARE(roundTrip(port(), chatRequest()).status, 200);
        QCOMPARE(m_up[0]->seen.size(), 2);  // opened after two failures, then left alone
        // The provider health API shows it.
        QByteArray token;
        QFile tf(m_tmp->filePath(QStringLiteral("data/api-token")));
        QVERIFY(tf.open(QIODevice::ReadOnly));
        token = tf.readAll().trimmed();
        const Response api = roundTrip(
            port(), "GET /airlock/v1/providers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                        token + "\r\n\r\n");
        QCOMPARE(api.status, 200);
        const QJsonArray targets =
            QJsonDocument::fromJson(api.body).object().value("targets").toArray();
        QCOMPARE(targets.size(), 2);
        for (const QJsonValue &v : targets) {
            const QJsonObject o = v.toObject();
            if (o.value("provider").toString() == "p0") {
                QCOMPARE(o.value("circuit").toString(), QStringLiteral("open"));
                QCOMPARE(o.value("healthy").toBool(), false);
                QCOMPARE(o.value("failures").toInt(), 2);
            } else {
                QCOMPARE(o.value("circuit").toString(), QStringLiteral("closed"));
                QCOMPARE(o.value("requests").toInt(), 20);
                QVERIFY(o.value("base_url").toString().startsWith("http://127.0.0.1:"));
            }
        }
    }

    void allTargetsCoolingDownAnswers503WithRetryAfter() {
        startDaemon(1, R"({"strategy":"fallback","retry":{"max_attempts":1}})");
        m_up[0]->responder = [](QTcpSocket *s, const SeenRequest &) {
            sendError(s, 429, "Retry-After: 20\r\n");
        };
        QCOMPARE(roundTrip(port(), chatRequest()).status, 429);
        const Response r = roundTrip(port(), chatRequest());
        QCOMPARE(r.status, 503);
        QVERIFY(r.header("retry-after").toInt() >= 19);
        QVERIFY(r.body.contains(R"("error")"));
        QCOMPARE(m_up[0]->seen.size(), 1);
    }

    void mixedFaultsStillServeEveryRequestExactlyOnce() {
        startDaemon(3, R"({"strategy":"weighted","retry":{"max_attempts":3,"backoff_ms":5}})", {},
                    R"({"first_byte_timeout_ms":500})");
        int served[3] = {};
        for (int i = 0; i < 3; ++i) {
            m_up[i]->responder = [i, &served](QTcpSocket *s, const SeenRequest &req) {
                const bool stream = req.body.contains(R"("stream":true)");
                const quint32 roll = i == 0 ? QRandomGenerator::global()->bounded(10) : 9;
                if (roll < 1) return;  // hang
                if (roll < 2) {
                    s->abort();
                    return;
                }
                if (roll < 3) {
                    sendError(s, 502);
                    return;
                }
                ++served[i];
                const QByteArray src = "p" + QByteArray::number(i);
                if (stream)
                    sendStream(s, src + "-", 3, true);
                else
                    sendJson(s, chatReply(src));
            };
        }
        constexpr int kRequests = 60;
        int ok = 0;
        for (int n = 0; n < kRequests; ++n) {
            const bool stream = n % 2 == 0;
            const Response r = roundTrip(port(), chatRequest("logical", stream));
            if (r.status != 200 || !r.complete) continue;
            const QByteArray target = r.header("x-airlock-target");
            const QByteArray src = target.left(2);
            // The whole answer comes from the target the header names, once.
            if (stream) {
                QCOMPARE(r.body.count("data: [DONE]"), 1);
                QCOMPARE(r.body.count(src + "-0"), 1);
                for (const char *other : {"p0-", "p1-", "p2-"})
                    if (!QByteArray(other).startsWith(src)) QVERIFY(!r.body.contains(other));
            } else {
                QCOMPARE(r.body, chatReply(src));
            }
            ++ok;
        }
        QCOMPARE(ok, kRequests);
        QVERIFY(served[1] + served[2] > 0);
    }

    void hashStrategyKeepsEachSessionOnOneTarget() {
        startDaemon(3, R"({"strategy":"hash","hash_key":"header:x-session-id"})");
        for (int i = 0; i < 3; ++i) {
            m_up[i]->responder = [i](QTcpSocket *s, const SeenRequest &) {
                sendJson(s, chatReply("p" + QByteArray::number(i)));
            };
        }
        QSet<QByteArray> used;
        for (int session = 0; session < 12; ++session) {
            const QByteArray header = "x-session-id: s-" + QByteArray::number(session) + "\r\n";
            const QByteArray first =
                roundTrip(port(), chatRequest("logical", false, header)).header("x-airlock-target");
            QVERIFY(!first.isEmpty());
            for (int n = 0; n < 3; ++n)
                QCOMPARE(roundTrip(port(), chatRequest("logical", false, header))
                             .header("x-airlock-target"),
                         first);
            used.insert(first);
        }
        QVERIFY(used.size() >= 2);  // sessions spread over the targets
    }

    void openAiClientIsServedByAnthropicTargetWithTranslation() {
        startDaemon(2, R"({"strategy":"fallback"})",
                    {QStringLiteral("openai"), QStringLiteral("anthropic")});
        m_up[0]->responder = [](QTcpSocket *s, const SeenRequest &) { sendError(s, 503); };
        m_up[1]->responder = [](QTcpSocket *s, const SeenRequest &) {
            sendJson(
                s,
                R"({"id":"msg_1","type":"message","role":"assistant","model":"model-1","content":[{"type":"text","text":"bonjour"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":9,"output_tokens":4}})");
        };
        const Response r = roundTrip(port(), chatRequest());
        QCOMPARE(r.status, 200);
        const QJsonObject o = QJsonDocument::fromJson(r.body).object();
        QCOMPARE(o.value("object").toString(), QStringLiteral("chat.completion"));
        QCOMPARE(o.value("choices")
                     .toArray()[0]
                     .toObject()
                     .value("message")
                     .toObject()
                     .value("content")
                     .toString(),
                 QStringLiteral("bonjour"));
        QCOMPARE(o.value("usage").toObject().value("prompt_tokens").toInt(), 9);
        const SeenRequest &up = m_up[1]->seen[0];
        QVERIFY(up.head.startsWith("POST /v1/messages HTTP/1.1"));
        QVERIFY(up.head.contains("x-api-key: sk-test"));
        QVERIFY(up.head.contains("anthropic-version: "));
        QVERIFY(!up.head.contains("Authorization"));
        const QJsonObject sent = QJsonDocument::fromJson(up.body).object();
        QCOMPARE(sent.value("model").toString(), QStringLiteral("model-1"));
        QCOMPARE(sent.value("max_tokens").toInt(), 4096);
        const QList<UsageRecord> rows = ledgerRows(1);
        QCOMPARE(rows.size(), 1);
        QCOMPARE(rows[0].provider, QStringLiteral("p1"));
        QCOMPARE(rows[0].inputTokens, 9);
        QCOMPARE(rows[0].outputTokens, 4);
    }

    void translatedStreamCarriesUsageIntoTheLedger() {
        startDaemon(1, R"({"strategy":"fallback"})", {QStringLiteral("anthropic")});
        m_up[0]->responder = [](QTcpSocket *s, const SeenRequest &) {
            const QByteArray body =
                "event: message_start\ndata: "
                "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
                "\"role\":\"assistant\",\"model\":\"model-0\",\"content\":[],\"usage\":{\"input_"
                "tokens\":12,\"output_tokens\":1}}}\n\n"
                "event: content_block_start\ndata: "
                "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
                "\"text\",\"text\":\"\"}}\n\n"
                "event: content_block_delta\ndata: "
                "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
                "\"text\":\"Hi\"}}\n\n"
                "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
                "event: message_delta\ndata: "
                "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{"
                "\"output_tokens\":6}}\n\n"
                "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
            s->write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: " +
                     QByteArray::number(body.size()) + "\r\n\r\n" + body);
        };
        const Response r = roundTrip(port(), chatRequest("logical", true));
        QCOMPARE(r.status, 200);
        QVERIFY(r.complete);
        QVERIFY(r.header("content-type").startsWith("text/event-stream"));
        QVERIFY(r.body.contains(R"("content":"Hi")"));
        QVERIFY(r.body.contains(R"("finish_reason":"stop")"));
        QVERIFY(r.body.endsWith("data: [DONE]\n\n"));
        QVERIFY(!r.body.contains(R"("usage")"));  // the client did not ask for include_usage
        const QList<UsageRecord> rows = ledgerRows(1);
        QCOMPARE(rows.size(), 1);
        QCOMPARE(rows[0].inputTokens, 12);
        QCOMPARE(rows[0].outputTokens, 6);
        QCOMPARE(rows[0].model, QStringLiteral("model-0"));
    }

    void targetThatCannotServeTheRequestIsSkippedForOneThatCan() {
        startDaemon(2, R"({"strategy":"fallback"})",
                    {QStringLiteral("anthropic"), QStringLiteral("openai")});
        m_up[1]->responder = [](QTcpSocket *s, const SeenRequest &) {
            sendJson(s, chatReply("p1"));
        };
        const QByteArray body =
            R"({"model":"logical","n":2,"messages":[{"role":"user","content":"hi"}]})";
        const Response r =
            roundTrip(port(), "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                  QByteArray::number(body.size()) + "\r\n\r\n" + body);
        QCOMPARE(r.status, 200);
        QCOMPARE(r.header("x-airlock-target"), QByteArray("p1/model-1"));
        QCOMPARE(r.header("x-airlock-attempts"), QByteArray("1"));
        QCOMPARE(m_up[0]->seen.size(), 0);
    }

    void endpointOnlySomeTargetsCanServeGoesToThem() {
        // /v1/embeddings cannot be translated to Anthropic: only the OpenAI-format target serves.
        startDaemon(2, R"({"strategy":"fallback"})",
                    {QStringLiteral("anthropic"), QStringLiteral("openai")});
        m_up[1]->responder = [](QTcpSocket *s, const SeenRequest &) {
            sendJson(s, R"({"object":"list","data":[]})");
        };
        const QByteArray body = R"({"model":"logical","input":"hi"})";
        const Response r =
            roundTrip(port(), "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                  QByteArray::number(body.size()) + "\r\n\r\n" + body);
        QCOMPARE(r.status, 200);
        QCOMPARE(r.header("x-airlock-target"), QByteArray("p1/model-1"));
        QVERIFY(m_up[1]->seen[0].head.startsWith("POST /v1/embeddings "));
        QVERIFY(m_up[1]->seen[0].body.contains(R"("model":"model-1")"));
        QCOMPARE(m_up[0]->seen.size(), 0);
    }

    void untranslatableRequestIsRefusedInCallersFormat() {
        startDaemon(1, R"({"strategy":"fallback"})", {QStringLiteral("anthropic")});
        const QByteArray body =
            R"({"model":"logical","n":2,"messages":[{"role":"user","content":"hi"}]})";
        const Response r =
            roundTrip(port(), "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                  QByteArray::number(body.size()) + "\r\n\r\n" + body);
        QCOMPARE(r.status, 400);
        const QJsonObject e = QJsonDocument::fromJson(r.body).object().value("error").toObject();
        QVERIFY(e.value("message").toString().contains("n > 1"));
        QCOMPARE(m_up[0]->seen.size(), 0);
    }
};

QTEST_GUILESS_MAIN(TestRoutingFaults)
#include "tst_routing_faults.moc"
