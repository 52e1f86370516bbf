// Server side of one client TCP connection: parses requests (keep-alive, pipelining), enforces
// the client-facing limits and timeouts, buffers each request body, hands the request to an
// ExchangeHandler and frames the handler's response back to the client.
#pragma once

#include "core/config/config.h"
#include "core/http/http_parser.h"
#include "core/proxy/exchange.h"

#include <QElapsedTimer>
#include <QPointer>
#include <QSslConfiguration>
#include <QTcpSocket>
#include <QTimer>
#include <functional>
#include <memory>

namespace airlock {

class ClientConnection;

// May rewrite head.target (forward-proxy requests are handed on in origin form).
using HandlerFactory =
    std::function<ExchangeHandler *(ClientConnection *connection, HttpRequestHead &head)>;
// Called for requests that fail before a handler exists (parse errors, limits, timeouts) so
// the error is answered in the caller's format: returns the content-type and body to send.
using ErrorResponder =
    std::function<QByteArray(const QByteArray &target, int status, const QString &message)>;

class ClientConnection : public QObject, public ResponseSink {
    Q_OBJECT
public:
    ClientConnection(std::unique_ptr<QTcpSocket> socket, const Limits &limits,
                     HandlerFactory factory, ErrorResponder errorResponder,
                     QObject *parent = nullptr);
    ~ClientConnection() override;

    QHostAddress peerAddress() const { return m_peerAddress; }
    quint16 peerPort() const { return m_peerPort; }
    QHostAddress localAddress() const { return m_localAddress; }
    quint16 localPort() const { return m_localPort; }

    // Attribution: set once by whoever resolved the peer process; waiters run then.
    void setIdentity(const ClientIdentity &identity);
    bool identityKnown() const { return m_identityKnown; }
    const ClientIdentity &identity() const { return m_identity; }
    // Runs fn now when the identity is known, else when it becomes known (or after timeoutMs).
    void whenIdentified(QObject *context, std::function<void()> fn, int timeoutMs = 250);

    // When the current request head arrived (monotonic ns), for latency accounting.
    qint64 requestStartNs() const { return m_requestStartNs; }
    static qint64 nowNs();

    // ResponseSink
    void sendHead(HttpResponseHead head, qint64 contentLength) override;
    void sendBody(QByteArrayView data) override;
    void finishResponse() override;
    // The last body bytes and the body's end in one write; finishResponse() then completes it.
    void sendLastBody(QByteArrayView data);
    void abortResponse() override;
    qint64 pendingWriteBytes() const override;
    bool headSent() const override { return m_headSent; }

    // Takes the socket out for a tunnel (CONNECT); the connection deletes itself afterwards.
    // *buffered receives bytes the client sent after the CONNECT head (to forward first).
    std::unique_ptr<QTcpSocket> takeSocket(QByteArray *buffered = nullptr);

    // CONNECT to an intercepted host: answers 200, then continues on the same socket as the TLS
    // server for host with `tls` (a minted certificate); requests that follow are decrypted and
    // parsed as before. False (and the connection closes) when the socket cannot do TLS.
    bool startServerTls(const QSslConfiguration &tls, const QString &host, quint16 port,
                        QString *error);
    // Non-empty on a connection whose TLS Airlock terminated: the host the client asked for.
    const QString &interceptedHost() const { return m_interceptedHost; }
    quint16 interceptedPort() const { return m_interceptedPort; }
    // The current response is the last on this connection.
    void closeAfterResponse() { m_closeAfterResponse = true; }

Q_SIGNALS:
    void closed();

private:
    enum class TimerMode { None, Idle, Header, Body };

    void onReadyRead();
    void onBytesWritten();
    void onDisconnected();
    void onTimer();
    void onHead();
    void onBodyData(QByteArrayView data);
    void onMessageComplete();
    void failRequest(int status, const QString &message);
    void setTimer(TimerMode mode, int ms);
    void responseDone();
    // Later: stays in the socket's buffer until the next Now write or the next event-loop turn.
    enum class Flush { Now, Later };
    void writeRaw(QByteArrayView data, Flush flush = Flush::Now);
    void writeBody(QByteArrayView data, Flush flush);
    void endBody();  // the chunked terminator (if any) and a flush, once per response
    void closeSoon();
    void onTlsError(QAbstractSocket::SocketError error);

    std::unique_ptr<QTcpSocket> m_socket;
    Limits m_limits;
    HandlerFactory m_factory;
    ErrorResponder m_errorResponder;
    HttpRequestParser m_parser;
    QTimer m_timer;
    TimerMode m_timerMode = TimerMode::None;
    QPointer<ExchangeHandler> m_handler;
    QByteArray m_body;
    HttpRequestHead m_head;
    QHostAddress m_peerAddress;
    QHostAddress m_localAddress;
    quint16 m_peerPort = 0;
    quint16 m_localPort = 0;
    qint64 m_requestStartNs = 0;
    ClientIdentity m_identity;
    bool m_identityKnown = false;
    struct Waiter {
        QPointer<QObject> context;
        std::function<void()> fn;
    };
    QList<Waiter> m_waiters;
    QTimer *m_identityTimer = nullptr;
    // Response state
    bool m_headSent = false;
    bool m_chunked = false;
    bool m_bodyEnded = false;  // sendLastBody() wrote the end of the body
    bool m_closeAfterResponse = false;
    bool m_responseActive = false;
    bool m_closing = false;
    bool m_drainWanted = false;
    QString m_interceptedHost;
    quint16 m_interceptedPort = 0;
    bool m_tlsHandshaking = false;
    bool m_disconnectHandled = false;
};

}  // namespace airlock
