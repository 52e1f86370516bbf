// macOS: the CA goes into the user's login keychain as a trusted root with `security
// add-trusted-cert` (the OS asks for the user's password). NOT COMPILED OR TESTED in CI yet.
#include "platform/trust_store.h"

#include <QCryptographicHash>
#include <QDir>
#include <QProcess>
#include <QSslCertificate>
#include <QTemporaryFile>

namespace airlock {

namespace {

struct ToolResult {
    bool ok = false;
    QString output;
};

ToolResult run(const QStringList &args) {
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(QStringLiteral("/usr/bin/security"), args);
    if (!p.waitForStarted(5000) || !p.waitForFinished(120'000))
        return {false, QStringLiteral("security did not finish")};
    return {p.exitCode() == 0, QString::fromUtf8(p.readAll()).trimmed().left(500)};
}

QString loginKeychain(const QString &home) {
    return home + QStringLiteral("/Library/Keychains/login.keychain-db");
}

QString sha1Of(const QByteArray &pem) {
    const QSslCertificate c(pem, QSsl::Pem);
    return QString::fromLatin1(c.digest(QCryptographicHash::Sha1).toHex().toUpper());
}

}  // namespace

TrustStore::TrustStore(TrustStoreOptions options) : m_opt(std::move(options)) {
    if (m_opt.homeDir.isEmpty()) m_opt.homeDir = QDir::homePath();
}

TrustStoreReport TrustStore::install(const QByteArray &caPem) const {
    TrustStoreReport r;
    QTemporaryFile pem;
    if (!pem.open()) {
        r.ok = false;
        r.errors.append(QStringLiteral("cannot write a temporary file"));
        return r;
    }
    pem.write(caPem);
    pem.flush();
    const ToolResult t =
        run({QStringLiteral("add-trusted-cert"), QStringLiteral("-r"), QStringLiteral("trustRoot"),
             QStringLiteral("-p"), QStringLiteral("ssl"), QStringLiteral("-k"),
             loginKeychain(m_opt.homeDir), pem.fileName()});
    if (t.ok)
        r.done.append(QStringLiteral("login keychain (trusted for SSL)"));
    else {
        r.ok = false;
        r.errors.append(QStringLiteral("security add-trusted-cert: %1").arg(t.output));
    }
    return r;
}

TrustStoreReport TrustStore::uninstall(const QByteArray &caPem) const {
    TrustStoreReport r;
    QTemporaryFile pem;
    if (pem.open()) {
        pem.write(caPem);
        pem.flush();
        run({QStringLiteral("remove-trusted-cert"), pem.fileName()});
    }
    const ToolResult t = run({QStringLiteral("delete-certificate"), QStringLiteral("-Z"),
                              sha1Of(caPem), loginKeychain(m_opt.homeDir)});
    if (t.ok)
        r.done.append(QStringLiteral("login keychain"));
    else
        r.skipped.append(QStringLiteral("login keychain: %1").arg(t.output));
    return r;
}

QStringList TrustStore::installedIn(const QByteArray &caPem) const {
    const ToolResult t =
        run({QStringLiteral("find-certificate"), QStringLiteral("-a"), QStringLiteral("-Z"),
             QStringLiteral("-c"), m_opt.certificateName, loginKeychain(m_opt.homeDir)});
    if (t.ok && t.output.contains(sha1Of(caPem))) return {QStringLiteral("login keychain")};
    return {};
}

}  // namespace airlock
