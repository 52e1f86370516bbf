#include "core/proxy/client_connection.h"

#include "platform/memory_tuning.h"

#include <QCoreApplication>
#include <QPointer>
#include <QSslSocket>
#include <QTimer>

#include <chrono>

namespace airlock {

namespace {
constexpr qint64 kReadChunkBytes = 256 * 1024;

// The allocator keeps freed large buffers for the next large body (see memory_tuning.h); once
// large bodies stop for this long, the free memory goes back to the OS. One single-shot timer,
// re-armed by each large body: nothing runs while the proxy is idle.
constexpr qint64 kLargeBodyBytes = 256 * 1024;
constexpr int kReleaseMemoryAfterMs = 2000;

void releaseMemoryAfterLargeBodies() {
    static QPointer<QTimer> timer;
    if (!timer) {
        timer = new QTimer(QCoreApplication::instance());
        timer->setSingleShot(true);
        timer->setInterval(kReleaseMemoryAfterMs);
        QObject::connect(timer, &QTimer::timeout, [] { memory::releaseFreeMemory(); });
    }
    timer->start();
}

HttpParseLimits parseLimitsFrom(const Limits &l) {
    HttpParseLimits p;
    p.maxHeaderBytes = l.maxHeaderBytes;
    p.maxHeaderCount = l.maxHeaderCount;
    p.maxBodyBytes = l.maxBodyBytes;
    return p;
}
}  // namespace

qint64 ClientConnection::nowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

ClientConnection::ClientConnection(std::unique_ptr<QTcpSocket> socket, const Limits &limits,
                                   HandlerFactory factory, ErrorResponder errorResponder,
                                   QObject *parent)
    : QObject(parent),
      m_socket(std::move(socket)),
      m_limits(limits),
      m_factory(std::move(factory)),
      m_errorResponder(std::move(errorResponder)),
      m_parser(parseLimitsFrom(limits)) {
    m_peerAddress = m_socket->peerAddress();
    m_peerPort = m_socket->peerPort();
    m_localAddress = m_socket->localAddress();
    m_localPort = m_socket->localPort();
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_socket->setReadBufferSize(kReadChunkBytes);
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, &ClientConnection::onTimer);
    connect(m_socket.get(), &QTcpSocket::readyRead, this, &ClientConnection::onReadyRead);
    connect(m_socket.get(), &QTcpSocket::bytesWritten, this, &ClientConnection::onBytesWritten);
    connect(m_socket.get(), &QTcpSocket::disconnected, this, &ClientConnection::onDisconnected);

    HttpParserCallbacks cb;
    cb.onHeadComplete = [this] { onHead(); };
    cb.onBody = [this](QByteArrayView data) { onBodyData(data); };
    cb.onMessageComplete = [this] { onMessageComplete(); };
    m_parser.setCallbacks(std::move(cb));
    setTimer(TimerMode::Idle, m_limits.idleTimeoutMs);
    if (m_socket->bytesAvailable() > 0)
        QMetaObject::invokeMethod(this, &ClientConnection::onReadyRead, Qt::QueuedConnection);
}

ClientConnection::~ClientConnection() {
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
    }
}

void ClientConnection::setIdentity(const ClientIdentity &identity) {
    m_identity = identity;
    m_identityKnown = true;
    if (m_identityTimer) m_identityTimer->stop();
    const QList<Waiter> waiters = std::exchange(m_waiters, {});
    for (const Waiter &w : waiters)
        if (w.context) w.fn();
}

void ClientConnection::whenIdentified(QObject *context, std::function<void()> fn, int timeoutMs) {
    if (m_identityKnown) {
        fn();
        return;
    }
    m_waiters.append({context, std::move(fn)});
    if (!m_identityTimer) {
        m_identityTimer = new QTimer(this);
        m_identityTimer->setSingleShot(true);
        connect(m_identityTimer, &QTimer::timeout, this, [this] {
            // Attribution is late: go on as "unknown" rather than hold the request.
            if (!m_identityKnown) setIdentity(ClientIdentity{});
        });
    }
    if (!m_identityTimer->isActive()) m_identityTimer->start(timeoutMs);
}

