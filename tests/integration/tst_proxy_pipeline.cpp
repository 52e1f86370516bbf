// The proxy pipeline end to end inside one process: a real airlock::Daemon on a loopback port in
// front of a scriptable upstream on another, driven by raw client sockets. Covers connection
// reuse, pipelining, cancellation, backpressure, limits and timeouts at the socket level.
#include "core/daemon/daemon.h"
#include "core/store/ledger_reader.h"

#include <QJsonDocument>
#include <QJsonObject>
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

void sendJson(QTcpSocket *s, const QByteArray &json, const QByteArray &extraHeaders = {})
{
    s->write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
             QByteArray::number(json.size()) + "\r\n" + extraHeaders + "\r\n" + json);
}

const QByteArray kChatReply =
    R"({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}})";

QByteArray chatRequest(const QByteArray &extraHeaders = {}, const QByteArray &body =
                           R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})")
{
    return "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           "Authorization: Bearer sk-test\r\n" + extraHeaders + "Content-Length: " +
           QByteArray::number(body.size()) + "\r\n\r\n" + body;
}

// Reads complete HTTP responses (Content-Length or chunked) from a client socket.
struct Response {
    int status = 0;
    QByteArray head;
    QByteArray body;
    QByteArray header(const QByteArray &name) const
    {
        for (const QByteArray &line : head.split('\n')) {
            const qsizetype colon = line.indexOf(':');
            if (colon > 0 && line.left(colon).trimmed().compare(name, Qt::CaseInsensitive) == 0)
                return line.mid(colon + 1).trimmed();
        }
        return {};
    }
};

bool takeResponse(QByteArray *buffer, Response *out)
{
    const qsizetype end = buffer->indexOf("\r\n\r\n");
    if (end < 0) return false;
    Response r;
    r.head = buffer->left(end);
    r.status = r.head.mid(9, 3).toInt();
    qsizetype pos = end + 4;
    if (r.header("transfer-encoding").toLower() == "chunked") {
        QByteArray body;
        for (;;) {
            const qsizetype lineEnd = buffer->indexOf("\r\n", pos);
            if (lineEnd < 0) return false;
            const qint64 size = buffer->mid(pos, lineEnd - pos).toLongLong(nullptr, 16);
            if (buffer->size() < lineEnd + 2 + size + 2) return false;
            if (size == 0) {
                pos = lineEnd + 4;
                break;
            }
            body += buffer->mid(lineEnd + 2, size);
            pos = lineEnd + 2 + size + 2;
        }
        r.body = body;
    } else {
        const qint64 length = r.header("content-length").toLongLong();
        if (buffer->size() < pos + length) return false;
        r.body = buffer->mid(pos, length);
        pos += length;
    }
    buffer->remove(0, pos);
    *out = r;
    return true;
}

QList<Response> readResponses(QTcpSocket &s, int count, int timeoutMs = 5000)
{
    QList<Response> out;
    QByteArray buffer;
    QDeadlineTimer deadline(timeoutMs);
    while (out.size() < count && !deadline.hasExpired()) {
        Response r;
        while (out.size() < count && takeResponse(&buffer, &r)) out.append(r);
        if (out.size() == count) break;
        if (s.state() != QAbstractSocket::ConnectedState && s.bytesAvailable() == 0) break;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
        buffer += s.readAll();
    }
    return out;
}

}  // namespace

class TestProxyPipeline : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<QTemporaryDir> m_tmp;  // fresh per test: each test reads its own ledger
    std::unique_ptr<Daemon> m_daemon;
    std::unique_ptr<FakeUpstream> m_upstream;

    void startDaemon(const QByteArray &configJson = "{}")
    {
        m_upstream = std::make_unique<FakeUpstream>();
        QFile config(m_tmp->filePath(QStringLiteral("config.json")));
        QVERIFY(config.open(QIODevice::WriteOnly));
        config.write(configJson);
        config.close();
        DaemonOptions o;
        o.configPath = config.fileName();
        o.listen = QStringLiteral("127.0.0.1:0");
        o.dataDir = m_tmp->filePath(QStringLiteral("data"));
        o.upstreams = {QStringLiteral("openai=http://127.0.0.1:%1").arg(m_upstream->serverPort())};
        m_daemon = std::make_unique<Daemon>();
        QString error;
        QVERIFY2(m_daemon->start(o, &error), qPrintable(error));
    }

    void connectClient(QTcpSocket &s)
    {
        s.connectToHost(QHostAddress::LocalHost, m_daemon->port());
        QVERIFY(s.waitForConnected(2000) || s.state() == QAbstractSocket::ConnectedState);
    }

