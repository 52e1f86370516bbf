// Governance for the proxy pipeline: holds the signed bundle in force and applies its profile to
// each request (models, guardrails, rate limits, budgets), in enforce or monitor mode.
#pragma once

#include "core/guard/content_scanner.h"
#include "core/limits/budget_book.h"
#include "core/limits/rate_limiter.h"
#include "core/policy/policy_bundle.h"
#include "core/policy/policy_config.h"
#include "core/policy/policy_engine.h"
#include "core/providers/price_table.h"

#include <QDateTime>
#include <QHash>
#include <QJsonObject>
#include <memory>

namespace airlock {

class EventBus;

class PolicyEnforcer : public PolicyEngine {
public:
    static constexpr qint64 kDefaultOutputEstimateTokens = 1024;
    static constexpr int kBytesPerTokenEstimate = 4;

    PolicyEnforcer(PolicyConfig config, PriceTable prices, EventBus *events = nullptr,
                   BudgetBook::Clock budgetClock = {}, RateLimiter::Clock rateClock = {});

    // Verifies, parses and checks a signed bundle against the one in force (rollback, expiry);
    // on success it is in force. *error says why it was rejected (and is logged by the caller).
    bool acceptEnvelope(const QByteArray &envelope, const QString &source, QString *error,
                        qint64 *version = nullptr);
    bool hasBundle() const { return m_bundle != nullptr; }
    qint64 version() const { return m_bundle ? m_bundle->version : 0; }
    const QByteArray &envelope() const { return m_envelope; }
    // Whether a profile or an app override of the bundle held has a "cache" key.
    bool bundleUsesCache() const;
    void setNow(std::function<QDateTime()> now) { m_now = std::move(now); }  // tests: expiry
    void noteSync(bool ok, const QString &error);

    // "none" | "active" | "expired" | "stale" | "rejected"
    QString state() const;
    QJsonObject statusJson() const;
    QJsonObject budgetsJson() const;
    // The device's own profile (no app override) of the bundle held, expired or not; nullptr
    // without a bundle. Device-wide settings such as allow_pause_minutes come from here.
    const Profile *deviceProfile() const { return profileFor(QString()); }

    BudgetBook &budgets() { return m_budgets; }
    using SyncDone = std::function<void(bool ok, qint64 version, const QString &error)>;
    void setSyncer(std::function<void(SyncDone)> syncer) { m_syncer = std::move(syncer); }
    void syncNow(SyncDone done) {
        if (m_syncer)
            m_syncer(std::move(done));
        else
            done(false, version(), QStringLiteral("no policy.url is configured"));
    }
    void setSettleHook(std::function<void(const UsageRecord &)> hook) {
        m_settleHook = std::move(hook);
    }

    void evaluate(PolicyInput &input, std::function<void(PolicyVerdict)> done) override;
    void settle(const QByteArray &requestId, const UsageRecord &record) override;

private:
    const Profile *profileFor(const QString &app) const;
    bool expired() const;
    PolicyVerdict decide(PolicyInput &input);

    PolicyConfig m_config;
    PriceTable m_prices;
    EventBus *m_events;
    std::shared_ptr<const PolicyBundle> m_bundle;
    QByteArray m_envelope;
    QHash<const Profile *, std::shared_ptr<ContentScanner>> m_scanners;
    QString m_source;
    QDateTime m_fetchedAt, m_lastSyncAt;
    QString m_lastSyncError;
    bool m_lastRejected = false;
    std::function<QDateTime()> m_now;
    BudgetBook m_budgets;
    RateLimiter m_rates;
    std::function<void(const UsageRecord &)> m_settleHook;
    std::function<void(SyncDone)> m_syncer;
};

}  // namespace airlock
