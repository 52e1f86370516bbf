#include "core/policy/usage_uploader.h"

#include "core/store/outbox.h"

#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QRandomGenerator>
#include <QSysInfo>

namespace airlock {

UsageUploader::UsageUploader(Outbox *outbox, QUrl url, int batch, QObject *parent)
    : QObject(parent),
      m_outbox(outbox),
      m_url(std::move(url)),
      m_batch(batch),
      m_nam(new QNetworkAccessManager(this)) {
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, &UsageUploader::uploadNext);
}

void UsageUploader::poke() {
    if (m_inFlight || m_backoffMs > 0 || m_timer.isActive()) return;
    m_timer.start(kBatchDelayMs);
}

void UsageUploader::uploadNext() {
    if (m_inFlight) return;
    const auto records = m_outbox->peek(m_batch);
    if (records.isEmpty()) {
        m_backoffMs = 0;
        return;
    }
    QByteArray body = "{\"device\":\"" + QSysInfo::machineHostName().toUtf8().toPercentEncoding() +
                      "\",\"records\":[";
    QList<QByteArray> ids;
    for (qsizetype i = 0; i < records.size(); ++i) {
        if (i) body += ',';
        body += records[i].second;
        ids.append(records[i].first);
    }
    body += "]}";
    QNetworkRequest req(m_url);
    req.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
    req.setTransferTimeout(kPostTimeoutMs);
    if (!m_token.isEmpty()) req.setRawHeader("Authorization", "Bearer " + m_token);
    m_inFlight = true;
    QNetworkReply *reply = m_nam->post(req, body);
    connect(reply, &QNetworkReply::finished, this, [this, reply, ids] {
        reply->deleteLater();
        m_inFlight = false;
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        if (reply->error() == QNetworkReply::NoError && status >= 200 && status < 300) {
            m_outbox->remove(ids);
            m_backoffMs = 0;
            Q_EMIT batchDelivered(int(ids.size()));
            m_timer.start(0);  // drain what is left
            return;
        }
        const QString reason =
            status ? QStringLiteral("HTTP %1").arg(status) : reply->errorString();
        m_backoffMs = m_backoffMs == 0 ? kFirstRetryMs : qMin(m_backoffMs * 2, kMaxRetryMs);
        // Jitter keeps a fleet that lost its collector from retrying in lockstep.
        const int delay =
            int(m_backoffMs * (0.75 + 0.5 * QRandomGenerator::global()->generateDouble()));
        Q_EMIT batchFailed(reason);
        m_timer.start(delay);
    });
}

}  // namespace airlock
