// The local CA: generated with name constraints and a short life, persisted with a private key
// file, and the leaves it mints (SAN, key type, lifetime, cache) verify only for permitted hosts.
#include "core/proxy/connect_handler.h"
#include "core/tls/intercept_hosts.h"
#include "core/tls/local_ca.h"

#include <QFile>
#include <QProcess>
#include <QSslCertificateExtension>
#include <QSslKey>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using namespace airlock;

class TstLocalCa : public QObject {
    Q_OBJECT

private:
    // `openssl verify -CAfile ca leaf`: exit code and output.
    static int opensslVerify(const QByteArray &caPem, const QByteArray &leafPem, QString *output) {
        QTemporaryDir dir;
        QFile ca(dir.filePath(QStringLiteral("ca.pem")));
        QFile leaf(dir.filePath(QStringLiteral("leaf.pem")));
        if (!ca.open(QIODevice::WriteOnly) || !leaf.open(QIODevice::WriteOnly)) return -1;
        ca.write(caPem);
        leaf.write(leafPem);
        ca.close();
        leaf.close();
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(QStringLiteral("openssl"), {QStringLiteral("verify"), QStringLiteral("-CAfile"),
                                            ca.fileName(), leaf.fileName()});
        if (!p.waitForFinished(30000)) return -1;
        *output = QString::fromUtf8(p.readAll());
        return p.exitCode();
    }

private Q_SLOTS:
    void initTestCase() {
        if (QStandardPaths::findExecutable(QStringLiteral("openssl")).isEmpty())
            QSKIP("the openssl command is needed to verify certificates independently");
    }

    void mintsLeavesThatVerifyForPermittedHostsOnly() {
        QString error;
        auto ca = LocalCa::generate(
            {QStringLiteral("api.openai.com"), QStringLiteral("api.anthropic.com")}, 30, &error);
        QVERIFY2(ca, qPrintable(error));
        QCOMPARE(ca->permittedHosts(), QStringList({QStringLiteral("api.openai.com"),
                                                    QStringLiteral("api.anthropic.com")}));
        auto leaf = ca->mintLeaf(QStringLiteral("api.openai.com"), 2 * 3600, &error);
        QVERIFY2(leaf, qPrintable(error));
        QString out;
        QCOMPARE(opensslVerify(ca->certificatePem(), leaf->certificatePem, &out), 0);
        // The CA key signs anything asked; the name constraints make verifiers refuse it.
        auto evil = ca->mintLeaf(QStringLiteral("evil.example.com"), 2 * 3600, &error);
        QVERIFY2(evil, qPrintable(error));
        QVERIFY(opensslVerify(ca->certificatePem(), evil->certificatePem, &out) != 0);
        QVERIFY2(out.contains(QLatin1String("subtree violation")), qPrintable(out));
        // leafFor() refuses outright.
        QVERIFY(!ca->leafFor(QStringLiteral("evil.example.com"), &error));
        QVERIFY(error.contains(QLatin1String("may not sign")));
        QVERIFY(!ca->permits(QStringLiteral("127.0.0.1")));
        QVERIFY(ca->permits(QStringLiteral("API.OpenAI.com")));
        QVERIFY(!ca->permits(QStringLiteral("api.openai.com.evil.example")));
    }

