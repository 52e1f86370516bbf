#include "core/policy/policy_sync.h"

#include "core/policy/policy_enforcer.h"
#include "core/store/policy_store.h"

#include <QDateTime>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QRandomGenerator>

namespace airlock {

namespace {
constexpr double kPollJitterFraction = 0.2;  // spread a fleet's polls
constexpr int kFirstSyncDelayMs = 500;
}  // namespace

PolicySync::PolicySync(PolicyConfig config, PolicyEnforcer *enforcer, PolicyStore *store,
                       QObject *parent)
    : QObject(parent),
      m_config(std::move(config)),
      m_enforcer(enforcer),
      m_store(store),
      m_nam(new QNetworkAccessManager(this)) {
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, [this] { syncNow(); });
    if (!m_config.tokenEnv.isEmpty()) m_token = qgetenv(m_config.tokenEnv.toUtf8().constData());
}

PolicySync::~PolicySync() = default;

void PolicySync::start() {
    CachedPolicy cached;
    bool found = false;
    QString error;
    if (!m_store->load(&cached, &found, &error)) {
        qWarning("airlockd: policy cache unreadable: %s", qPrintable(error));
    } else if (found) {
        // The cache is verified like a download: a tampered file is not trusted.
        if (m_enforcer->acceptEnvelope(cached.envelope, cached.source, &error)) {
            m_etag = cached.etag;
            qInfo("airlockd: enforcing cached policy version %lld from %s",
                  qlonglong(cached.version), qPrintable(cached.source));
        } else {
            qWarning("airlockd: cached policy rejected: %s", qPrintable(error));
        }
    }
    if (m_config.url.isValid() && !m_config.url.isEmpty()) m_timer.start(kFirstSyncDelayMs);
}

void PolicySync::scheduleNext() {
    if (!m_config.url.isValid() || m_config.url.isEmpty()) return;
    const double jitter =
        1.0 + kPollJitterFraction * (2 * QRandomGenerator::global()->generateDouble() - 1);
    m_timer.start(int(qMin<double>(m_config.pollSeconds * 1000.0 * jitter, 2e9)));
}

void PolicySync::finish(bool ok, qint64 version, const QString &error) {
    m_inFlight = false;
    m_enforcer->noteSync(ok, error);
    if (!ok) qWarning("airlockd: policy sync failed: %s", qPrintable(error));
    const QList<Done> waiters = std::exchange(m_waiters, {});
    for (const Done &d : waiters)
        if (d) d(ok, version, error);
    scheduleNext();
}

void PolicySync::syncNow(Done done) {
    m_waiters.append(std::move(done));
    if (m_inFlight) return;
    if (!m_config.url.isValid() || m_config.url.isEmpty()) {
        finish(false, m_enforcer->version(), QStringLiteral("no policy.url is configured"));
        return;
    }
    m_inFlight = true;
    m_timer.stop();
    QNetworkRequest req(m_config.url);
    req.setTransferTimeout(kFetchTimeoutMs);
    req.setAttribute(QNetworkRequest::RedirectPolicyAttribute,
                     QNetworkRequest::NoLessSafeRedirectPolicy);
    req.setRawHeader("Accept", "application/json");
    req.setRawHeader("User-Agent", "airlockd/" AIRLOCK_VERSION);
    if (!m_etag.isEmpty() && m_enforcer->hasBundle()) req.setRawHeader("If-None-Match", m_etag);
    if (!m_token.isEmpty()) req.setRawHeader("Authorization", "Bearer " + m_token);
    QNetworkReply *reply = m_nam->get(req);
    connect(reply, &QNetworkReply::downloadProgress, reply, [reply](qint64 received, qint64) {
        if (received > kMaxBundleBytes) reply->abort();
    });
    connect(reply, &QNetworkReply::finished, this, [this, reply] {
        reply->deleteLater();
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        if (status == 304) {
            finish(true, m_enforcer->version(), {});
            return;
        }
        if (reply->error() != QNetworkReply::NoError || status != 200) {
            finish(false, m_enforcer->version(),
                   status
                       ? QStringLiteral("the policy server answered HTTP %1").arg(status)
                       : QStringLiteral("cannot fetch the policy: %1").arg(reply->errorString()));
            return;
        }
        const QByteArray body = reply->readAll();
        const QString source = m_config.url.toString(QUrl::RemoveUserInfo);
        QString error;
        qint64 version = 0;
        if (!m_enforcer->acceptEnvelope(body, source, &error, &version)) {
            finish(false, m_enforcer->version(), QStringLiteral("bundle rejected: %1").arg(error));
            return;
        }
        m_etag = reply->rawHeader("ETag");
        CachedPolicy c{body, m_enforcer->version(), source, QDateTime::currentMSecsSinceEpoch(),
                       m_etag};
        if (!m_store->save(c, &error)) qWarning("airlockd: %s", qPrintable(error));
        finish(true, m_enforcer->version(), {});
    });
}

}  // namespace airlock
