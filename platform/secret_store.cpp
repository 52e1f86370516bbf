// SecretStore over QtKeychain. Jobs delete themselves when finished; the blocking forms wait on
// a local event loop with a deadline and stay safe when a job outlives that deadline.
#include "platform/secret_store.h"

#include <QEventLoop>
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

}  // namespace

SecretStore::SecretStore(QString service) : m_service(std::move(service)) {}

void SecretStore::read(const QString &key, std::function<void(Result)> done) const {
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
