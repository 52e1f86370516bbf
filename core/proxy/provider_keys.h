// Provider API keys for providers in "inject" auth mode, held in memory only. Loaded from the
// OS keychain (entry "provider/<name>") or, for headless use, from the configured environment
// variable.
#pragma once

#include "core/config/config.h"

#include <QHash>
#include <QObject>

namespace airlock {

class ProviderKeys : public QObject {
    Q_OBJECT
public:
    explicit ProviderKeys(QObject *parent = nullptr);

    // Starts (re)loading keys for every inject-mode provider; asynchronous for the keychain.
    void reload(const QList<ProviderConfig> &providers);
    // Empty when not (yet) available.
    QByteArray keyFor(const QString &provider) const { return m_keys.value(provider); }
    bool hasKey(const QString &provider) const { return !m_keys.value(provider).isEmpty(); }
    QString sourceOf(const QString &provider) const { return m_sources.value(provider); }

Q_SIGNALS:
    void reloaded();

private:
    QHash<QString, QByteArray> m_keys;
    QHash<QString, QString> m_sources;  // "env:NAME" or "keychain"; never the key itself
    int m_generation = 0;
};

}  // namespace airlock
