// SecretStore where no keychain can answer: without a D-Bus session bus, and on a thread that runs
// Qt's own event dispatcher. Calls must fail at once with a reason and load no keychain library.
#include <QtTest>

#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>
#include <QThread>

#include <optional>

#include "platform/secret_store.h"

using airlock::SecretStore;

namespace {

constexpr int kCallTimeoutMs = 10000;
// A failure that needs no job answers in milliseconds; a job would wait out kCallTimeoutMs.
constexpr qint64 kPromptMs = 2000;

// libsecret (and with it GIO) is loaded by QtKeychain only when a job starts.
bool keychainLibraryLoaded() {
    QFile maps(QStringLiteral("/proc/self/maps"));
    if (!maps.open(QIODevice::ReadOnly)) return false;
    return maps.readAll().contains("libsecret");
}

}  // namespace

class TstSecretStoreUnreachable : public QObject {
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void reportsNoBackendWithoutSessionBus();
    void sessionBusSocketOrAddressMakesBackendReachable();
    void failsPromptlyWithoutSessionBus();
    void asynchronousFailureArrivesThroughTheEventLoop();
    void failsPromptlyOnThreadWithoutGlibDispatcher();
    void loadsNoKeychainLibrary();

private:
    QTemporaryDir m_runtimeDir;
};

void TstSecretStoreUnreachable::init() {
    if (!QFile::exists(QStringLiteral("/proc/self/maps")))
        QSKIP("Linux only: the Secret Service is reached over D-Bus");
    QVERIFY(m_runtimeDir.isValid());
    qunsetenv("DBUS_SESSION_BUS_ADDRESS");
    qunsetenv("DISPLAY");
    qunsetenv("KDE_SESSION_VERSION");
    qunsetenv("XDG_CURRENT_DESKTOP");
    qputenv("XDG_RUNTIME_DIR", QFile::encodeName(m_runtimeDir.path()));
}

void TstSecretStoreUnreachable::cleanup() {
    qunsetenv("QT_NO_GLIB");
    QFile::remove(m_runtimeDir.filePath(QStringLiteral("bus")));
}

void TstSecretStoreUnreachable::reportsNoBackendWithoutSessionBus() {
    QVERIFY(!SecretStore::backendReachable());
}

void TstSecretStoreUnreachable::sessionBusSocketOrAddressMakesBackendReachable() {
    QFile bus(m_runtimeDir.filePath(QStringLiteral("bus")));
    QVERIFY(bus.open(QIODevice::WriteOnly));
    bus.close();
    QVERIFY(SecretStore::backendReachable());
    QVERIFY(bus.remove());
    QVERIFY(!SecretStore::backendReachable());
    qputenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    QVERIFY(SecretStore::backendReachable());
}

void TstSecretStoreUnreachable::failsPromptlyWithoutSessionBus() {
    SecretStore store(QStringLiteral("airlock-test-unreachable"));
    QElapsedTimer clock;
    clock.start();
    const SecretStore::Result read = store.readSync(QStringLiteral("device-token"), kCallTimeoutMs);
    const SecretStore::Result written =
        store.writeSync(QStringLiteral("test/w"), "sk-never-stored-91c2", kCallTimeoutMs);
    const SecretStore::Result removed = store.removeSync(QStringLiteral("test/w"), kCallTimeoutMs);
    QVERIFY2(clock.elapsed() < kPromptMs, qPrintable(QString::number(clock.elapsed())));
    for (const SecretStore::Result &r : {read, written, removed}) {
        QVERIFY(!r.ok);
        QVERIFY(!r.notFound);
        QVERIFY(r.secret.isEmpty());
        QVERIFY2(r.error.contains(QLatin1String("D-Bus session bus")), qPrintable(r.error));
        QVERIFY(!r.error.contains(QLatin1String("sk-never-stored")));
    }
    QVERIFY(read.error.contains(QLatin1String("'device-token'")));
    QVERIFY(written.error.startsWith(QLatin1String("Could not write")));
}

void TstSecretStoreUnreachable::asynchronousFailureArrivesThroughTheEventLoop() {
    std::optional<SecretStore::Result> result;
    SecretStore().read(SecretStore::providerKey(QStringLiteral("openai")),
                       [&](SecretStore::Result r) {
                           QCOMPARE(QThread::currentThread(), thread());
                           result = std::move(r);
                       });
    // Callers count pending reads after starting them: the answer must not arrive inside read().
    QVERIFY(!result.has_value());
    QTRY_VERIFY_WITH_TIMEOUT(result.has_value(), kPromptMs);
    QVERIFY(!result->ok);
    QVERIFY(result->error.contains(QLatin1String("provider/openai")));
}

void TstSecretStoreUnreachable::failsPromptlyOnThreadWithoutGlibDispatcher() {
    // A bus that may answer, but a thread whose dispatcher cannot run libsecret's callbacks.
    qputenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    qputenv("QT_NO_GLIB", "1");  // read when a thread starts: this one gets Qt's own dispatcher
    SecretStore::Result result;
    qint64 elapsedMs = -1;
    std::unique_ptr<QThread> worker(QThread::create([&] {
        QElapsedTimer clock;
        clock.start();
        result = SecretStore().readSync(QStringLiteral("device-token"), kCallTimeoutMs);
        elapsedMs = clock.elapsed();
    }));
    worker->start();
    QVERIFY(worker->wait(kCallTimeoutMs * 2));
    QVERIFY(!result.ok);
    QVERIFY2(elapsedMs >= 0 && elapsedMs < kPromptMs, qPrintable(QString::number(elapsedMs)));
    QVERIFY2(result.error.contains(QLatin1String("GLib")), qPrintable(result.error));
}

void TstSecretStoreUnreachable::loadsNoKeychainLibrary() {
    // Runs last: every call above failed without starting a QtKeychain job.
    QVERIFY(!keychainLibraryLoaded());
}

QTEST_GUILESS_MAIN(TstSecretStoreUnreachable)
#include "tst_secret_store_unreachable.moc"
