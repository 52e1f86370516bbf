// SecretStore against a real Secret Service (gnome-keyring in a private D-Bus session in CI):
// write, read back, overwrite, remove, missing keys, and the asynchronous forms.
#include <QtTest>

#include <QRandomGenerator>

#include <memory>
#include <optional>

#include "platform/secret_store.h"

using airlock::SecretStore;

namespace {

constexpr int keychainTimeoutMs = 20000;

}  // namespace

class TstSecretStore : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();
    void readsBackWhatWasWritten();
    void keepsBinarySecretsIntact();
    void overwriteReplacesTheSecret();
    void removeDeletesTheSecret();
    void readOfMissingKeyReportsNotFound();
    void keysOfOneServiceAreInvisibleToAnother();
    void asynchronousFormsCallBackOnThisThread();
    void timeoutReportsErrorWithoutTheSecret();

private:
    QString key(const char *name) const { return QStringLiteral("test/") + QLatin1String(name); }
    QString m_service;
    std::unique_ptr<SecretStore> m_store;
    QStringList m_written;
};

void TstSecretStore::initTestCase() {
    if (qEnvironmentVariableIsEmpty("DBUS_SESSION_BUS_ADDRESS")) {
        QSKIP(
            "No D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset), so no Secret Service. "
            "Run under: dbus-run-session -- sh -c 'printf pw | gnome-keyring-daemon --unlock "
            "--components=secrets; ctest -R tst_secret_store'");
    }
    // Unique per run: parallel runs and leftovers of crashed runs never collide.
    m_service = QStringLiteral("airlock-test-%1-%2")
                    .arg(QCoreApplication::applicationPid())
                    .arg(QRandomGenerator::global()->generate(), 8, 16, QLatin1Char('0'));
    m_store = std::make_unique<SecretStore>(m_service);
}

void TstSecretStore::cleanupTestCase() {
    if (!m_store) return;
    for (const QString &k : std::as_const(m_written)) m_store->removeSync(k, keychainTimeoutMs);
}

void TstSecretStore::readsBackWhatWasWritten() {
    const QString k = key("roundtrip");
    m_written << k;
    const SecretStore::Result written =
        m_store->writeSync(k, "sk-test-roundtrip-123", keychainTimeoutMs);
    QVERIFY2(written.ok, qPrintable(written.error));
    QVERIFY(written.error.isEmpty());

    const SecretStore::Result read = m_store->readSync(k, keychainTimeoutMs);
    QVERIFY2(read.ok, qPrintable(read.error));
    QVERIFY(!read.notFound);
    QCOMPARE(read.secret, QByteArray("sk-test-roundtrip-123"));
}

void TstSecretStore::keepsBinarySecretsIntact() {
    const QString k = key("binary");
    m_written << k;
    QByteArray secret;
    for (int i = 0; i < 256; ++i) secret.append(char(i));
    secret.append(QByteArray(4096, '\0'));
    const SecretStore::Result written = m_store->writeSync(k, secret, keychainTimeoutMs);
    QVERIFY2(written.ok, qPrintable(written.error));

    const SecretStore::Result read = m_store->readSync(k, keychainTimeoutMs);
    QVERIFY2(read.ok, qPrintable(read.error));
    QCOMPARE(read.secret, secret);
}

void TstSecretStore::overwriteReplacesTheSecret() {
    const QString k = SecretStore::providerKey(QStringLiteral("openai"));
    m_written << k;
    QVERIFY(m_store->writeSync(k, "first-value", keychainTimeoutMs).ok);
    const SecretStore::Result second = m_store->writeSync(k, "second-value", keychainTimeoutMs);
    QVERIFY2(second.ok, qPrintable(second.error));

    const SecretStore::Result read = m_store->readSync(k, keychainTimeoutMs);
    QVERIFY2(read.ok, qPrintable(read.error));
    QCOMPARE(read.secret, QByteArray("second-value"));
}

void TstSecretStore::removeDeletesTheSecret() {
    const QString k = key("to-remove");
    m_written << k;
    QVERIFY(m_store->writeSync(k, "short-lived", keychainTimeoutMs).ok);
    QVERIFY(m_store->readSync(k, keychainTimeoutMs).ok);

    const SecretStore::Result removed = m_store->removeSync(k, keychainTimeoutMs);
    QVERIFY2(removed.ok, qPrintable(removed.error));

    const SecretStore::Result read = m_store->readSync(k, keychainTimeoutMs);
    QVERIFY(!read.ok);
    QVERIFY(read.notFound);
    QVERIFY(read.secret.isEmpty());
}

void TstSecretStore::readOfMissingKeyReportsNotFound() {
    const SecretStore::Result read = m_store->readSync(key("never-written"), keychainTimeoutMs);
    QVERIFY(!read.ok);
    QVERIFY2(read.notFound, qPrintable(read.error));
    QVERIFY(read.secret.isEmpty());
    QVERIFY(read.error.contains(QLatin1String("test/never-written")));
}

void TstSecretStore::keysOfOneServiceAreInvisibleToAnother() {
    const QString k = key("service-scoped");
    m_written << k;
    QVERIFY(m_store->writeSync(k, "scoped", keychainTimeoutMs).ok);

    SecretStore other(m_service + QStringLiteral("-other"));
    const SecretStore::Result read = other.readSync(k, keychainTimeoutMs);
    QVERIFY(!read.ok);
    QVERIFY(read.notFound);
}

void TstSecretStore::asynchronousFormsCallBackOnThisThread() {
    const QString k = key("async");
    m_written << k;

    std::optional<SecretStore::Result> written;
    m_store->write(k, "async-secret", [&](SecretStore::Result r) {
        QCOMPARE(QThread::currentThread(), thread());
        written = std::move(r);
    });
    QTRY_VERIFY_WITH_TIMEOUT(written.has_value(), keychainTimeoutMs);
    QVERIFY2(written->ok, qPrintable(written->error));

    std::optional<SecretStore::Result> read;
    m_store->read(k, [&](SecretStore::Result r) { read = std::move(r); });
    QTRY_VERIFY_WITH_TIMEOUT(read.has_value(), keychainTimeoutMs);
    QVERIFY2(read->ok, qPrintable(read->error));
    QCOMPARE(read->secret, QByteArray("async-secret"));

    std::optional<SecretStore::Result> removed;
    m_store->remove(k, [&](SecretStore::Result r) { removed = std::move(r); });
    QTRY_VERIFY_WITH_TIMEOUT(removed.has_value(), keychainTimeoutMs);
    QVERIFY2(removed->ok, qPrintable(removed->error));
}

void TstSecretStore::timeoutReportsErrorWithoutTheSecret() {
    const QString k = key("slow");
    m_written << k;
    const QByteArray secret("sk-must-not-leak-7f3a");

    // A zero deadline gives up before the keychain can answer.
    const SecretStore::Result written = m_store->writeSync(k, secret, 0);
    if (!written.ok) {
        QVERIFY(!written.error.isEmpty());
        QVERIFY(!written.error.contains(QLatin1String(secret)));
        QVERIFY(written.error.contains(k));
    }
    // The abandoned job still completes and its late callback must be harmless: poll until the
    // write has landed.
    SecretStore::Result read;
    QTRY_VERIFY_WITH_TIMEOUT((read = m_store->readSync(k, keychainTimeoutMs)).ok,
                             keychainTimeoutMs);
    QCOMPARE(read.secret, secret);
    QVERIFY(!read.error.contains(QLatin1String(secret)));
}

QTEST_GUILESS_MAIN(TstSecretStore)
#include "tst_secret_store.moc"
