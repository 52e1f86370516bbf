#include "core/policy/policy_signature.h"

#include <QCryptographicHash>
#include <QJsonDocument>
#include <QJsonObject>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

namespace airlock {

namespace {

constexpr qsizetype kEd25519SignatureBytes = 64;
constexpr qsizetype kMaxPemBytes = 16 * 1024;
const char kEnvelopeFormat[] = "airlock-policy-v1";

struct PkeyFree {
    void operator()(EVP_PKEY *k) const { EVP_PKEY_free(k); }
};
struct BioFree {
    void operator()(BIO *b) const { BIO_free(b); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX *c) const { EVP_MD_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

QString opensslError(const QString &what) {
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (!e) return what;
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return what + QStringLiteral(" (") + QString::fromLatin1(buf) + QLatin1Char(')');
}

QByteArray bioContents(BIO *bio) {
    char *data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return n > 0 ? QByteArray(data, n) : QByteArray();
}

PkeyPtr readPublic(const QByteArray &pem, QString *error) {
    if (pem.size() > kMaxPemBytes) {
        *error = QStringLiteral("public key too large");
        return {};
    }
    BioPtr bio(BIO_new_mem_buf(pem.constData(), int(pem.size())));
    PkeyPtr key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!key)
        *error = opensslError(QStringLiteral("not a PEM public key"));
    else if (EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519) {
        *error = QStringLiteral("the public key is not an Ed25519 key");
        return {};
    }
    return key;
}

PkeyPtr readPrivate(const QByteArray &pem, QString *error) {
    if (pem.size() > kMaxPemBytes) {
        *error = QStringLiteral("private key too large");
        return {};
    }
    BioPtr bio(BIO_new_mem_buf(pem.constData(), int(pem.size())));
    PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!key)
        *error = opensslError(QStringLiteral("not a PEM private key"));
    else if (EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519) {
        *error = QStringLiteral("the private key is not an Ed25519 key");
        return {};
    }
    return key;
}

QByteArray publicPemOf(EVP_PKEY *key) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) return {};
    return bioContents(bio.get());
}

QString keyIdOfKey(EVP_PKEY *key) {
    unsigned char *der = nullptr;
    const int n = i2d_PUBKEY(key, &der);
    if (n <= 0) return {};
    const QByteArray hash = QCryptographicHash::hash(QByteArray(reinterpret_cast<char *>(der), n),
                                                     QCryptographicHash::Sha256);
    OPENSSL_free(der);
    return QString::fromLatin1(hash.toHex().left(16));
}

}  // namespace

bool generateEd25519KeyPair(Ed25519KeyPair *out, QString *error) {
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    if (!key) {
        *error = opensslError(QStringLiteral("cannot generate an Ed25519 key"));
        return false;
    }
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                         nullptr) != 1) {
        *error = opensslError(QStringLiteral("cannot write the private key"));
        return false;
    }
    out->privatePem = bioContents(bio.get());
    out->publicPem = publicPemOf(key.get());
    return !out->privatePem.isEmpty() && !out->publicPem.isEmpty();
}

QByteArray publicKeyOf(const QByteArray &privatePem, QString *error) {
    PkeyPtr key = readPrivate(privatePem, error);
    return key ? publicPemOf(key.get()) : QByteArray();
}

QString keyIdOf(const QByteArray &publicPem, QString *error) {
    PkeyPtr key = readPublic(publicPem, error);
    return key ? keyIdOfKey(key.get()) : QString();
}

