#include "core/tls/local_ca.h"

#include "platform/secret_store.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHostAddress>
#include <QSaveFile>
#include <QSysInfo>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace airlock {

namespace {

struct PkeyFree {
    void operator()(EVP_PKEY *p) const { EVP_PKEY_free(p); }
};
struct X509Free {
    void operator()(X509 *p) const { X509_free(p); }
};
struct BioFree {
    void operator()(BIO *p) const { BIO_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Bio = std::unique_ptr<BIO, BioFree>;

QString sslError(const char *what) {
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    char buf[256] = {};
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    return QStringLiteral("%1 failed%2")
        .arg(QLatin1String(what), e ? QStringLiteral(": ") + QLatin1String(buf) : QString());
}

Pkey newP256Key() {
    return Pkey(EVP_EC_gen("P-256"));
}

QByteArray bioBytes(BIO *bio) {
    char *data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    return len > 0 ? QByteArray(data, len) : QByteArray();
}

QByteArray certToPem(X509 *cert) {
    Bio bio(BIO_new(BIO_s_mem()));
    if (!bio || !PEM_write_bio_X509(bio.get(), cert)) return {};
    return bioBytes(bio.get());
}

QByteArray keyToPem(EVP_PKEY *key) {
    // The traditional "EC PRIVATE KEY" form: every consumer (Qt's QSslKey included) reads it.
    Bio bio(BIO_new(BIO_s_mem()));
    if (!bio || !PEM_write_bio_PrivateKey_traditional(bio.get(), key, nullptr, nullptr, 0, nullptr,
                                                      nullptr))
        return {};
    return bioBytes(bio.get());
}

bool setRandomSerial(X509 *cert) {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
    bytes[0] &= 0x7f;  // positive
    bytes[0] |= 0x01;  // and not shorter than 16 bytes
    std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(BN_bin2bn(bytes, sizeof bytes, nullptr),
                                                   BN_free);
    return bn && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr;
}

bool addExt(X509 *cert, X509 *issuer, int nid, const QByteArray &value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.constData());
    if (!ext) return false;
    const int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1;
}

bool isDnsName(const QString &host) {
    if (host.isEmpty() || host.size() > 253) return false;
    QHostAddress ip;
    if (ip.setAddress(host)) return false;
    for (const QChar c : host) {
        const char l = c.toLatin1();
        if (!((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '-' || l == '.'))
            return false;
    }
    return !host.startsWith(QLatin1Char('.')) && !host.contains(QLatin1String(".."));
}

QStringList permittedDnsOf(X509 *cert) {
    QStringList out;
    auto *nc = static_cast<NAME_CONSTRAINTS *>(
        X509_get_ext_d2i(cert, NID_name_constraints, nullptr, nullptr));
    if (!nc) return out;
    for (int i = 0; i < sk_GENERAL_SUBTREE_num(nc->permittedSubtrees); ++i) {
        const GENERAL_SUBTREE *st = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, i);
        if (st->base->type != GEN_DNS) continue;
        const ASN1_IA5STRING *s = st->base->d.dNSName;
        out.append(QString::fromLatin1(reinterpret_cast<const char *>(ASN1_STRING_get0_data(s)),
                                       ASN1_STRING_length(s)));
    }
    NAME_CONSTRAINTS_free(nc);
    return out;
}

bool writePrivateFile(const QString &path, const QByteArray &data, QString *error) {
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly)) {
        *error = QStringLiteral("cannot write %1: %2").arg(path, f.errorString());
        return false;
    }
    // Restrict before the secret is written, so it is never readable by others.
    f.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    f.write(data);
    if (!f.commit()) {
        *error = QStringLiteral("cannot write %1: %2").arg(path, f.errorString());
        return false;
    }
    return true;
}

bool writePublicFile(const QString &path, const QByteArray &data, QString *error) {
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly)) {
        *error = QStringLiteral("cannot write %1: %2").arg(path, f.errorString());
        return false;
    }
    f.write(data);
    if (!f.commit()) {
        *error = QStringLiteral("cannot write %1: %2").arg(path, f.errorString());
        return false;
    }
    return true;
}

QByteArray readFile(const QString &path, QString *error) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read %1: %2").arg(path, f.errorString());
        return {};
    }
    return f.read(1024 * 1024);
}

}  // namespace

struct LocalCa::Native {
    Pkey key;
    Cert cert;
};

LocalCa::LocalCa() : n(std::make_unique<Native>()) {}
LocalCa::~LocalCa() = default;

