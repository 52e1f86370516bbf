// Assembles governance for the daemon from the config: the enforcer (the pipeline's PolicyEngine),
// the bundle cache and sync client, spend history from the ledger. Absent when no policy is
// configured.
#pragma once

#include "core/policy/policy_config.h"

#include <QString>
#include <memory>

namespace airlock {

struct ProxyContext;
class PolicyEngine;
class PolicyEnforcer;
class PolicyStore;
class PolicySync;
class Outbox;
class UsageUploader;

class Governance {
public:
    // nullptr with an empty *error when the config has neither "policy" nor "usage_upload".
    // engine() is nullptr without "policy" (everything allowed).
    static std::unique_ptr<Governance> create(const QString &explicitConfigPath, ProxyContext *ctx,
                                              QString *error);
    ~Governance();
    PolicyEngine *engine() const;
    PolicyEnforcer *enforcer() const { return m_enforcer.get(); }

private:
    Governance() = default;
    std::shared_ptr<PolicyEnforcer> m_enforcer;
    std::unique_ptr<PolicyStore> m_store;
    std::unique_ptr<PolicySync> m_sync;
    std::unique_ptr<Outbox> m_outbox;
    std::unique_ptr<UsageUploader> m_uploader;
};

}  // namespace airlock
