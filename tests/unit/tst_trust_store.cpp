// The Linux trust store integration against a temporary system-store dir: install writes the CA
// where update-ca-certificates reads it and runs the update command; uninstall removes it again.
#include "platform/trust_store.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace airlock;

class TstTrustStore : public QObject {
    Q_OBJECT

private:
    static QByteArray pem() {
        return "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";
    }

private Q_SLOTS:
    void installsIntoTheSystemStoreDirAndRunsTheUpdate() {
#ifndef Q_OS_LINUX
        QSKIP("the Linux store layout");
#endif
        QTemporaryDir dir;
        TrustStoreOptions o;
        o.homeDir = dir.filePath(QStringLiteral("home"));
        o.linuxSystemDir = dir.filePath(QStringLiteral("ca-certificates"));
        // The update command proves it ran by leaving a file.
        const QString marker = dir.filePath(QStringLiteral("updated"));
        o.linuxUpdateCommand = {QStringLiteral("sh"), QStringLiteral("-c"),
                                QStringLiteral("echo ran >> '%1'").arg(marker)};
        TrustStore store(o);
        QVERIFY(store.installedIn(pem()).isEmpty());
        const TrustStoreReport r = store.install(pem());
        QVERIFY2(r.ok, qPrintable(r.errors.join(QLatin1Char('\n'))));
        const QString file = o.linuxSystemDir + QStringLiteral("/airlock-local-ca.crt");
        QFile f(file);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), pem());
        QVERIFY(QFile::exists(marker));
        QCOMPARE(store.installedIn(pem()), QStringList{QStringLiteral("system store")});
        const TrustStoreReport u = store.uninstall(pem());
        QVERIFY(u.ok);
        QVERIFY(!QFile::exists(file));
        QVERIFY(store.installedIn(pem()).isEmpty());
    }

    void reportsAFailingUpdateCommand() {
        QTemporaryDir dir;
        TrustStoreOptions o;
        o.homeDir = dir.path();
        o.linuxSystemDir = dir.filePath(QStringLiteral("store"));
        o.linuxUpdateCommand = {QStringLiteral("false")};
        const TrustStoreReport r = TrustStore(o).install(pem());
        QVERIFY(!r.ok);
        QCOMPARE(r.errors.size(), 1);
        QVERIFY(r.errors.first().contains(QLatin1String("failed")));
    }
};

QTEST_GUILESS_MAIN(TstTrustStore)
#include "tst_trust_store.moc"
