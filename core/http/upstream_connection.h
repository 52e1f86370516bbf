// One HTTP/1.1 connection to an upstream origin (plain TCP or TLS, optionally through an HTTP
// CONNECT proxy). Sends one request at a time and streams the response to a listener.
#pragma once

#include "core/http/http_parser.h"
#include "core/http/origin.h"

#include <QObject>
#include <QPointer>
#include <QTimer>
#include <memory>

class QTcpSocket;

namespace airlock {

struct UpstreamTimeouts {
    int connectMs = 10'000;
    int firstByteMs = 600'000;
    int idleMs = 300'000;
};

struct UpstreamFailure {
    enum Kind { Connect, Tls, ConnectTimeout, FirstByteTimeout, IdleTimeout, Reset, Protocol };
    Kind kind = Reset;
    QString message;               // person-readable, no secrets
    bool responseStarted = false;  // some response bytes had been received
    bool reusedConnection = false; // the request went out on a pooled connection
};

class UpstreamListener {
public:
    virtual ~UpstreamListener() = default;
    virtual void upstreamHead(const HttpResponseHead &head) = 0;
    virtual void upstreamBody(QByteArrayView data) = 0;
    virtual void upstreamComplete() = 0;
    virtual void upstreamFailed(const UpstreamFailure &failure) = 0;
};

class UpstreamConnection : public QObject {
    Q_OBJECT
public:
    UpstreamConnection(Origin origin, QNetworkProxy proxy, HttpParseLimits limits,
                       QObject *parent = nullptr);
    ~UpstreamConnection() override;

    const Origin &origin() const { return m_origin; }
    // Sends a complete request (head + body bytes). The listener gets the response; it must
    // outlive the exchange or call detach() first.
    void send(QByteArray request, bool isHead, UpstreamTimeouts timeouts, UpstreamListener *listener);
    // The listener no longer wants the response: the connection is closed (cannot be reused).
    void detach();
    // Backpressure: stop/resume taking bytes from the socket.
    void setReadingPaused(bool paused);
    // The last response completed cleanly and both sides allow keep-alive.
    bool reusable() const { return m_reusable; }
    bool wasUsedBefore() const { return m_requestsSent > 1; }
    bool isConnected() const;
    void close();

Q_SIGNALS:
    // Closed by the peer or by an error while no request was in flight (pool drops it).
    void closedWhileIdle();

private:
    void connectSocket();
    void onConnected();
    void onReadyRead();
    void onDisconnected();
    void onTimeout();
    void fail(UpstreamFailure::Kind kind, const QString &message);
    void armTimer(int ms);
    void writeRequest();

    Origin m_origin;
    QNetworkProxy m_proxy;
    std::unique_ptr<QTcpSocket> m_socket;
    HttpResponseParser m_parser;
    QTimer m_timer;
    UpstreamListener *m_listener = nullptr;
    UpstreamTimeouts m_timeouts;
    QByteArray m_pendingRequest;
    UpstreamFailure::Kind m_timeoutKind = UpstreamFailure::ConnectTimeout;
    bool m_connected = false;
    bool m_inFlight = false;
    bool m_responseStarted = false;
    bool m_reusable = false;
    bool m_readingPaused = false;
    bool m_requestKeepAlive = true;
    int m_requestsSent = 0;
};

}  // namespace airlock