void ClientConnection::setTimer(TimerMode mode, int ms) {
    m_timerMode = mode;
    if (mode == TimerMode::None)
        m_timer.stop();
    else
        m_timer.start(ms);
}

void ClientConnection::onReadyRead() {
    if (!m_socket) return;
    while (m_socket && m_socket->bytesAvailable() > 0 && !m_closing) {
        const QByteArray data = m_socket->read(kReadChunkBytes);
        if (data.isEmpty()) break;
        if (m_timerMode == TimerMode::Idle) {
            m_requestStartNs = nowNs();
            setTimer(TimerMode::Header, m_limits.headerTimeoutMs);
        }
        QPointer<ClientConnection> self(this);
        const bool ok = m_parser.feed(data);
        if (!self) return;
        if (!ok) {
            failRequest(m_parser.error().status, QString::fromUtf8(m_parser.error().message));
            return;
        }
    }
}

void ClientConnection::onHead() {
    m_head = m_parser.head();
    if (m_timerMode != TimerMode::Header) m_requestStartNs = nowNs();
    m_body.clear();
    const qint64 cl = m_parser.contentLength();
    if (cl > 0 && cl <= m_limits.maxBodyBytes) m_body.reserve(cl);
    setTimer(TimerMode::Body, m_limits.bodyTimeoutMs);
    m_handler = m_factory(this, m_head);
    if (m_parser.expectsContinue() && m_socket) writeRaw("HTTP/1.1 100 Continue\r\n\r\n");
}

void ClientConnection::onBodyData(QByteArrayView data) {
    m_body.append(data.data(), data.size());
    setTimer(TimerMode::Body, m_limits.bodyTimeoutMs);
}

void ClientConnection::onMessageComplete() {
    setTimer(TimerMode::None, 0);
    m_responseActive = true;
    m_headSent = false;
    m_chunked = false;
    m_bodyEnded = false;
    m_closeAfterResponse = !m_head.keepAlive();
    if (!m_handler) {
        failRequest(500, QStringLiteral("no handler for this request"));
        return;
    }
    if (m_body.size() >= kLargeBodyBytes && QCoreApplication::instance())
        releaseMemoryAfterLargeBodies();
    m_handler->start(m_head, std::exchange(m_body, {}));
}

void ClientConnection::failRequest(int status, const QString &message) {
    // The request stream is broken (or timed out): answer if we still can, then close.
    if (m_handler) {
        QPointer<ExchangeHandler> h = m_handler;
        m_handler = nullptr;
        h->clientGone();
        h->deleteLater();
    }
    if (!m_headSent && m_socket && m_socket->state() == QAbstractSocket::ConnectedState) {
        // A head rejected as a whole (e.g. Content-Length over the limit) never reached onHead().
        const QByteArray target = m_head.target.isEmpty() ? m_parser.head().target : m_head.target;
        const QByteArray body = m_errorResponder(target, status, message);
        HttpResponseHead head;
        head.status = status;
        head.reason = reasonPhrase(status);
        head.headers.add("Content-Type", "application/json");
        head.headers.add("Connection", "close");
        head.headers.add("Content-Length", QByteArray::number(body.size()));
        writeRaw(head.serialize(), Flush::Later);
        writeRaw(body);
    }
    m_head = HttpRequestHead{};
    closeSoon();
}

void ClientConnection::sendHead(HttpResponseHead head, qint64 contentLength) {
    if (m_headSent || !m_socket) return;
    m_headSent = true;
    head.headers.remove("Content-Length");
    head.headers.remove("Transfer-Encoding");
    head.headers.remove("Connection");
    head.headers.remove("Keep-Alive");
    if (contentLength >= 0) {
        head.headers.add("Content-Length", QByteArray::number(contentLength));
    } else if (m_head.versionMinor >= 1) {
        m_chunked = true;
        head.headers.add("Transfer-Encoding", "chunked");
    } else {
        m_closeAfterResponse = true;
    }
    if (m_closeAfterResponse)
        head.headers.add("Connection", "close");
    else if (m_head.versionMinor == 0)
        head.headers.add("Connection", "keep-alive");
    head.versionMinor = 1;
    if (head.reason.isEmpty()) head.reason = reasonPhrase(head.status);
    // The head waits for the first body bytes (or the end of the response, or the next turn of
    // the event loop): one write and one segment instead of two for most answers.
    writeRaw(head.serialize(), Flush::Later);
}