QString LocalCa::caDir(const QString &dataDir) {
    return dataDir + QStringLiteral("/ca");
}
QString LocalCa::certPath(const QString &dataDir) {
    return caDir(dataDir) + QStringLiteral("/airlock-ca.pem");
}
QString LocalCa::keyPath(const QString &dataDir) {
    return caDir(dataDir) + QStringLiteral("/airlock-ca.key");
}
QString LocalCa::keychainMarkerPath(const QString &dataDir) {
    return caDir(dataDir) + QStringLiteral("/airlock-ca.key.keychain");
}

CaKeyStorage LocalCa::defaultKeyStorage() {
    const QByteArray v = qgetenv("AIRLOCK_CA_KEY_STORAGE").toLower();
    if (v == "file") return CaKeyStorage::File;
    if (v == "keychain") return CaKeyStorage::Keychain;
    return CaKeyStorage::Auto;
}

std::unique_ptr<LocalCa> LocalCa::generate(const QStringList &hosts, int validityDays,
                                           QString *error) {
    QStringList permitted;
    for (const QString &h : hosts) {
        const QString host = h.trimmed().toLower();
        if (!isDnsName(host)) {
            *error = QStringLiteral("'%1' is not a DNS host name; the CA permits host names only")
                         .arg(h);
            return nullptr;
        }
        if (!permitted.contains(host)) permitted.append(host);
    }
    if (permitted.isEmpty()) {
        *error = QStringLiteral("no hosts to permit");
        return nullptr;
    }
    std::unique_ptr<LocalCa> ca(new LocalCa);
    ca->n->key = newP256Key();
    ca->n->cert.reset(X509_new());
    X509 *c = ca->n->cert.get();
    if (!ca->n->key || !c) {
        *error = sslError("generating the CA key");
        return nullptr;
    }
    X509_set_version(c, 2);
    setRandomSerial(c);
    // Backdated an hour so a clock a little behind still accepts it.
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), long(validityDays) * 24 * 3600);
    X509_NAME *name = X509_get_subject_name(c);
    const QByteArray cn =
        QStringLiteral("Airlock Local CA (%1)").arg(QSysInfo::machineHostName().left(40)).toUtf8();
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char *>("Airlock"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char *>(cn.constData()), -1, -1, 0);
    X509_set_issuer_name(c, name);
    X509_set_pubkey(c, ca->n->key.get());
    QByteArray constraints = "critical";
    for (const QString &h : permitted) constraints += ",permitted;DNS:" + h.toLatin1();
    // No IP address may be certified at all (a permitted list covers only the DNS name form).
    constraints += ",excluded;IP:0.0.0.0/0.0.0.0,excluded;IP:::/::";
    if (!addExt(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
        !addExt(c, c, NID_key_usage, "critical,keyCertSign,cRLSign") ||
        !addExt(c, c, NID_subject_key_identifier, "hash") ||
        !addExt(c, c, NID_name_constraints, constraints)) {
        *error = sslError("building the CA extensions");
        return nullptr;
    }
    if (X509_sign(c, ca->n->key.get(), EVP_sha256()) <= 0) {
        *error = sslError("signing the CA certificate");
        return nullptr;
    }
    ca->m_certPem = certToPem(c);
    ca->m_cert = QSslCertificate(ca->m_certPem, QSsl::Pem);
    ca->m_permitted = permitted;
    return ca;
}

std::unique_ptr<LocalCa> LocalCa::fromPem(const QByteArray &certPem, const QByteArray &keyPem,
                                          QString *error) {
    std::unique_ptr<LocalCa> ca(new LocalCa);
    Bio cb(BIO_new_mem_buf(certPem.constData(), int(certPem.size())));
    ca->n->cert.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    Bio kb(BIO_new_mem_buf(keyPem.constData(), int(keyPem.size())));
    ca->n->key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    if (!ca->n->cert || !ca->n->key) {
        *error = sslError("reading the CA certificate or key");
        return nullptr;
    }
    if (X509_check_private_key(ca->n->cert.get(), ca->n->key.get()) != 1) {
        *error = QStringLiteral("the CA key does not belong to the CA certificate");
        ERR_clear_error();
        return nullptr;
    }
    ca->m_certPem = certToPem(ca->n->cert.get());
    ca->m_cert = QSslCertificate(ca->m_certPem, QSsl::Pem);
    ca->m_permitted = permittedDnsOf(ca->n->cert.get());
    return ca;
}