private Q_SLOTS:
    void init()
    {
        qputenv("AIRLOCK_MANAGED_CONFIG", "/nonexistent/managed.json");
        m_tmp = std::make_unique<QTemporaryDir>();
    }
    void cleanup()
    {
        m_daemon.reset();
        m_upstream.reset();
    }

    void reusesOneUpstreamConnectionForSequentialRequests()
    {
        startDaemon();
        m_upstream->responder = [](QTcpSocket *s, const SeenRequest &) { sendJson(s, kChatReply); };
        QTcpSocket client;
        connectClient(client);
        for (int i = 0; i < 5; ++i) {
            client.write(chatRequest());
            const auto responses = readResponses(client, 1);
            QCOMPARE(responses.size(), 1);
            QCOMPARE(responses[0].status, 200);
            QCOMPARE(responses[0].body, kChatReply);
            QVERIFY(responses[0].header("x-airlock-request-id").startsWith("req_"));
        }
        QCOMPARE(m_upstream->connections, 1);
        QCOMPARE(m_upstream->seen.size(), 5);
        // What reached the upstream: our Host, identity encoding, the client's key untouched.
        const QByteArray head = m_upstream->seen[0].head;
        QVERIFY(head.startsWith("POST /v1/chat/completions HTTP/1.1\r\n"));
        QVERIFY(head.contains("Host: 127.0.0.1:" + QByteArray::number(m_upstream->serverPort())));
        QVERIFY(head.contains("Accept-Encoding: identity"));
        QVERIFY(head.contains("Authorization: Bearer sk-test"));
    }

    void answersPipelinedRequestsInOrder()
    {
        startDaemon();
        int n = 0;
        m_upstream->responder = [&n](QTcpSocket *s, const SeenRequest &) {
            sendJson(s, kChatReply, "x-seq: " + QByteArray::number(++n) + "\r\n");
        };
        QTcpSocket client;
        connectClient(client);
        client.write(chatRequest() + chatRequest() + chatRequest());
        const auto responses = readResponses(client, 3);
        QCOMPARE(responses.size(), 3);
        for (int i = 0; i < 3; ++i) QCOMPARE(responses[i].header("x-seq"), QByteArray::number(i + 1));
    }

    void readsChunkedRequestBodiesAndExpectContinue()
    {
        startDaemon();
        m_upstream->responder = [](QTcpSocket *s, const SeenRequest &) { sendJson(s, kChatReply); };
        QTcpSocket client;
        connectClient(client);
        const QByteArray body = R"({"model":"gpt-4o-mini","messages":[]})";
        client.write("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                     "Expect: 100-continue\r\n\r\n");
        QByteArray interim;
        QVERIFY(QTest::qWaitFor([&] {
            interim += client.readAll();
            return interim.contains("\r\n\r\n");
        }, 3000));
        QVERIFY(interim.startsWith("HTTP/1.1 100 Continue"));
        client.write(QByteArray::number(body.size() - 5, 16) + "\r\n" + body.left(body.size() - 5) +
                     "\r\n5\r\n" + body.right(5) + "\r\n0\r\n\r\n");
        const auto responses = readResponses(client, 1);
        QCOMPARE(responses.size(), 1);
        QCOMPARE(responses[0].status, 200);
        QCOMPARE(m_upstream->seen.size(), 1);
        QCOMPARE(m_upstream->seen[0].body, body);
    }

    void retriesOnceWhenAPooledConnectionWasClosedByTheUpstream()
    {
        startDaemon();
        // The upstream answers keep-alive, then closes every connection right after answering.
        m_upstream->responder = [](QTcpSocket *s, const SeenRequest &) {
            sendJson(s, kChatReply);
            s->flush();
            QTimer::singleShot(50, s, [s] { s->disconnectFromHost(); });
        };
        QTcpSocket client;
        connectClient(client);
        client.write(chatRequest());
        QCOMPARE(readResponses(client, 1).value(0).status, 200);
        QTest::qWait(200);  // the upstream's close reaches the idle pooled connection
        client.write(chatRequest());
        QCOMPARE(readResponses(client, 1).value(0).status, 200);
        QCOMPARE(m_upstream->connections, 2);
    }

    void clientDisconnectCancelsTheUpstreamRequest()
    {
        startDaemon();
        QPointer<QTcpSocket> upstreamSide;
        m_upstream->responder = [&](QTcpSocket *s, const SeenRequest &) {
            upstreamSide = s;
            s->write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
            const QByteArray ev = "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n";
            s->write(QByteArray::number(ev.size(), 16) + "\r\n" + ev + "\r\n");
        };
        QTcpSocket client;
        connectClient(client);
        client.write(chatRequest({}, R"({"model":"gpt-4o-mini","stream":true,"messages":[]})"));
        QVERIFY(QTest::qWaitFor([&] { return client.bytesAvailable() > 0 || client.waitForReadyRead(10); }, 3000));
        QVERIFY(upstreamSide);
        client.abort();
        QVERIFY2(QTest::qWaitFor([&] { return !upstreamSide || upstreamSide->state() != QAbstractSocket::ConnectedState; }, 3000),
                 "the upstream connection stayed open after the client went away");
        // The cancelled request is recorded as such.
        LedgerReader reader(m_tmp->filePath(QStringLiteral("data/usage.db")));
        QVERIFY(reader.open(nullptr));
        QString readError;
        const bool seenRow = QTest::qWaitFor([&] { return reader.requests(RequestsQuery{}, &readError).size() == 1; }, 3000);
        QVERIFY2(seenRow, qPrintable(readError));
        QCOMPARE(reader.requests(RequestsQuery{})[0].outcome, QStringLiteral("client_cancelled"));
    }

    void slowClientStallsTheUpstreamInsteadOfBufferingWithoutBound()
    {
        startDaemon(R"({"limits":{"client_write_high_water_bytes":262144}})");
        QPointer<QTcpSocket> upstreamSide;
        qint64 written = 0;
        const QByteArray chunk(64 * 1024, 'a');
        m_upstream->responder = [&](QTcpSocket *s, const SeenRequest &) {
            upstreamSide = s;
            s->write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                     QByteArray::number(qint64(256) * 1024 * 1024) + "\r\n\r\n");
            connect(s, &QTcpSocket::bytesWritten, s, [&, s](qint64 n) {
                written += n;
                if (s->bytesToWrite() < 1024 * 1024) s->write(chunk);
            });
            s->write(chunk);
        };
        QTcpSocket client;
        connectClient(client);
        client.setReadBufferSize(64 * 1024);  // and never read: a stalled client
        client.write("GET /openai/v1/files/big HTTP/1.1\r\nHost: x\r\n\r\n");
        QTest::qWait(1500);
        const qint64 afterStall = written;
        QTest::qWait(500);
        // Everything in flight is bounded by socket buffers plus the configured high water mark.
        QVERIFY2(afterStall < 48 * 1024 * 1024, qPrintable(QString::number(afterStall)));
        QVERIFY2(written - afterStall < 4 * 1024 * 1024, "the upstream kept streaming into a stalled client");
    }

    void upstreamThatNeverAnswersGetsGatewayTimeoutInCallersFormat()
    {
        startDaemon(R"({"limits":{"upstream_first_byte_timeout_ms":300}})");
        m_upstream->responder = [](QTcpSocket *, const SeenRequest &) {};
        QTcpSocket c2;
        connectClient(c2);
        c2.write(chatRequest());
        const auto responses = readResponses(c2, 1, 5000);
        QCOMPARE(responses.size(), 1);
        QCOMPARE(responses[0].status, 504);
        const QJsonObject err = QJsonDocument::fromJson(responses[0].body).object().value(QStringLiteral("error")).toObject();
        QVERIFY(err.value(QStringLiteral("message")).toString().contains(QStringLiteral("no response within 300 ms")));
    }

    void reportsItsOwnOverheadPerRequest()
    {
        startDaemon();
        m_upstream->responder = [](QTcpSocket *s, const SeenRequest &) { sendJson(s, kChatReply); };
        QTcpSocket client;
        connectClient(client);
        client.write(chatRequest());
        const auto r = readResponses(client, 1);
        QCOMPARE(r.size(), 1);
        bool ok = false;
        const qint64 us = r[0].header("x-airlock-overhead-us").toLongLong(&ok);
        QVERIFY(ok);
        QVERIFY(us >= 0);
    }
};

QTEST_GUILESS_MAIN(TestProxyPipeline)
#include "tst_proxy_pipeline.moc"