void ClientConnection::sendBody(QByteArrayView data) {
    writeBody(data, Flush::Now);
}

void ClientConnection::writeBody(QByteArrayView data, Flush flush) {
    if (!m_socket || data.isEmpty() || m_bodyEnded) return;
    if (m_chunked) {
        QByteArray frame;
        frame.reserve(data.size() + 16);
        frame += QByteArray::number(data.size(), 16);
        frame += "\r\n";
        frame.append(data.data(), data.size());
        frame += "\r\n";
        writeRaw(frame, flush);
    } else {
        writeRaw(data, flush);
    }
}

void ClientConnection::sendLastBody(QByteArrayView data) {
    if (!m_responseActive) return;
    writeBody(data, Flush::Later);
    endBody();
}

void ClientConnection::finishResponse() {
    if (!m_responseActive) return;
    endBody();
    responseDone();
}

void ClientConnection::endBody() {
    if (m_bodyEnded) return;
    m_bodyEnded = true;
    // The chunked terminator, or nothing: either way what is buffered (a head without a body,
    // the last bytes) leaves now.
    writeRaw(m_chunked ? QByteArrayView("0\r\n\r\n") : QByteArrayView());
}

void ClientConnection::abortResponse() {
    m_responseActive = false;
    if (m_handler) {
        m_handler->deleteLater();
        m_handler = nullptr;
    }
    closeSoon();
}

void ClientConnection::responseDone() {
    m_responseActive = false;
    if (m_handler) {
        m_handler->deleteLater();
        m_handler = nullptr;
    }
    if (m_closeAfterResponse) {
        closeSoon();
        return;
    }
    m_head = HttpRequestHead{};
    setTimer(TimerMode::Idle, m_limits.idleTimeoutMs);
    // A pipelined request may already be buffered in the parser.
    QPointer<ClientConnection> self(this);
    if (m_parser.paused()) {
        if (!m_parser.idle()) {
            m_requestStartNs = nowNs();
            setTimer(TimerMode::Header, m_limits.headerTimeoutMs);
        }
        const bool ok = m_parser.resume();
        if (!self) return;
        if (!ok) {
            failRequest(m_parser.error().status, QString::fromUtf8(m_parser.error().message));
            return;
        }
    }
    if (self && m_socket && m_socket->bytesAvailable() > 0) onReadyRead();
}

qint64 ClientConnection::pendingWriteBytes() const {
    return m_socket ? m_socket->bytesToWrite() : 0;
}

void ClientConnection::writeRaw(QByteArrayView data, Flush flush) {
    if (!m_socket) return;
    if (!data.isEmpty()) m_socket->write(data.data(), data.size());
    if (flush == Flush::Now && m_socket->state() == QAbstractSocket::ConnectedState)
        m_socket->flush();
}

void ClientConnection::onBytesWritten() {
    if (m_closing && m_socket && m_socket->bytesToWrite() == 0) {
        m_socket->disconnectFromHost();
        return;
    }
    if (m_handler && m_socket && m_socket->bytesToWrite() < m_limits.clientWriteHighWaterBytes / 2)
        m_handler->clientDrained();
}

void ClientConnection::onDisconnected() {
    if (m_disconnectHandled) return;
    m_disconnectHandled = true;
    if (m_handler) {
        QPointer<ExchangeHandler> h = m_handler;
        m_handler = nullptr;
        h->clientGone();
        if (h) h->deleteLater();
    }
    m_timer.stop();
    if (m_socket) m_socket->disconnect(this);
    Q_EMIT closed();
    deleteLater();
}

