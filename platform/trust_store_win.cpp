// Windows: the CA goes into the current user's Root store (CertAddCertificateContextToStore;
// Windows shows its own confirmation dialog). NOT COMPILED OR TESTED in CI yet.
#include "platform/trust_store.h"

#include <QSslCertificate>

#include <wincrypt.h>
#include <windows.h>

namespace airlock {

namespace {

struct StoreHandle {
    HCERTSTORE h = nullptr;
    StoreHandle() {
        h = CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0, CERT_SYSTEM_STORE_CURRENT_USER, L"ROOT");
    }
    ~StoreHandle() {
        if (h) CertCloseStore(h, 0);
    }
};

QByteArray derOf(const QByteArray &pem) {
    return QSslCertificate(pem, QSsl::Pem).toDer();
}

PCCERT_CONTEXT findIn(HCERTSTORE store, const QByteArray &der) {
    PCCERT_CONTEXT ctx = CertCreateCertificateContext(
        X509_ASN_ENCODING | PKCS_7_ASN_ENCODING, reinterpret_cast<const BYTE *>(der.constData()),
        DWORD(der.size()));
    if (!ctx) return nullptr;
    PCCERT_CONTEXT found = CertFindCertificateInStore(
        store, X509_ASN_ENCODING | PKCS_7_ASN_ENCODING, 0, CERT_FIND_EXISTING, ctx, nullptr);
    CertFreeCertificateContext(ctx);
    return found;
}

}  // namespace

TrustStore::TrustStore(TrustStoreOptions options) : m_opt(std::move(options)) {}

TrustStoreReport TrustStore::install(const QByteArray &caPem) const {
    TrustStoreReport r;
    const QByteArray der = derOf(caPem);
    StoreHandle store;
    PCCERT_CONTEXT ctx = CertCreateCertificateContext(
        X509_ASN_ENCODING | PKCS_7_ASN_ENCODING, reinterpret_cast<const BYTE *>(der.constData()),
        DWORD(der.size()));
    if (!store.h || !ctx) {
        r.ok = false;
        r.errors.append(QStringLiteral("cannot open the current user's Root store (error %1)")
                            .arg(GetLastError()));
        if (ctx) CertFreeCertificateContext(ctx);
        return r;
    }
    if (CertAddCertificateContextToStore(store.h, ctx, CERT_STORE_ADD_REPLACE_EXISTING, nullptr))
        r.done.append(QStringLiteral("current user Root store"));
    else {
        r.ok = false;
        r.errors.append(QStringLiteral("CertAddCertificateContextToStore failed (error %1; "
                                       "did you decline the dialog?)")
                            .arg(GetLastError()));
    }
    CertFreeCertificateContext(ctx);
    return r;
}

TrustStoreReport TrustStore::uninstall(const QByteArray &caPem) const {
    TrustStoreReport r;
    StoreHandle store;
    if (!store.h) {
        r.ok = false;
        r.errors.append(QStringLiteral("cannot open the current user's Root store"));
        return r;
    }
    if (PCCERT_CONTEXT found = findIn(store.h, derOf(caPem))) {
        // CertDeleteCertificateFromStore frees the context, also on failure.
        if (CertDeleteCertificateFromStore(found))
            r.done.append(QStringLiteral("current user Root store"));
        else {
            r.ok = false;
            r.errors.append(QStringLiteral("CertDeleteCertificateFromStore failed (error %1)")
                                .arg(GetLastError()));
        }
    }
    return r;
}

QStringList TrustStore::installedIn(const QByteArray &caPem) const {
    StoreHandle store;
    if (!store.h) return {};
    PCCERT_CONTEXT found = findIn(store.h, derOf(caPem));
    if (!found) return {};
    CertFreeCertificateContext(found);
    return {QStringLiteral("current user Root store")};
}

}  // namespace airlock
