#include "core/http/upstream_connection.h"

#include <QSslConfiguration>
#include <QSslSocket>
#include <QTcpSocket>

namespace airlock {

namespace {
constexpr qint64 kUpstreamReadBufferBytes = 256 * 1024;  // bounded, so backpressure reaches TCP
}

UpstreamConnection::UpstreamConnection(Origin origin, QNetworkProxy proxy, HttpParseLimits limits,
                                       QObject *parent)
    : QObject(parent), m_origin(std::move(origin)), m_proxy(std::move(proxy)), m_parser(limits)
{
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, &UpstreamConnection::onTimeout);
    HttpParserCallbacks cb;
    cb.onHeadComplete = [this] {
        m_responseStarted = true;
        armTimer(m_timeouts.idleMs);
        m_timeoutKind = UpstreamFailure::IdleTimeout;
        if (m_listener) m_listener->upstreamHead(m_parser.head());
    };
    cb.onBody = [this](QByteArrayView data) {
        if (m_listener) m_listener->upstreamBody(data);
    };
    cb.onMessageComplete = [this] {
        m_timer.stop();
        m_inFlight = false;
        m_reusable = m_requestKeepAlive && m_parser.head().keepAlive() && m_connected;
        UpstreamListener *l = std::exchange(m_listener, nullptr);
        if (l) l->upstreamComplete();
    };
    m_parser.setCallbacks(std::move(cb));
}

UpstreamConnection::~UpstreamConnection()
{
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
    }
}

bool UpstreamConnection::isConnected() const
{
    return m_connected && m_socket && m_socket->state() == QAbstractSocket::ConnectedState;
}

void UpstreamConnection::send(QByteArray request, bool isHead, UpstreamTimeouts timeouts,
                              UpstreamListener *listener)
{
    m_listener = listener;
    m_timeouts = timeouts;
    m_pendingRequest = std::move(request);
    m_inFlight = true;
    m_responseStarted = false;
    m_reusable = false;
    m_requestKeepAlive = true;
    ++m_requestsSent;
    m_parser.reset(isHead);
    if (isConnected()) {
        writeRequest();
    } else {
        connectSocket();
    }
}

void UpstreamConnection::connectSocket()
{
    m_connected = false;
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
    }
    if (m_origin.tls) {
        auto ssl = std::make_unique<QSslSocket>();
        QSslConfiguration conf = QSslConfiguration::defaultConfiguration();
        conf.setAllowedNextProtocols({QByteArrayLiteral("http/1.1")});
        ssl->setSslConfiguration(conf);
        connect(ssl.get(), &QSslSocket::encrypted, this, &UpstreamConnection::onConnected);
        connect(ssl.get(), &QSslSocket::sslErrors, this, [this](const QList<QSslError> &errors) {
            // Verification failed; QSslSocket aborts the handshake. Report the first reason.
            fail(UpstreamFailure::Tls, QStringLiteral("TLS verification of %1 failed: %2")
                                           .arg(m_origin.host,
                                                errors.isEmpty() ? QString() : errors.first().errorString()));
        });
        m_socket = std::move(ssl);
    } else {
        m_socket = std::make_unique<QTcpSocket>();
        connect(m_socket.get(), &QTcpSocket::connected, this, &UpstreamConnection::onConnected);
    }
    m_socket->setProxy(m_proxy);
    m_socket->setReadBufferSize(kUpstreamReadBufferBytes);
    connect(m_socket.get(), &QTcpSocket::readyRead, this, &UpstreamConnection::onReadyRead);
    connect(m_socket.get(), &QTcpSocket::disconnected, this, &UpstreamConnection::onDisconnected);
    connect(m_socket.get(), &QTcpSocket::errorOccurred, this,
            [this](QAbstractSocket::SocketError error) {
                if (error == QAbstractSocket::RemoteHostClosedError) return;  // handled by disconnected
                if (!m_connected) {
                    fail(UpstreamFailure::Connect,
                         QStringLiteral("cannot connect to %1: %2")
                             .arg(m_origin.key(), m_socket->errorString()));
                } else {
                    fail(UpstreamFailure::Reset, QStringLiteral("connection to %1 failed: %2")
                                                     .arg(m_origin.key(), m_socket->errorString()));
                }
            });
    m_timeoutKind = UpstreamFailure::ConnectTimeout;
    armTimer(m_timeouts.connectMs);
    if (m_origin.tls) {
        static_cast<QSslSocket *>(m_socket.get())->connectToHostEncrypted(m_origin.host, m_origin.port);
    } else {
        m_socket->connectToHost(m_origin.host, m_origin.port);
    }
}

