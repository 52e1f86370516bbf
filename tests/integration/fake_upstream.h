// A scriptable loopback HTTP/1.1 upstream for the in-process integration tests: records each
// request it reads (head and Content-Length body) and answers through a callback.
#pragma once

#include <QHostAddress>
#include <QList>
#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>
#include <functional>
#include <memory>

namespace airlock::testing {

struct SeenRequest {
    QByteArray head;
    QByteArray body;
};

// A loopback HTTP server whose answer to each request is a callback.
class FakeUpstream : public QTcpServer {
public:
    using Responder = std::function<void(QTcpSocket *socket, const SeenRequest &request)>;
    Responder responder;
    QList<SeenRequest> seen;
    int connections = 0;
    QList<QPointer<QTcpSocket>> sockets;

    FakeUpstream() { listen(QHostAddress::LocalHost, 0); }

protected:
    void incomingConnection(qintptr fd) override
    {
        auto *s = new QTcpSocket(this);
        s->setSocketDescriptor(fd);
        ++connections;
        sockets.append(s);
        auto buffer = std::make_shared<QByteArray>();
        connect(s, &QTcpSocket::readyRead, s, [this, s, buffer] {
            buffer->append(s->readAll());
            for (;;) {
                const qsizetype end = buffer->indexOf("\r\n\r\n");
                if (end < 0) return;
                const QByteArray head = buffer->left(end + 4);
                qsizetype length = 0;
                for (const QByteArray &line : head.split('\n'))
                    if (line.toLower().startsWith("content-length:")) length = line.mid(15).trimmed().toLongLong();
                if (buffer->size() < end + 4 + length) return;
                SeenRequest r{head, buffer->mid(end + 4, length)};
                buffer->remove(0, end + 4 + length);
                seen.append(r);
                if (responder) responder(s, r);
            }
        });
    }
};

}  // namespace airlock::testing
