// A fast fake OpenAI-format upstream for benchmarks: answers every POST with a fixed chat
// completion (keep-alive), or, when the body asks for "stream":true, with paced SSE chunks.
// Usage: bench_upstream [--port N] [--chunks N] [--chunk-delay-ms N]; prints {"port":N}.
#include <QCoreApplication>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

#include <cstdio>
#include <memory>

namespace {

const QByteArray kJson =
    R"({"id":"chatcmpl-bench","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}})";

int g_chunks = 20;
int g_chunkDelayMs = 20;

QByteArray chunk(const QByteArray &data)
{
    return QByteArray::number(data.size(), 16) + "\r\n" + data + "\r\n";
}

void streamTo(QTcpSocket *s, bool includeUsage)
{
    s->write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    auto sent = std::make_shared<int>(0);
    auto *timer = new QTimer(s);
    auto step = [s, sent, timer, includeUsage] {
        if (s->state() != QAbstractSocket::ConnectedState) {
            timer->deleteLater();
            return;
        }
        if (*sent < g_chunks) {
            s->write(chunk(R"(data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"tok "},"finish_reason":null}]})"
                           "\n\n"));
            ++*sent;
        } else {
            QByteArray tail;
            if (includeUsage)
                tail += chunk(R"(data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":20,"total_tokens":29}})"
                              "\n\n");
            tail += chunk("data: [DONE]\n\n") + "0\r\n\r\n";
            s->write(tail);
            timer->stop();
            timer->deleteLater();
        }
        s->flush();
    };
    step();
    QObject::connect(timer, &QTimer::timeout, s, step);
    timer->start(g_chunkDelayMs);
}

class Server : public QTcpServer {
protected:
    void incomingConnection(qintptr fd) override
    {
        auto *s = new QTcpSocket(this);
        s->setSocketDescriptor(fd);
        s->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        auto buffer = std::make_shared<QByteArray>();
        connect(s, &QTcpSocket::disconnected, s, &QObject::deleteLater);
        connect(s, &QTcpSocket::readyRead, s, [s, buffer] {
            buffer->append(s->readAll());
            for (;;) {
                const qsizetype end = buffer->indexOf("\r\n\r\n");
                if (end < 0) return;
                qsizetype length = 0;
                const QByteArray head = buffer->left(end).toLower();
                const qsizetype cl = head.indexOf("content-length:");
                if (cl >= 0) length = head.mid(cl + 15, head.indexOf("\r\n", cl) - cl - 15).trimmed().toLongLong();
                if (buffer->size() < end + 4 + length) return;
                const QByteArray body = buffer->mid(end + 4, length);
                buffer->remove(0, end + 4 + length);
                if (body.contains("\"stream\":true") || body.contains("\"stream\": true")) {
                    streamTo(s, body.contains("include_usage"));
                } else {
                    s->write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                             QByteArray::number(kJson.size()) + "\r\n\r\n" + kJson);
                    s->flush();
                }
            }
        });
    }
};

}  // namespace

int main(int argc, char **argv)
{
    qputenv("QT_NO_GLIB", "1");
    QCoreApplication app(argc, argv);
    quint16 port = 0;
    const QStringList args = app.arguments();
    for (int i = 1; i + 1 < args.size(); ++i) {
        if (args[i] == QLatin1String("--port")) port = quint16(args[i + 1].toUInt());
        if (args[i] == QLatin1String("--chunks")) g_chunks = args[i + 1].toInt();
        if (args[i] == QLatin1String("--chunk-delay-ms")) g_chunkDelayMs = args[i + 1].toInt();
    }
    Server server;
    if (!server.listen(QHostAddress::LocalHost, port)) return 1;
    std::printf("{\"port\":%u}\n", unsigned(server.serverPort()));
    std::fflush(stdout);
    return app.exec();
}
