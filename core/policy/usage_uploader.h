// Uploads queued usage records from the durable outbox to the central usage endpoint: batched
// JSON POSTs, deleted only after a 2xx, retried with exponential backoff and jitter.
#pragma once

#include <QObject>
#include <QTimer>
#include <QUrl>

class QNetworkAccessManager;

namespace airlock {

class Outbox;

class UsageUploader : public QObject {
    Q_OBJECT
public:
    static constexpr int kFirstRetryMs = 1000;
    static constexpr int kMaxRetryMs = 300'000;
    static constexpr int kBatchDelayMs = 200;  // gathers a burst of requests into one POST
    static constexpr int kPostTimeoutMs = 30'000;

    UsageUploader(Outbox *outbox, QUrl url, int batch, QObject *parent = nullptr);
    // A record was enqueued (or the daemon started): upload soon unless backing off.
    void poke();
    void setBearerToken(const QByteArray &token) { m_token = token; }
    int currentBackoffMs() const { return m_backoffMs; }

Q_SIGNALS:
    void batchDelivered(int records);
    void batchFailed(const QString &reason);

private:
    void uploadNext();

    Outbox *m_outbox;
    QUrl m_url;
    int m_batch;
    QNetworkAccessManager *m_nam;
    QTimer m_timer;
    QByteArray m_token;
    bool m_inFlight = false;
    int m_backoffMs = 0;
};

}  // namespace airlock
