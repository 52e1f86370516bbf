// airlockctl's client for the daemon's local API: finds the daemon through the data dir's
// runtime file and token, and makes blocking requests (a CLI may block; the daemon never does).
#pragma once

#include "core/daemon/daemon_files.h"

#include <QJsonObject>
#include <QString>

namespace airlock {

struct ApiResult {
    bool reachable = false;  // the daemon answered at all
    int status = 0;
    QJsonObject json;
    QString error;
};

class ApiClient {
public:
    explicit ApiClient(QString dataDir);
    bool daemonKnown() const { return m_known; }
    ApiResult get(const QString &pathAndQuery, int timeoutMs = 15000) const;
    ApiResult post(const QString &path, const QByteArray &body = {}, int timeoutMs = 15000) const;

private:
    ApiResult request(const QByteArray &verb, const QString &path, const QByteArray &body, int timeoutMs) const;
    QString m_dataDir;
    DaemonEndpoint m_endpoint;
    bool m_known = false;
    QString m_error;
};

}  // namespace airlock
