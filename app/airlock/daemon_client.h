// The GUI's only way to talk to airlockd: finds it through the data dir's runtime file and
// token, makes asynchronous local API requests and follows the live events stream (SSE).
#pragma once

#include <QByteArray>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QTimer>
#include <functional>

class QNetworkReply;

namespace airlock {

struct ApiReply {
    bool reachable = false;  // the daemon answered at all
    int status = 0;
    QJsonObject json;
    QString error;  // person-readable
    bool ok() const { return reachable && status >= 200 && status < 300; }
    bool notServed() const { return status == 404 || status == 405 || status == 501; }
};

// Where a daemon for a data dir listens, from <dataDir>/airlockd.json and <dataDir>/api-token
// (formats written by core/daemon/daemon_files.cpp).
struct DaemonAddress {
    QString host;
    quint16 port = 0;
    qint64 pid = -1;
    QByteArray token;
    QString baseUrl() const;
    bool valid() const { return !host.isEmpty() && port != 0; }
};
DaemonAddress readDaemonAddress(const QString &dataDir, QString *error);

class DaemonClient : public QObject {
    Q_OBJECT
public:
    static constexpr int kRequestTimeoutMs = 8000;
    static constexpr int kHealthTimeoutMs = 1500;
    // The daemon sends a comment every 15 s; silence for longer means the stream is dead.
    static constexpr int kEventsIdleTimeoutMs = 40'000;
    static constexpr int kReconnectMinMs = 250;
    static constexpr int kReconnectMaxMs = 8000;
    static constexpr qsizetype kMaxEventBytes = 1024 * 1024;

    explicit DaemonClient(QString dataDir, QObject *parent = nullptr);
    ~DaemonClient() override;

    QString dataDir() const { return m_dataDir; }
    DaemonAddress address() const { return m_address; }
    // Re-reads the runtime file (the daemon may have restarted on another port).
    bool refreshAddress();

    using Callback = std::function<void(const ApiReply &)>;
    // `context` guards the callback: it is not called once context is destroyed.
    void get(const QString &pathAndQuery, QObject *context, Callback done);
    void post(const QString &path, const QByteArray &body, QObject *context, Callback done);
    // GET /healthz (no token needed).
    void checkHealth(QObject *context, std::function<void(bool)> done);

    // Live events: connects now and reconnects with backoff until stopEvents().
    void startEvents();
    void stopEvents();
    bool eventsConnected() const { return m_eventsConnected; }

Q_SIGNALS:
    void requestEvent(const QJsonObject &record);
    void notice(const QString &type, const QJsonObject &data);
    void eventsConnectedChanged(bool connected);

private:
    void send(const QByteArray &verb, const QString &path, const QByteArray &body, int timeoutMs,
              QObject *context, Callback done);
    void connectEvents();
    void onEventsData();
    void onEventsFinished();
    void scheduleReconnect();
    void dispatchEvent(const QByteArray &type, const QByteArray &data);
    void setEventsConnected(bool connected);

    QString m_dataDir;
    DaemonAddress m_address;
    QNetworkAccessManager m_nam;
    QPointer<QNetworkReply> m_events;
    QByteArray m_eventsBuffer;
    QTimer m_reconnectTimer;
    int m_backoffMs = kReconnectMinMs;
    bool m_eventsWanted = false;
    bool m_eventsConnected = false;
};

}  // namespace airlock