std::unique_ptr<LocalCa> LocalCa::load(const QString &dataDir, QString *error) {
    const bool inFile = QFileInfo::exists(keyPath(dataDir));
    if (!QFileInfo::exists(certPath(dataDir)) ||
        (!inFile && !QFileInfo::exists(keychainMarkerPath(dataDir)))) {
        *error = QStringLiteral("no local CA in %1 yet").arg(caDir(dataDir));
        return nullptr;
    }
    const QByteArray certPem = readFile(certPath(dataDir), error);
    if (certPem.isEmpty()) return nullptr;
    QByteArray keyPem;
    QString storage;
    if (inFile) {
        keyPem = readFile(keyPath(dataDir), error);
        storage = QStringLiteral("file (0600): %1").arg(keyPath(dataDir));
    } else {
        const QString entry =
            QString::fromUtf8(readFile(keychainMarkerPath(dataDir), error).trimmed());
        const SecretStore::Result r = SecretStore().readSync(entry, kKeychainTimeoutMs);
        if (!r.ok) {
            *error = QStringLiteral(
                         "the CA key is in the OS keychain (entry '%1') but cannot be read: %2")
                         .arg(entry, r.error);
            return nullptr;
        }
        keyPem = r.secret;
        storage = QStringLiteral("OS keychain (service 'airlock', entry '%1')").arg(entry);
    }
    if (keyPem.isEmpty()) return nullptr;
    std::unique_ptr<LocalCa> ca = fromPem(certPem, keyPem, error);
    if (!ca) {
        *error = QStringLiteral("%1: %2").arg(caDir(dataDir), *error);
        return nullptr;
    }
    ca->m_keyStorage = storage;
    ca->m_loadedFrom = dataDir;
    ca->m_loadedMtime = QFileInfo(certPath(dataDir)).lastModified();
    return ca;
}