QByteArray signPolicyBundle(const QByteArray &bundleJson, const QByteArray &privatePem,
                            QString *error) {
    PkeyPtr key = readPrivate(privatePem, error);
    if (!key) return {};
    MdCtxPtr ctx(EVP_MD_CTX_new());
    size_t sigLen = kEd25519SignatureBytes;
    QByteArray sig(kEd25519SignatureBytes, '\0');
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char *>(sig.data()), &sigLen,
                       reinterpret_cast<const unsigned char *>(bundleJson.constData()),
                       size_t(bundleJson.size())) != 1) {
        *error = opensslError(QStringLiteral("signing failed"));
        return {};
    }
    sig.resize(qsizetype(sigLen));
    const QJsonObject envelope{
        {QStringLiteral("format"), QLatin1String(kEnvelopeFormat)},
        {QStringLiteral("alg"), QStringLiteral("ed25519")},
        {QStringLiteral("key_id"), keyIdOfKey(key.get())},
        {QStringLiteral("payload"), QString::fromLatin1(bundleJson.toBase64())},
        {QStringLiteral("signature"), QString::fromLatin1(sig.toBase64())}};
    return QJsonDocument(envelope).toJson(QJsonDocument::Indented);
}

bool parseEnvelope(const QByteArray &envelopeJson, SignedEnvelope *out, QString *error) {
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(envelopeJson, &pe);
    if (pe.error != QJsonParseError::NoError || !doc.isObject()) {
        *error = QStringLiteral("not a signed policy bundle: invalid JSON");
        return false;
    }
    const QJsonObject o = doc.object();
    if (o.value(QLatin1String("format")).toString() != QLatin1String(kEnvelopeFormat)) {
        *error = QStringLiteral(
                     "not a signed policy bundle (\"format\" must be \"%1\"; sign it with "
                     "airlockctl policy sign)")
                     .arg(QLatin1String(kEnvelopeFormat));
        return false;
    }
    if (o.value(QLatin1String("alg")).toString() != QLatin1String("ed25519")) {
        *error = QStringLiteral("unsupported signature algorithm \"%1\" (only ed25519)")
                     .arg(o.value(QLatin1String("alg")).toString());
        return false;
    }
    const auto payload =
        QByteArray::fromBase64Encoding(o.value(QLatin1String("payload")).toString().toLatin1(),
                                       QByteArray::AbortOnBase64DecodingErrors);
    const auto sig =
        QByteArray::fromBase64Encoding(o.value(QLatin1String("signature")).toString().toLatin1(),
                                       QByteArray::AbortOnBase64DecodingErrors);
    if (!payload || payload.decoded.isEmpty()) {
        *error = QStringLiteral("the payload is missing or not base64");
        return false;
    }
    if (!sig || sig.decoded.size() != kEd25519SignatureBytes) {
        *error = QStringLiteral("the signature is missing or not a base64 Ed25519 signature");
        return false;
    }
    out->payload = payload.decoded;
    out->signature = sig.decoded;
    out->keyId = o.value(QLatin1String("key_id")).toString();
    return true;
}

bool verifyEnvelope(const SignedEnvelope &envelope, const QList<QByteArray> &trustedPublicPems,
                    QString *error) {
    if (trustedPublicPems.isEmpty()) {
        *error = QStringLiteral(
            "no trusted policy keys are configured (policy.trusted_keys in the managed config)");
        return false;
    }
    QString keyErrors;
    for (const QByteArray &pem : trustedPublicPems) {
        QString e;
        PkeyPtr key = readPublic(pem, &e);
        if (!key) {
            keyErrors = e;
            continue;
        }
        MdCtxPtr ctx(EVP_MD_CTX_new());
        if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1)
            continue;
        const int rc = EVP_DigestVerify(
            ctx.get(), reinterpret_cast<const unsigned char *>(envelope.signature.constData()),
            size_t(envelope.signature.size()),
            reinterpret_cast<const unsigned char *>(envelope.payload.constData()),
            size_t(envelope.payload.size()));
        ERR_clear_error();
        if (rc == 1) return true;
    }
    *error =
        QStringLiteral(
            "bad signature: no trusted key (%1 configured) verifies the bundle signed by key %2")
            .arg(trustedPublicPems.size())
            .arg(envelope.keyId.isEmpty() ? QStringLiteral("(unnamed)") : envelope.keyId);
    if (!keyErrors.isEmpty())
        *error += QStringLiteral("; a trusted key is unreadable: ") + keyErrors;
    return false;
}

}  // namespace airlock
