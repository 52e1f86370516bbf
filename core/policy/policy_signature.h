// Ed25519 signing and verification of policy bundles (OpenSSL 3 EVP, PEM keys). A signed bundle
// is an envelope holding the exact bundle bytes, so no JSON canonicalisation is involved.
#pragma once

#include <QByteArray>
#include <QList>
#include <QString>

namespace airlock {

// {"format":"airlock-policy-v1","alg":"ed25519","key_id":HEX,"payload":BASE64(bundle JSON),
//  "signature":BASE64(Ed25519 over the payload bytes)}
struct SignedEnvelope {
    QByteArray payload;    // the bundle JSON exactly as signed
    QByteArray signature;  // 64 bytes
    QString keyId;         // first 16 hex digits of SHA-256 of the public key (DER)
};

struct Ed25519KeyPair {
    QByteArray privatePem;
    QByteArray publicPem;
};

bool generateEd25519KeyPair(Ed25519KeyPair *out, QString *error);
// The public key (PEM) of a private key (PEM).
QByteArray publicKeyOf(const QByteArray &privatePem, QString *error);
QString keyIdOf(const QByteArray &publicPem, QString *error);

// Signs `bundleJson` bytes; returns the envelope JSON (indented) or empty with *error.
QByteArray signPolicyBundle(const QByteArray &bundleJson, const QByteArray &privatePem,
                            QString *error);
bool parseEnvelope(const QByteArray &envelopeJson, SignedEnvelope *out, QString *error);
// True when one of `trustedPublicPems` verifies the envelope; *error says why not otherwise.
bool verifyEnvelope(const SignedEnvelope &envelope, const QList<QByteArray> &trustedPublicPems,
                    QString *error);

}  // namespace airlock
