// Airlock's local certificate authority: an ECDSA P-256 CA whose name constraints permit only the
// intercepted AI hosts, and the short-lived per-host leaf certificates it mints (cached in memory).
#pragma once

#include <QDateTime>
#include <QHash>
#include <QList>
#include <QSslCertificate>
#include <QSslKey>
#include <QString>
#include <QStringList>
#include <memory>
#include <optional>

namespace airlock {

// A minted server certificate for one host.
struct LeafCertificate {
    QSslCertificate certificate;
    QSslKey key;
    QByteArray certificatePem;
    QByteArray keyPem;
    qint64 notAfterMs = 0;
};

// Where a new CA's private key goes. Auto: the OS keychain when one answers, else a 0600 file.
// AIRLOCK_CA_KEY_STORAGE=file|keychain|auto overrides the default (Auto).
enum class CaKeyStorage { Auto, File, Keychain };

class LocalCa {
public:
    static constexpr int kKeychainTimeoutMs = 3000;

    static constexpr int kCaValidityDays = 180;
    static constexpr int kLeafValidityHours = 7 * 24;
    // A cached leaf is re-minted when less than this is left of it.
    static constexpr qint64 kLeafRenewBeforeMs = 24LL * 3600 * 1000;
    static constexpr int kMaxCachedLeaves = 256;

    ~LocalCa();
    LocalCa(const LocalCa &) = delete;
    LocalCa &operator=(const LocalCa &) = delete;

    // Files in DIR/ca: airlock-ca.pem (certificate) and airlock-ca.key (private key, 0600).
    static QString caDir(const QString &dataDir);
    static QString certPath(const QString &dataDir);
    static QString keyPath(const QString &dataDir);
    // Present instead of keyPath when the key is in the keychain: holds the entry name.
    static QString keychainMarkerPath(const QString &dataDir);
    static CaKeyStorage defaultKeyStorage();

    // Loads the CA of dataDir, or generates one permitting `hosts` when there is none (or it has
    // expired). *created tells which. nullptr with *error on failure.
    static std::unique_ptr<LocalCa> loadOrCreate(const QString &dataDir, const QStringList &hosts,
                                                 QString *error, bool *created = nullptr,
                                                 CaKeyStorage storage = defaultKeyStorage());
    // Loads an existing CA only.
    static std::unique_ptr<LocalCa> load(const QString &dataDir, QString *error);
    // Replaces the CA of dataDir with a new one (old files kept as *.old). Returns the new CA.
    static std::unique_ptr<LocalCa> rotate(const QString &dataDir, const QStringList &hosts,
                                           QString *error,
                                           CaKeyStorage storage = defaultKeyStorage());
    // Deletes the CA of dataDir (files and keychain entry).
    static void remove(const QString &dataDir);
    // A CA in memory only (tests).
    static std::unique_ptr<LocalCa> generate(const QStringList &hosts, int validityDays,
                                             QString *error);

    // The leaf for host, minted or from the cache. Fails for hosts outside the constraints.
    std::optional<LeafCertificate> leafFor(const QString &host, QString *error);
    // Mints without caching, for an arbitrary host and lifetime (tests use it to prove the
    // name constraints hold: a leaf for a host outside them must not verify).
    std::optional<LeafCertificate> mintLeaf(const QString &host, qint64 validitySeconds,
                                            QString *error) const;

    bool permits(const QString &host) const;
    QStringList permittedHosts() const { return m_permitted; }
    QByteArray certificatePem() const { return m_certPem; }
    QSslCertificate certificate() const { return m_cert; }
    QDateTime notAfter() const { return m_cert.expiryDate(); }
    QString sha256Fingerprint() const;  // "AB:CD:…"
    // Where the private key lives, for status output ("file (0600): /path").
    QString keyStorage() const { return m_keyStorage; }
    // The files changed on disk since this CA was loaded (airlockctl ca rotate ran).
    bool changedOnDisk() const;

private:
    struct Native;
    LocalCa();
    static std::unique_ptr<LocalCa> fromPem(const QByteArray &certPem, const QByteArray &keyPem,
                                            QString *error);

    std::unique_ptr<Native> n;
    QByteArray m_certPem;
    QSslCertificate m_cert;
    QStringList m_permitted;
    QString m_keyStorage = QStringLiteral("memory");
    QString m_loadedFrom;
    QDateTime m_loadedMtime;
    QHash<QString, LeafCertificate> m_cache;
};

}  // namespace airlock