namespace {
void forgetKeychainEntry(const QString &dataDir) {
    if (!QFileInfo::exists(LocalCa::keychainMarkerPath(dataDir))) return;
    QString ignored;
    const QByteArray entry = readFile(LocalCa::keychainMarkerPath(dataDir), &ignored).trimmed();
    if (!entry.isEmpty())
        SecretStore().removeSync(QString::fromUtf8(entry), LocalCa::kKeychainTimeoutMs);
    QFile::remove(LocalCa::keychainMarkerPath(dataDir));
}

bool storeCa(const QString &dataDir, const QByteArray &certPem, const QByteArray &keyPem,
             CaKeyStorage storage, QString *error) {
    if (!QDir().mkpath(LocalCa::caDir(dataDir))) {
        *error = QStringLiteral("cannot create %1").arg(LocalCa::caDir(dataDir));
        return false;
    }
    QFile::setPermissions(LocalCa::caDir(dataDir),
                          QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    if (storage != CaKeyStorage::File) {
        // One entry per CA: several data dirs (tests, users) never share one.
        const QString entry =
            QStringLiteral("local-ca-key/") +
            QString::fromLatin1(
                QCryptographicHash::hash(certPem, QCryptographicHash::Sha256).toHex().left(16));
        const SecretStore::Result r =
            SecretStore().writeSync(entry, keyPem, LocalCa::kKeychainTimeoutMs);
        if (r.ok) {
            QFile::remove(LocalCa::keyPath(dataDir));
            return writePublicFile(LocalCa::keychainMarkerPath(dataDir), entry.toUtf8() + '\n',
                                   error) &&
                   writePublicFile(LocalCa::certPath(dataDir), certPem, error);
        }
        if (storage == CaKeyStorage::Keychain) {
            *error = QStringLiteral("cannot store the CA key in the OS keychain: %1").arg(r.error);
            return false;
        }
        qInfo("airlock: no usable OS keychain (%s); the CA key goes to a 0600 file",
              qPrintable(r.error));
    }
    QFile::remove(LocalCa::keychainMarkerPath(dataDir));
    // Key first: a certificate without its key on disk would be unusable.
    return writePrivateFile(LocalCa::keyPath(dataDir), keyPem, error) &&
           writePublicFile(LocalCa::certPath(dataDir), certPem, error);
}
}  // namespace

std::unique_ptr<LocalCa> LocalCa::loadOrCreate(const QString &dataDir, const QStringList &hosts,
                                               QString *error, bool *created,
                                               CaKeyStorage storage) {
    if (created) *created = false;
    if (QFileInfo::exists(certPath(dataDir))) {
        std::unique_ptr<LocalCa> ca = load(dataDir, error);
        if (!ca) return nullptr;
        if (ca->notAfter() > QDateTime::currentDateTimeUtc().addDays(1)) return ca;
    }
    std::unique_ptr<LocalCa> fresh = generate(hosts, kCaValidityDays, error);
    if (!fresh) return nullptr;
    if (!storeCa(dataDir, fresh->m_certPem, keyToPem(fresh->n->key.get()), storage, error))
        return nullptr;
    if (created) *created = true;
    return load(dataDir, error);
}

std::unique_ptr<LocalCa> LocalCa::rotate(const QString &dataDir, const QStringList &hosts,
                                         QString *error, CaKeyStorage storage) {
    std::unique_ptr<LocalCa> fresh = generate(hosts, kCaValidityDays, error);
    if (!fresh) return nullptr;
    forgetKeychainEntry(dataDir);  // the old key is of no further use
    for (const QString &p : {certPath(dataDir), keyPath(dataDir)}) {
        if (!QFileInfo::exists(p)) continue;
        QFile::remove(p + QStringLiteral(".old"));
        QFile::rename(p, p + QStringLiteral(".old"));
    }
    if (!storeCa(dataDir, fresh->m_certPem, keyToPem(fresh->n->key.get()), storage, error))
        return nullptr;
    return load(dataDir, error);
}

void LocalCa::remove(const QString &dataDir) {
    forgetKeychainEntry(dataDir);
    for (const QString &p : {certPath(dataDir), keyPath(dataDir), keychainMarkerPath(dataDir)})
        QFile::remove(p);
}

bool LocalCa::changedOnDisk() const {
    if (m_loadedFrom.isEmpty()) return false;
    const QFileInfo fi(certPath(m_loadedFrom));
    return fi.exists() && fi.lastModified() != m_loadedMtime;
}

bool LocalCa::permits(const QString &host) const {
    const QString h = host.toLower();
    if (!isDnsName(h)) return false;
    for (const QString &p : m_permitted)
        if (h == p || h.endsWith(QLatin1Char('.') + p)) return true;
    return false;
}

QString LocalCa::sha256Fingerprint() const {
    return QString::fromLatin1(m_cert.digest(QCryptographicHash::Sha256).toHex(':').toUpper());
}

std::optional<LeafCertificate> LocalCa::mintLeaf(const QString &hostIn, qint64 validitySeconds,
                                                 QString *error) const {
    const QString host = hostIn.toLower();
    if (!isDnsName(host)) {
        *error = QStringLiteral("'%1' is not a DNS host name").arg(hostIn.left(100));
        return std::nullopt;
    }
    Pkey key = newP256Key();
    Cert leaf(X509_new());
    X509 *c = leaf.get();
    if (!key || !c) {
        *error = sslError("generating a leaf key");
        return std::nullopt;
    }
    X509_set_version(c, 2);
    setRandomSerial(c);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), long(validitySeconds - 3600));
    X509_NAME *name = X509_get_subject_name(c);
    const QByteArray h = host.toLatin1();
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char *>(h.constData()), -1, -1, 0);
    X509_set_issuer_name(c, X509_get_subject_name(n->cert.get()));
    X509_set_pubkey(c, key.get());
    if (!addExt(c, n->cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
        !addExt(c, n->cert.get(), NID_key_usage, "critical,digitalSignature") ||
        !addExt(c, n->cert.get(), NID_ext_key_usage, "serverAuth") ||
        !addExt(c, n->cert.get(), NID_subject_alt_name, "DNS:" + h) ||
        !addExt(c, n->cert.get(), NID_authority_key_identifier, "keyid:always")) {
        *error = sslError("building the leaf extensions");
        return std::nullopt;
    }
    if (X509_sign(c, n->key.get(), EVP_sha256()) <= 0) {
        *error = sslError("signing the leaf certificate");
        return std::nullopt;
    }
    LeafCertificate out;
    out.certificatePem = certToPem(c);
    out.keyPem = keyToPem(key.get());
    out.certificate = QSslCertificate(out.certificatePem, QSsl::Pem);
    out.key = QSslKey(out.keyPem, QSsl::Ec, QSsl::Pem, QSsl::PrivateKey);
    out.notAfterMs = out.certificate.expiryDate().toMSecsSinceEpoch();
    if (out.certificate.isNull() || out.key.isNull()) {
        *error = QStringLiteral("the TLS backend could not load the minted certificate");
        return std::nullopt;
    }
    return out;
}

std::optional<LeafCertificate> LocalCa::leafFor(const QString &hostIn, QString *error) {
    const QString host = hostIn.toLower();
    if (!permits(host)) {
        *error = QStringLiteral("the local CA may not sign for %1 (not on its host list)")
                     .arg(host.left(100));
        return std::nullopt;
    }
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const auto it = m_cache.constFind(host);
    if (it != m_cache.cend() && it->notAfterMs - now > kLeafRenewBeforeMs) return *it;
    std::optional<LeafCertificate> leaf = mintLeaf(host, qint64(kLeafValidityHours) * 3600, error);
    if (!leaf) return std::nullopt;
    // Bounded: the host list is short, but a config could name many hosts.
    if (m_cache.size() >= kMaxCachedLeaves) m_cache.clear();
    m_cache.insert(host, *leaf);
    return leaf;
}

}  // namespace airlock
