// Files airlockd keeps in its data dir for local clients: the admin API token (0600) and a
// runtime file saying where the daemon listens, so airlockctl and the GUI can find it.
#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QString>

namespace airlock {

struct DaemonEndpoint {
    QString host;       // "127.0.0.1" or "::1"
    quint16 port = 0;
    qint64 pid = -1;
    QByteArray token;
    QString baseUrl() const;  // "http://127.0.0.1:8484"
};

// Creates the data dir (0700) if needed.
bool ensureDataDir(const QString &dataDir, QString *error);
// Reads the token, creating a new random one (0600) when absent.
QByteArray loadOrCreateApiToken(const QString &dataDir, QString *error);
bool writeRuntimeFile(const QString &dataDir, const QHostAddress &address, quint16 port, QString *error);
void removeRuntimeFile(const QString &dataDir);
// What the runtime file and token say; false when no daemon has written them.
bool readDaemonEndpoint(const QString &dataDir, DaemonEndpoint *out, QString *error);

}  // namespace airlock