void ClientConnection::onTimer() {
    switch (m_timerMode) {
        case TimerMode::Idle:
            closeSoon();
            break;
        case TimerMode::Header:
            if (m_tlsHandshaking) {
                qInfo("airlockd: TLS handshake for %s timed out", qPrintable(m_interceptedHost));
                m_tlsHandshaking = false;
                if (m_socket) m_socket->abort();
                QMetaObject::invokeMethod(this, &ClientConnection::onDisconnected,
                                          Qt::QueuedConnection);
                break;
            }
            failRequest(408, QStringLiteral("request head not received within %1 ms")
                                 .arg(m_limits.headerTimeoutMs));
            break;
        case TimerMode::Body:
            failRequest(
                408, QStringLiteral("request body stalled for %1 ms").arg(m_limits.bodyTimeoutMs));
            break;
        case TimerMode::None:
            break;
    }
}

void ClientConnection::closeSoon() {
    if (m_closing) return;
    m_closing = true;
    m_timer.stop();
    if (!m_socket) return;
    if (m_socket->bytesToWrite() == 0) m_socket->disconnectFromHost();
    // Give a slow reader a bounded time to take the final bytes.
    QTimer::singleShot(5000, this, [this] {
        if (m_socket) m_socket->abort();
    });
}

std::unique_ptr<QTcpSocket> ClientConnection::takeSocket(QByteArray *buffered) {
    if (buffered) *buffered = m_parser.takeBuffered();
    m_timer.stop();
    if (m_socket) m_socket->disconnect(this);
    m_closing = true;
    deleteLater();
    return std::move(m_socket);
}

}  // namespace airlock

namespace airlock {

bool ClientConnection::startServerTls(const QSslConfiguration &tls, const QString &host,
                                      quint16 port, QString *error) {
    auto *ssl = qobject_cast<QSslSocket *>(m_socket.get());
    if (!ssl || !QSslSocket::supportsSsl()) {
        *error = QStringLiteral("TLS is not available in this build");
        return false;
    }
    // A client that sent its ClientHello before our 200 cannot be served: the bytes are already
    // out of the socket. Clients wait for the answer to CONNECT, so this is a broken client.
    if (!m_parser.takeBuffered().isEmpty()) {
        *error = QStringLiteral("the client sent data before the CONNECT was answered");
        return false;
    }
    writeRaw("HTTP/1.1 200 Connection Established\r\n\r\n");
    m_responseActive = false;
    if (m_handler) {
        m_handler->deleteLater();
        m_handler = nullptr;
    }
    m_head = HttpRequestHead{};
    m_parser.resume();
    m_interceptedHost = host;
    m_interceptedPort = port;
    m_tlsHandshaking = true;
    connect(ssl, &QSslSocket::errorOccurred, this, &ClientConnection::onTlsError);
    connect(ssl, &QSslSocket::encrypted, this, [this] {
        m_tlsHandshaking = false;
        setTimer(TimerMode::Idle, m_limits.idleTimeoutMs);
    });
    ssl->setSslConfiguration(tls);
    // The handshake must finish within the head timeout, like a request head would.
    setTimer(TimerMode::Header, m_limits.headerTimeoutMs);
    ssl->startServerEncryption();
    return true;
}

void ClientConnection::onTlsError(QAbstractSocket::SocketError error) {
    if (!m_tlsHandshaking || m_closing) return;
    Q_UNUSED(error);
    // Garbage instead of a ClientHello, or a client that refused our certificate (it does not
    // trust the Airlock CA): nothing can be answered in HTTP, so log why and close.
    qInfo("airlockd: TLS handshake for %s with client port %u failed: %s",
          qPrintable(m_interceptedHost), unsigned(m_peerPort),
          qPrintable(m_socket ? m_socket->errorString() : QString()));
    m_tlsHandshaking = false;
    m_closing = true;
    m_timer.stop();
    if (m_socket) m_socket->abort();
    // abort() may not report a disconnect when the socket had already dropped: finish here.
    QMetaObject::invokeMethod(
        this,
        [this] {
            if (m_socket && m_socket->state() != QAbstractSocket::UnconnectedState) return;
            if (m_socket) onDisconnected();
        },
        Qt::QueuedConnection);
}

}  // namespace airlock
