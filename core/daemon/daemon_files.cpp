#include "core/daemon/daemon_files.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QSaveFile>

namespace airlock {

namespace {
constexpr auto kOwnerOnly = QFileDevice::ReadOwner | QFileDevice::WriteOwner;

QString tokenPath(const QString &dir) { return dir + QStringLiteral("/api-token"); }
QString runtimePath(const QString &dir) { return dir + QStringLiteral("/airlockd.json"); }
}  // namespace

QString DaemonEndpoint::baseUrl() const
{
    const QString h = host.contains(QLatin1Char(':')) ? QLatin1Char('[') + host + QLatin1Char(']') : host;
    return QStringLiteral("http://%1:%2").arg(h).arg(port);
}

bool ensureDataDir(const QString &dataDir, QString *error)
{
    QDir dir(dataDir);
    if (!dir.exists() && !QDir().mkpath(dataDir)) {
        *error = QStringLiteral("cannot create data dir %1").arg(dataDir);
        return false;
    }
    QFile::setPermissions(dataDir, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    return true;
}

QByteArray loadOrCreateApiToken(const QString &dataDir, QString *error)
{
    QFile existing(tokenPath(dataDir));
    if (existing.open(QIODevice::ReadOnly)) {
        const QByteArray token = existing.readAll().trimmed();
        if (token.size() >= 32) {
            existing.setPermissions(kOwnerOnly);
            return token;
        }
    }
    QByteArray raw(32, Qt::Uninitialized);
    QRandomGenerator::system()->generate(reinterpret_cast<quint32 *>(raw.data()),
                                         reinterpret_cast<quint32 *>(raw.data() + raw.size()));
    const QByteArray token = raw.toHex();
    QFile::remove(tokenPath(dataDir));
    QFile file(tokenPath(dataDir));
    if (!file.open(QIODevice::WriteOnly | QIODevice::NewOnly, kOwnerOnly) || file.write(token) != token.size()) {
        *error = QStringLiteral("cannot write %1: %2").arg(file.fileName(), file.errorString());
        return {};
    }
    return token;
}

bool writeRuntimeFile(const QString &dataDir, const QHostAddress &address, quint16 port, QString *error)
{
    QSaveFile file(runtimePath(dataDir));
    if (!file.open(QIODevice::WriteOnly)) {
        *error = file.errorString();
        return false;
    }
    const QJsonObject o{{QStringLiteral("host"), address.toString()},
                        {QStringLiteral("port"), int(port)},
                        {QStringLiteral("pid"), QCoreApplication::applicationPid()}};
    file.write(QJsonDocument(o).toJson(QJsonDocument::Compact));
    if (!file.commit()) {
        *error = file.errorString();
        return false;
    }
    return true;
}

void removeRuntimeFile(const QString &dataDir)
{
    QFile::remove(runtimePath(dataDir));
}

bool readDaemonEndpoint(const QString &dataDir, DaemonEndpoint *out, QString *error)
{
    QFile file(runtimePath(dataDir));
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("no airlockd is running for %1 (no airlockd.json)").arg(dataDir);
        return false;
    }
    const QJsonObject o = QJsonDocument::fromJson(file.readAll()).object();
    out->host = o.value(QStringLiteral("host")).toString();
    out->port = quint16(o.value(QStringLiteral("port")).toInt());
    out->pid = o.value(QStringLiteral("pid")).toInteger(-1);
    QFile token(tokenPath(dataDir));
    if (token.open(QIODevice::ReadOnly)) out->token = token.readAll().trimmed();
    if (out->host.isEmpty() || out->port == 0) {
        *error = QStringLiteral("%1 is not a valid runtime file").arg(file.fileName());
        return false;
    }
    return true;
}

}  // namespace airlock
