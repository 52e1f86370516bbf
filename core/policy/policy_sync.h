// Keeps the policy bundle current: loads the SQLite cache at start-up, then fetches the bundle
// URL with If-None-Match and a bearer device token on a jittered poll and on demand.
#pragma once

#include "core/policy/policy_config.h"

#include <QObject>
#include <QTimer>
#include <functional>

class QNetworkAccessManager;

namespace airlock {

class PolicyEnforcer;
class PolicyStore;

class PolicySync : public QObject {
    Q_OBJECT
public:
    static constexpr int kFetchTimeoutMs = 30'000;
    static constexpr qint64 kMaxBundleBytes = 4 * 1024 * 1024;

    using Done = std::function<void(bool ok, qint64 version, const QString &error)>;
    PolicySync(PolicyConfig config, PolicyEnforcer *enforcer, PolicyStore *store,
               QObject *parent = nullptr);
    ~PolicySync() override;

    // Enforces the cached bundle (no network) and starts polling.
    void start();
    void syncNow(Done done = {});
    // The bearer token for the policy URL: env var policy.token_env, else keychain "device-token".
    void setDeviceToken(const QByteArray &token) { m_token = token; }

private:
    void scheduleNext();
    void finish(bool ok, qint64 version, const QString &error);

    PolicyConfig m_config;
    PolicyEnforcer *m_enforcer;
    PolicyStore *m_store;
    QNetworkAccessManager *m_nam;
    QTimer m_timer;
    QByteArray m_etag;
    QByteArray m_token;
    bool m_inFlight = false;
    QList<Done> m_waiters;
};

}  // namespace airlock