void UpstreamConnection::onConnected()
{
    m_connected = true;
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_socket->setSocketOption(QAbstractSocket::KeepAliveOption, 1);
    if (m_inFlight) writeRequest();
}

void UpstreamConnection::writeRequest()
{
    m_timeoutKind = UpstreamFailure::FirstByteTimeout;
    armTimer(m_timeouts.firstByteMs);
    m_socket->write(m_pendingRequest);
    m_socket->flush();
    m_pendingRequest.clear();
}

void UpstreamConnection::onReadyRead()
{
    if (m_readingPaused || !m_socket) return;
    while (m_socket && m_socket->bytesAvailable() > 0 && !m_readingPaused) {
        const QByteArray data = m_socket->read(kUpstreamReadBufferBytes);
        if (data.isEmpty()) break;
        if (!m_inFlight) {
            // Bytes nobody asked for: the connection is out of step; drop it.
            m_reusable = false;
            close();
            Q_EMIT closedWhileIdle();
            return;
        }
        if (m_responseStarted) armTimer(m_timeouts.idleMs);
        QPointer<UpstreamConnection> self(this);
        if (!m_parser.feed(data)) {
            if (self) fail(UpstreamFailure::Protocol, QStringLiteral("bad response from %1: %2")
                                                         .arg(m_origin.key(),
                                                              QString::fromUtf8(m_parser.error().message)));
            return;
        }
        if (!self) return;
    }
}

void UpstreamConnection::setReadingPaused(bool paused)
{
    if (m_readingPaused == paused) return;
    m_readingPaused = paused;
    if (!paused && m_socket && m_socket->bytesAvailable() > 0)
        QMetaObject::invokeMethod(this, &UpstreamConnection::onReadyRead, Qt::QueuedConnection);
}

void UpstreamConnection::onDisconnected()
{
    m_connected = false;
    m_reusable = false;
    if (!m_inFlight) {
        Q_EMIT closedWhileIdle();
        return;
    }
    // Bytes still buffered belong to the response; a close-delimited body ends here.
    if (m_socket && m_socket->bytesAvailable() > 0 && !m_readingPaused) onReadyRead();
    if (!m_inFlight) return;
    QPointer<UpstreamConnection> self(this);
    if (m_parser.finishEof() && m_parser.complete()) return;  // completion callback already ran
    if (!self || !m_inFlight) return;
    fail(UpstreamFailure::Reset,
         m_responseStarted ? QStringLiteral("%1 closed the connection mid-response").arg(m_origin.key())
                           : QStringLiteral("%1 closed the connection before answering").arg(m_origin.key()));
}

void UpstreamConnection::onTimeout()
{
    switch (m_timeoutKind) {
    case UpstreamFailure::ConnectTimeout:
        fail(m_timeoutKind, QStringLiteral("connecting to %1 timed out after %2 ms")
                                .arg(m_origin.key()).arg(m_timeouts.connectMs));
        break;
    case UpstreamFailure::FirstByteTimeout:
        fail(m_timeoutKind, QStringLiteral("%1 sent no response within %2 ms")
                                .arg(m_origin.key()).arg(m_timeouts.firstByteMs));
        break;
    default:
        fail(UpstreamFailure::IdleTimeout, QStringLiteral("%1 stalled: no data for %2 ms")
                                               .arg(m_origin.key()).arg(m_timeouts.idleMs));
        break;
    }
}

void UpstreamConnection::fail(UpstreamFailure::Kind kind, const QString &message)
{
    m_timer.stop();
    m_reusable = false;
    const bool wasInFlight = m_inFlight;
    m_inFlight = false;
    UpstreamFailure failure;
    failure.kind = kind;
    failure.message = message;
    failure.responseStarted = m_responseStarted;
    failure.reusedConnection = m_requestsSent > 1;
    close();
    UpstreamListener *l = std::exchange(m_listener, nullptr);
    if (wasInFlight && l) l->upstreamFailed(failure);
    else if (!wasInFlight) Q_EMIT closedWhileIdle();
}

void UpstreamConnection::armTimer(int ms)
{
    if (ms > 0) m_timer.start(ms);
}

void UpstreamConnection::detach()
{
    m_listener = nullptr;
    m_inFlight = false;
    m_reusable = false;
    m_timer.stop();
    close();
}

void UpstreamConnection::close()
{
    m_connected = false;
    m_timer.stop();
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
        m_socket.release()->deleteLater();
    }
}

}  // namespace airlock
