#include "core/policy/governance.h"

#include "core/api/event_bus.h"
#include "core/policy/policy_enforcer.h"
#include "core/policy/policy_sync.h"
#include "core/policy/usage_uploader.h"
#include "core/proxy/proxy_context.h"
#include "core/store/ledger_reader.h"
#include "core/store/outbox.h"
#include "core/store/policy_store.h"
#include "platform/secret_store.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPointer>
#include <QThreadPool>

namespace airlock {

Governance::~Governance() = default;

PolicyEngine *Governance::engine() const {
    return m_enforcer ? m_enforcer.get() : nullptr;
}

std::unique_ptr<Governance> Governance::create(const QString &explicitConfigPath, ProxyContext *ctx,
                                               QString *error) {
    PolicyConfig config;
    if (!loadPolicyConfig(explicitConfigPath, &config, error)) return nullptr;
    if (!config.configured && config.usageUrl.isEmpty()) return nullptr;
    std::unique_ptr<Governance> g(new Governance);
    if (!config.usageUrl.isEmpty()) {
        g->m_outbox = std::make_unique<Outbox>(ctx->dataDir + QStringLiteral("/outbox.db"));
        if (!g->m_outbox->open(error)) return nullptr;
        g->m_uploader =
            std::make_unique<UsageUploader>(g->m_outbox.get(), config.usageUrl, config.usageBatch);
        if (!config.tokenEnv.isEmpty())
            g->m_uploader->setBearerToken(qgetenv(config.tokenEnv.toUtf8().constData()));
        Outbox *outbox = g->m_outbox.get();
        UsageUploader *uploader = g->m_uploader.get();
        if (ctx->events)
            QObject::connect(ctx->events, &EventBus::requestRecorded, uploader,
                             [outbox, uploader](const UsageRecord &r) {
                                 QJsonObject o = usageRecordToJson(r);
                                 outbox->enqueue(r.id,
                                                 QJsonDocument(o).toJson(QJsonDocument::Compact));
                                 uploader->poke();
                             });
        uploader->poke();  // records left from before a restart
    }
    if (!config.configured) return g;
    g->m_enforcer = std::make_shared<PolicyEnforcer>(config, ctx->prices, ctx->events);
    g->m_store = std::make_unique<PolicyStore>(ctx->dataDir + QStringLiteral("/policy.db"));
    g->m_sync = std::make_unique<PolicySync>(config, g->m_enforcer.get(), g->m_store.get());
    PolicySync *sync = g->m_sync.get();
    g->m_enforcer->setSyncer(
        [sync](PolicyEnforcer::SyncDone done) { sync->syncNow(std::move(done)); });

    if (deviceTokenFromKeychain(config)) {
        QPointer<PolicySync> s(sync);
        SecretStore().read(QStringLiteral("device-token"), [s](SecretStore::Result r) {
            if (s && r.ok && !r.secret.isEmpty()) s->setDeviceToken(r.secret);
        });
    }

    // Current-period spend survives restarts: sum the ledger since the earliest period start,
    // off the event loop. Rows written by this process are settled live, hence toMs = start.
    const QDate today = QDate::currentDate();
    const QDate from = qMin(BudgetBook::periodStart(QStringLiteral("month"), today),
                            BudgetBook::periodStart(QStringLiteral("week"), today));
    const qint64 fromMs = QDateTime(from, QTime(0, 0)).toMSecsSinceEpoch();
    const qint64 toMs = ctx->startedMs > 0 ? ctx->startedMs : QDateTime::currentMSecsSinceEpoch();
    const QString ledgerPath = ctx->ledgerPath();
    std::weak_ptr<PolicyEnforcer> weak = g->m_enforcer;
    QThreadPool::globalInstance()->start([weak, ledgerPath, fromMs, toMs] {
        LedgerReader reader(ledgerPath);
        QString e;
        if (!reader.open(&e)) {
            qWarning("airlockd: cannot read spend history for budgets: %s", qPrintable(e));
            return;
        }
        UsageQuery q;
        q.fromMs = fromMs;
        q.toMs = toMs;
        q.groupBy = {QStringLiteral("day"), QStringLiteral("app"), QStringLiteral("model")};
        q.billableOnly = true;  // cache hits spent nothing (settle() counts them as $0, 0 tokens)
        const QList<UsageRow> rows = reader.usage(q, &e);
        const auto enforcer = weak.lock();
        if (!enforcer) return;
        for (const UsageRow &r : rows)
            enforcer->budgets().addHistory(QDate::fromString(r.keys.value(0), Qt::ISODate),
                                           r.keys.value(1), r.keys.value(2), r.costUsd,
                                           r.inputTokens + r.outputTokens);
    });
    g->m_sync->start();
    return g;
}

}  // namespace airlock