    void leafHasHostSanEcP256KeyAndAtMostSevenDays() {
        QString error;
        auto ca = LocalCa::generate({QStringLiteral("api.openai.com")}, 30, &error);
        QVERIFY(ca);
        auto leaf = ca->leafFor(QStringLiteral("api.openai.com"), &error);
        QVERIFY2(leaf, qPrintable(error));
        const auto sans = leaf->certificate.subjectAlternativeNames();
        QCOMPARE(sans.values(QSsl::DnsEntry), QList<QString>({QStringLiteral("api.openai.com")}));
        QCOMPARE(leaf->key.algorithm(), QSsl::Ec);
        QCOMPARE(leaf->key.length(), 256);
        const qint64 lifetimeS =
            leaf->certificate.effectiveDate().secsTo(leaf->certificate.expiryDate());
        QVERIFY2(lifetimeS <= 7 * 24 * 3600, qPrintable(QString::number(lifetimeS)));
        QCOMPARE(leaf->certificate.issuerInfo(QSslCertificate::CommonName),
                 ca->certificate().subjectInfo(QSslCertificate::CommonName));
        // Cached: the same certificate comes back.
        auto again = ca->leafFor(QStringLiteral("api.openai.com"), &error);
        QVERIFY(again);
        QCOMPARE(again->certificate, leaf->certificate);
    }

    void caIsShortLivedConstrainedAndRefusesNonDnsNames() {
        QString error;
        auto ca =
            LocalCa::generate({QStringLiteral("api.openai.com")}, LocalCa::kCaValidityDays, &error);
        QVERIFY(ca);
        QVERIFY(ca->notAfter() <=
                QDateTime::currentDateTimeUtc().addDays(LocalCa::kCaValidityDays + 1));
        bool critical = false;
        bool found = false;
        for (const QSslCertificateExtension &e : ca->certificate().extensions())
            if (e.oid() == QLatin1String("2.5.29.30")) {
                found = true;
                critical = e.isCritical();
            }
        QVERIFY(found);
        QVERIFY(critical);
        QVERIFY(!LocalCa::generate({QStringLiteral("10.0.0.1")}, 30, &error));
        QVERIFY(!LocalCa::generate({QStringLiteral("bad host")}, 30, &error));
        QVERIFY(!LocalCa::generate({}, 30, &error));
    }

    void persistsWithPrivateKeyFileAndReloads() {
        QTemporaryDir dir;
        QString error;
        bool created = false;
        auto first = LocalCa::loadOrCreate(dir.path(), InterceptHosts().hostNames(), &error,
                                           &created, CaKeyStorage::File);
        QVERIFY2(first, qPrintable(error));
        QVERIFY(created);
        QCOMPARE(QFile::permissions(LocalCa::keyPath(dir.path())) &
                     (QFileDevice::ReadGroup | QFileDevice::ReadOther | QFileDevice::WriteGroup |
                      QFileDevice::WriteOther),
                 QFileDevice::Permissions());
        QVERIFY(first->keyStorage().contains(QLatin1String("0600")));
        auto second =
            LocalCa::loadOrCreate(dir.path(), InterceptHosts().hostNames(), &error, &created);
        QVERIFY(second);
        QVERIFY(!created);
        QCOMPARE(second->certificatePem(), first->certificatePem());
        QCOMPARE(second->permittedHosts(), InterceptHosts().hostNames());
        QVERIFY(!second->changedOnDisk());
        auto rotated = LocalCa::rotate(dir.path(), {QStringLiteral("api.openai.com")}, &error,
                                       CaKeyStorage::File);
        QVERIFY2(rotated, qPrintable(error));
        QVERIFY(rotated->certificatePem() != first->certificatePem());
        QVERIFY(QFile::exists(LocalCa::certPath(dir.path()) + QStringLiteral(".old")));
    }

    void keepsTheKeyInTheKeychainWhenOneIsAvailable() {
        if (qEnvironmentVariableIsEmpty("DBUS_SESSION_BUS_ADDRESS"))
            QSKIP("no D-Bus session, so no Secret Service (run under tests/run_all.sh)");
        QTemporaryDir dir;
        QString error;
        auto ca = LocalCa::loadOrCreate(dir.path(), {QStringLiteral("api.openai.com")}, &error,
                                        nullptr, CaKeyStorage::Keychain);
        QVERIFY2(ca, qPrintable(error));
        QVERIFY2(ca->keyStorage().contains(QLatin1String("keychain")),
                 qPrintable(ca->keyStorage()));
        QVERIFY(!QFile::exists(LocalCa::keyPath(dir.path())));
        QVERIFY(QFile::exists(LocalCa::keychainMarkerPath(dir.path())));
        auto again = LocalCa::load(dir.path(), &error);
        QVERIFY2(again, qPrintable(error));
        QCOMPARE(again->certificatePem(), ca->certificatePem());
        auto leaf = again->leafFor(QStringLiteral("api.openai.com"), &error);
        QVERIFY(leaf);
        QString out;
        QCOMPARE(opensslVerify(ca->certificatePem(), leaf->certificatePem, &out), 0);
        LocalCa::remove(dir.path());
        QVERIFY(!LocalCa::load(dir.path(), &error));
    }

