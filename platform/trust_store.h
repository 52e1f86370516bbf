// Installs and removes the Airlock local CA in the OS trust stores so apps accept intercepted
// connections: Linux system store + NSS dbs, macOS login keychain, Windows current-user Root store.
#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>

namespace airlock {

// Where the stores live; the defaults are the real ones, tests point them at a temp dir.
struct TrustStoreOptions {
    QString homeDir;  // empty: QDir::homePath()
    QString linuxSystemDir = QStringLiteral("/usr/local/share/ca-certificates");
    QStringList linuxUpdateCommand = {QStringLiteral("update-ca-certificates")};
    QString certificateName = QStringLiteral("Airlock Local CA");
    QString fileBaseName = QStringLiteral("airlock-local-ca");
};

struct TrustStoreReport {
    bool ok = true;       // nothing failed (skipped stores are not failures)
    QStringList done;     // "system store (/usr/local/share/ca-certificates/…)", "NSS db …"
    QStringList skipped;  // with the reason and what to run instead
    QStringList errors;
};

class TrustStore {
public:
    explicit TrustStore(TrustStoreOptions options = {});

    TrustStoreReport install(const QByteArray &caPem) const;
    TrustStoreReport uninstall(const QByteArray &caPem) const;
    // The stores that hold this exact certificate now.
    QStringList installedIn(const QByteArray &caPem) const;

private:
    TrustStoreOptions m_opt;
};

}  // namespace airlock
