// Provider keys and device tokens in the OS keychain (QtKeychain: Secret Service, macOS Keychain,
// Windows Credential Manager). Secrets never leave this class except to the caller that asked.
#pragma once

#include <QObject>
#include <QString>
#include <functional>

namespace airlock {

class SecretStore {
public:
    explicit SecretStore(QString service = QStringLiteral("airlock"));

    struct Result {
        bool ok = false;
        QByteArray secret;  // for reads
        QString error;      // person-readable; never contains the secret
        bool notFound = false;
    };

    // Asynchronous: the callback runs on the calling thread's event loop. A job that could not
    // finish is not started (the keychain libraries stay unloaded) and fails at once: no D-Bus
    // session bus, or on Linux outside KDE a thread that runs Qt's own (non-GLib) dispatcher.
    void read(const QString &key, std::function<void(Result)> done) const;
    void write(const QString &key, const QByteArray &secret,
               std::function<void(Result)> done) const;
    void remove(const QString &key, std::function<void(Result)> done) const;

    // Blocking forms for CLI verbs (spin a local event loop; do not call on the proxy's loop).
    Result readSync(const QString &key, int timeoutMs = 10000) const;
    Result writeSync(const QString &key, const QByteArray &secret, int timeoutMs = 10000) const;
    Result removeSync(const QString &key, int timeoutMs = 10000) const;

    // False when no keychain can answer here at all (Linux without a D-Bus session bus); every
    // call then fails at once, without loading the keychain libraries.
    static bool backendReachable();

    // Key names: "provider/<name>" for provider API keys, "device-token" for the policy token.
    static QString providerKey(const QString &providerName) {
        return QStringLiteral("provider/") + providerName;
    }

private:
    QString m_service;
};

}  // namespace airlock
