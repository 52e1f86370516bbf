// A blind CONNECT tunnel: copies bytes between the client socket and the origin socket, never
// looking at them, with backpressure both ways (a slow side stops reads from the other).
#pragma once

#include <QObject>
#include <QTcpSocket>
#include <QTimer>
#include <memory>

namespace airlock {

class ConnectTunnel : public QObject {
    Q_OBJECT
public:
    static constexpr qint64 kHighWaterBytes = 512 * 1024;
    static constexpr qint64 kReadBufferBytes = 256 * 1024;
    static constexpr int kIdleTimeoutMs = 15 * 60 * 1000;
    static constexpr int kCloseGraceMs = 5000;

    // Both sockets connected. `pendingToOrigin`: bytes the client sent right after CONNECT.
    ConnectTunnel(std::unique_ptr<QTcpSocket> client, std::unique_ptr<QTcpSocket> origin,
                  const QByteArray &pendingToOrigin, QObject *parent = nullptr);
    ~ConnectTunnel() override;

    qint64 bytesToOrigin() const { return m_up; }
    qint64 bytesToClient() const { return m_down; }

Q_SIGNALS:
    // Both sides are closed; the tunnel deletes itself after this.
    void finished();

private:
    void pump(QTcpSocket *from, QTcpSocket *to, qint64 *counter, bool ignoreHighWater);
    void sideClosed(QTcpSocket *closed, QTcpSocket *other, qint64 *counter);
    void finish();

    std::unique_ptr<QTcpSocket> m_client;
    std::unique_ptr<QTcpSocket> m_origin;
    QTimer m_idle;
    qint64 m_up = 0;
    qint64 m_down = 0;
    bool m_finished = false;
};

}  // namespace airlock
