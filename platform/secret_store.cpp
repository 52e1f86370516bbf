// SecretStore over QtKeychain. Jobs delete themselves when finished; the blocking forms wait on
// a local event loop with a deadline and stay safe when a job outlives that deadline.
#include "platform/secret_store.h"

#include <QAbstractEventDispatcher>
#include <QEventLoop>
#include <QFileInfo>
#include <QTimer>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include <qt6keychain/keychain.h>

namespace airlock {

namespace {

// Person-readable text for a finished job. Built only from the operation, the key name and
// QtKeychain's own error text, never from the secret.
QString describeError(const char *operation, const QString &key, const QKeychain::Job &job) {
    QString reason;
    switch (job.error()) {
        case QKeychain::NoError:
            return {};
        case QKeychain::EntryNotFound:
            reason = QStringLiteral("no such entry");
            break;
        case QKeychain::CouldNotDeleteEntry:
            reason = QStringLiteral("the entry could not be deleted");
            break;
        case QKeychain::AccessDeniedByUser:
            reason = QStringLiteral("access was denied by the user");
            break;
        case QKeychain::AccessDenied:
            reason = QStringLiteral("access was denied");
            break;
        case QKeychain::NoBackendAvailable:
            reason = QStringLiteral(
                "no keychain is available (on Linux: is a Secret Service such as "
                "gnome-keyring or KWallet running?)");
            break;
        case QKeychain::NotImplemented:
            reason = QStringLiteral("not supported on this platform");
            break;
        case QKeychain::OtherError:
            reason = QStringLiteral("keychain error");
            break;
    }
    const QString detail = job.errorString();
    if (!detail.isEmpty() && detail != reason) reason += QStringLiteral(": ") + detail;
    return QStringLiteral("Could not %1 '%2' in the keychain: %3")
        .arg(QLatin1String(operation), key, reason);
}

SecretStore::Result resultOf(const char *operation, const QString &key, const QKeychain::Job &job) {
    SecretStore::Result result;
    result.ok = job.error() == QKeychain::NoError;
    result.notFound = job.error() == QKeychain::EntryNotFound;
    if (!result.ok) result.error = describeError(operation, key, job);
    return result;
}

// Shared between a blocking call and its job's callback, which may run after the call timed out.
struct SyncState {
    std::optional<SecretStore::Result> result;
    QEventLoop *loop = nullptr;  // set only while the blocking call waits
};

SecretStore::Result waitFor(
    const char *operation, const QString &key, int timeoutMs,
    const std::function<void(std::function<void(SecretStore::Result)>)> &start) {
    auto state = std::make_shared<SyncState>();
    start([state](SecretStore::Result result) {
        state->result = std::move(result);
        if (state->loop) state->loop->quit();
    });
    if (!state->result) {
        QEventLoop loop;
        QTimer deadline;
        deadline.setSingleShot(true);
        QObject::connect(&deadline, &QTimer::timeout, &loop, &QEventLoop::quit);
        deadline.start(std::max(timeoutMs, 0));
        state->loop = &loop;
        loop.exec(QEventLoop::ExcludeUserInputEvents);
        state->loop = nullptr;
    }
    if (state->result) return std::move(*state->result);
    SecretStore::Result timedOut;
    timedOut.error = QStringLiteral("Could not %1 '%2' in the keychain: no answer within %3 ms")
                         .arg(QLatin1String(operation), key)
                         .arg(timeoutMs);
    // QtKeychain's libsecret backend completes through GLib callbacks, which Qt only dispatches
    // with its GLib event dispatcher (measured: with QT_NO_GLIB=1 no job ever finishes).
    if (qEnvironmentVariableIsSet("QT_NO_GLIB"))
        timedOut.error += QStringLiteral(
            " (QT_NO_GLIB is set; the Secret Service backend needs "
            "Qt's GLib event loop)");
    return timedOut;
}

// The Secret Service and KWallet are reached over the D-Bus session bus. Without one (a headless
// service, CI) no backend can answer, and merely asking loads libsecret, GIO and GObject into the
// process for good (~2.4 MB RSS measured in airlockd); so answer "no backend" without a job.
bool sessionBusMayAnswer() {
#if defined(Q_OS_LINUX) || defined(Q_OS_FREEBSD)
    if (!qEnvironmentVariableIsEmpty("DBUS_SESSION_BUS_ADDRESS")) return true;
    const QString runtimeDir = qEnvironmentVariable("XDG_RUNTIME_DIR");
    if (!runtimeDir.isEmpty() && QFileInfo::exists(runtimeDir + QStringLiteral("/bus")))
        return true;
    // With an X display, D-Bus can autolaunch a session bus.
    return !qEnvironmentVariableIsEmpty("DISPLAY");
#else
    return true;
#endif
}

// Why no job started on this thread could finish; empty when one may. Outside KDE, QtKeychain
// picks libsecret, whose answers arrive as GLib callbacks that only Qt's GLib event dispatcher
// runs: under Qt's own dispatcher (airlockd sets QT_NO_GLIB) a job would never finish, yet would
// have loaded the libraries.
QString unanswerableReason() {
    if (!sessionBusMayAnswer())
        return QStringLiteral(
            "no keychain is available (no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is unset "
            "and there is no $XDG_RUNTIME_DIR/bus)");
#if defined(Q_OS_LINUX) || defined(Q_OS_FREEBSD)
    const bool kde = qEnvironmentVariable("XDG_CURRENT_DESKTOP")
                         .contains(QLatin1String("KDE"), Qt::CaseInsensitive) ||
                     !qEnvironmentVariableIsEmpty("KDE_SESSION_VERSION");
    const QAbstractEventDispatcher *dispatcher = QAbstractEventDispatcher::instance();
    if (!kde && dispatcher && !dispatcher->inherits("QEventDispatcherGlib"))
        return QStringLiteral(
            "the Secret Service backend needs Qt's GLib event loop, and this thread runs Qt's "
            "own (QT_NO_GLIB)");
#endif
    return {};
}

// Fails a job that cannot finish without starting it; the callback still runs later on the
// calling thread's event loop, as for a real job.
bool failFast(const char *operation, const QString &key,
              std::function<void(SecretStore::Result)> &done) {
    const QString reason = unanswerableReason();
    if (reason.isEmpty()) return false;
    SecretStore::Result result;
    result.error = QStringLiteral("Could not %1 '%2' in the keychain: %3")
                       .arg(QLatin1String(operation), key, reason);
    QTimer::singleShot(0, [done = std::move(done), result = std::move(result)]() mutable {
        if (done) done(std::move(result));
    });
    return true;
}

}  // namespace

SecretStore::SecretStore(QString service) : m_service(std::move(service)) {}

bool SecretStore::backendReachable() {
    return sessionBusMayAnswer();
}

void SecretStore::read(const QString &key, std::function<void(Result)> done) const {
    if (failFast("read", key, done)) return;
    // The job owns itself: setAutoDelete(true) deletes it after finished() has been emitted.
    auto *job = new QKeychain::ReadPasswordJob(m_service);
    job->setAutoDelete(true);
    job->setKey(key);
    QObject::connect(job, &QKeychain::Job::finished, job,
                     [key, done = std::move(done)](QKeychain::Job *finished) {
                         Result result = resultOf("read", key, *finished);
                         if (result.ok) {
                             result.secret =
                                 static_cast<QKeychain::ReadPasswordJob *>(finished)->binaryData();
                         }
                         if (done) done(std::move(result));
                     });
    job->start();
}

void SecretStore::write(const QString &key, const QByteArray &secret,
                        std::function<void(Result)> done) const {
    if (failFast("write", key, done)) return;
    auto *job = new QKeychain::WritePasswordJob(m_service);
    job->setAutoDelete(true);
    job->setKey(key);
    job->setBinaryData(secret);
    QObject::connect(job, &QKeychain::Job::finished, job,
                     [key, done = std::move(done)](QKeychain::Job *finished) {
                         Result result = resultOf("write", key, *finished);
                         if (done) done(std::move(result));
                     });
    job->start();
}

void SecretStore::remove(const QString &key, std::function<void(Result)> done) const {
    if (failFast("remove", key, done)) return;
    auto *job = new QKeychain::DeletePasswordJob(m_service);
    job->setAutoDelete(true);
    job->setKey(key);
    QObject::connect(job, &QKeychain::Job::finished, job,
                     [key, done = std::move(done)](QKeychain::Job *finished) {
                         Result result = resultOf("remove", key, *finished);
                         if (done) done(std::move(result));
                     });
    job->start();
}

SecretStore::Result SecretStore::readSync(const QString &key, int timeoutMs) const {
    return waitFor("read", key, timeoutMs,
                   [&](std::function<void(Result)> done) { read(key, std::move(done)); });
}

SecretStore::Result SecretStore::writeSync(const QString &key, const QByteArray &secret,
                                           int timeoutMs) const {
    return waitFor("write", key, timeoutMs,
                   [&](std::function<void(Result)> done) { write(key, secret, std::move(done)); });
}

SecretStore::Result SecretStore::removeSync(const QString &key, int timeoutMs) const {
    return waitFor("remove", key, timeoutMs,
                   [&](std::function<void(Result)> done) { remove(key, std::move(done)); });
}

}  // namespace airlock
