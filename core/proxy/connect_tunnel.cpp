#include "core/proxy/connect_tunnel.h"

namespace airlock {

ConnectTunnel::ConnectTunnel(std::unique_ptr<QTcpSocket> client, std::unique_ptr<QTcpSocket> origin,
                             const QByteArray &pendingToOrigin, QObject *parent)
    : QObject(parent), m_client(std::move(client)), m_origin(std::move(origin)) {
    QTcpSocket *c = m_client.get();
    QTcpSocket *o = m_origin.get();
    // A bounded read buffer is what makes backpressure work: once it is full and we stop
    // reading, Qt stops reading the kernel socket and TCP flow control slows the sender.
    c->setReadBufferSize(kReadBufferBytes);
    o->setReadBufferSize(kReadBufferBytes);
    c->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    o->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_idle.setSingleShot(true);
    connect(&m_idle, &QTimer::timeout, this, [this] {
        if (m_client) m_client->abort();
        if (m_origin) m_origin->abort();
        finish();
    });
    m_idle.start(kIdleTimeoutMs);

    connect(c, &QTcpSocket::readyRead, this, [this, c, o] { pump(c, o, &m_up, false); });
    connect(o, &QTcpSocket::readyRead, this, [this, c, o] { pump(o, c, &m_down, false); });
    connect(o, &QTcpSocket::bytesWritten, this, [this, c, o] { pump(c, o, &m_up, false); });
    connect(c, &QTcpSocket::bytesWritten, this, [this, c, o] { pump(o, c, &m_down, false); });
    connect(c, &QTcpSocket::disconnected, this, [this, c, o] { sideClosed(c, o, &m_down); });
    connect(o, &QTcpSocket::disconnected, this, [this, c, o] { sideClosed(o, c, &m_up); });
    connect(c, &QTcpSocket::errorOccurred, this, [this, c, o] {
        if (c->state() == QAbstractSocket::UnconnectedState) sideClosed(c, o, &m_down);
    });
    connect(o, &QTcpSocket::errorOccurred, this, [this, c, o] {
        if (o->state() == QAbstractSocket::UnconnectedState) sideClosed(o, c, &m_up);
    });

    if (!pendingToOrigin.isEmpty()) {
        o->write(pendingToOrigin);
        m_up += pendingToOrigin.size();
    }
    // Bytes that arrived before the tunnel existed would otherwise wait for the next readyRead.
    QMetaObject::invokeMethod(
        this,
        [this, c, o] {
            pump(c, o, &m_up, false);
            pump(o, c, &m_down, false);
        },
        Qt::QueuedConnection);
}

ConnectTunnel::~ConnectTunnel() {
    if (m_client) {
        m_client->disconnect(this);
        m_client->abort();
    }
    if (m_origin) {
        m_origin->disconnect(this);
        m_origin->abort();
    }
}

void ConnectTunnel::pump(QTcpSocket *from, QTcpSocket *to, qint64 *counter, bool ignoreHighWater) {
    if (m_finished) return;
    bool moved = false;
    while (from->bytesAvailable() > 0 &&
           (ignoreHighWater || to->bytesToWrite() < kHighWaterBytes)) {
        const QByteArray chunk = from->read(kReadBufferBytes);
        if (chunk.isEmpty()) break;
        if (to->state() == QAbstractSocket::ConnectedState) {
            to->write(chunk);
            *counter += chunk.size();
        }
        moved = true;
    }
    if (moved) {
        m_idle.start(kIdleTimeoutMs);
        if (to->state() == QAbstractSocket::ConnectedState) to->flush();
    }
}

void ConnectTunnel::sideClosed(QTcpSocket *closed, QTcpSocket *other, qint64 *counter) {
    if (m_finished) return;
    // Whatever the closed side sent last still goes to the other, then the other is closed
    // after its write buffer drains (disconnectFromHost waits for that).
    pump(closed, other, counter, true);
    if (other->state() == QAbstractSocket::ConnectedState) {
        other->disconnectFromHost();
        QTimer::singleShot(kCloseGraceMs, this, [this] {
            if (m_client) m_client->abort();
            if (m_origin) m_origin->abort();
            finish();
        });
    }
    if (other->state() == QAbstractSocket::UnconnectedState &&
        closed->state() == QAbstractSocket::UnconnectedState)
        finish();
}

void ConnectTunnel::finish() {
    if (m_finished) return;
    m_finished = true;
    m_idle.stop();
    Q_EMIT finished();
    deleteLater();
}

}  // namespace airlock