    void fallsBackToAPrivateFileWithoutAKeychain() {
        QTemporaryDir dir;
        QString error;
        auto ca = LocalCa::loadOrCreate(dir.path(), {QStringLiteral("api.openai.com")}, &error,
                                        nullptr, CaKeyStorage::File);
        QVERIFY2(ca, qPrintable(error));
        QVERIFY(ca->keyStorage().startsWith(QLatin1String("file (0600)")));
        QVERIFY(!QFile::exists(LocalCa::keychainMarkerPath(dir.path())));
    }

    void refusesACorruptOrMismatchedKey() {
        QTemporaryDir dir;
        QString error;
        QVERIFY(LocalCa::loadOrCreate(dir.path(), {QStringLiteral("api.openai.com")}, &error,
                                      nullptr, CaKeyStorage::File));
        QFile key(LocalCa::keyPath(dir.path()));
        QVERIFY(key.open(QIODevice::WriteOnly | QIODevice::Truncate));
        key.write("-----BEGIN EC PRIVATE KEY-----\ngarbage\n-----END EC PRIVATE KEY-----\n");
        key.close();
        QVERIFY(!LocalCa::load(dir.path(), &error));
        QVERIFY(!error.isEmpty());
    }

    void parsesConnectAuthorities() {
        QString host;
        quint16 port = 0;
        QVERIFY(ConnectHandler::parseAuthority("API.OpenAI.com:443", &host, &port));
        QCOMPARE(host, QStringLiteral("api.openai.com"));
        QCOMPARE(port, quint16(443));
        QVERIFY(ConnectHandler::parseAuthority("[::1]:8443", &host, &port));
        QCOMPARE(host, QStringLiteral("::1"));
        QVERIFY(!ConnectHandler::parseAuthority("api.openai.com", &host, &port));
        QVERIFY(!ConnectHandler::parseAuthority("api.openai.com:0", &host, &port));
        QVERIFY(!ConnectHandler::parseAuthority("api.openai.com:99999", &host, &port));
        QVERIFY(!ConnectHandler::parseAuthority("a b:443", &host, &port));
        QVERIFY(!ConnectHandler::parseAuthority(":443", &host, &port));
    }

    void hostListHasTheMajorProvidersAndConfigExtras() {
        const InterceptHosts hosts({QStringLiteral("LLM.Corp.Example.")});
        for (const char *h :
             {"api.openai.com", "api.anthropic.com", "generativelanguage.googleapis.com",
              "api.mistral.ai", "api.groq.com", "api.together.xyz", "api.deepseek.com", "api.x.ai",
              "api.cohere.com", "openrouter.ai", "api.perplexity.ai"})
            QVERIFY2(hosts.find(QLatin1String(h)), h);
        QVERIFY(hosts.find(QStringLiteral("llm.corp.example")));
        QVERIFY(!hosts.find(QStringLiteral("example.com")));
        QVERIFY(hosts.find(QStringLiteral("api.openai.com"))->viaDefaultProvider);
        QCOMPARE(hosts.find(QStringLiteral("api.groq.com"))->pathPrefix, QByteArray("/openai"));
    }
};

QTEST_GUILESS_MAIN(TstLocalCa)
#include "tst_local_ca.moc"
