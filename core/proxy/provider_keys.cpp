#include "core/proxy/provider_keys.h"

#include "platform/secret_store.h"

#include <QPointer>

namespace airlock {

ProviderKeys::ProviderKeys(QObject *parent) : QObject(parent) {}

void ProviderKeys::reload(const QList<ProviderConfig> &providers) {
    const int generation = ++m_generation;
    QHash<QString, QByteArray> keys;
    QHash<QString, QString> sources;
    auto pending = std::make_shared<int>(0);
    QPointer<ProviderKeys> self(this);
    for (const ProviderConfig &p : providers) {
        if (p.auth != AuthMode::Inject) continue;
        if (!p.keyEnv.isEmpty()) {
            const QByteArray value = qgetenv(p.keyEnv.toUtf8().constData());
            if (!value.isEmpty()) {
                keys.insert(p.name, value);
                sources.insert(p.name, QStringLiteral("env:") + p.keyEnv);
                continue;
            }
        }
        ++*pending;
        const QString name = p.name;
        SecretStore().read(SecretStore::providerKey(name), [self, generation, name,
                                                            pending](SecretStore::Result r) {
            if (!self || generation != self->m_generation) return;
            if (r.ok && !r.secret.isEmpty()) {
                self->m_keys.insert(name, r.secret);
                self->m_sources.insert(name, QStringLiteral("keychain"));
            } else {
                self->m_keys.remove(name);
                self->m_sources.remove(name);
                if (!r.notFound)
                    qWarning("airlockd: cannot read the key of provider %s from the keychain: %s",
                             qPrintable(name), qPrintable(r.error));
            }
            if (--*pending == 0) Q_EMIT self->reloaded();
        });
    }
    m_keys = keys;
    m_sources = sources;
    if (*pending == 0) Q_EMIT reloaded();
}

}  // namespace airlock
