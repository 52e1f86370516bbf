// The AI hosts whose HTTPS Airlock terminates (everything else is tunnelled blind), and how a
// decrypted request on each of them reaches the pipeline: which wire format, which path prefix.
#pragma once

#include "core/providers/wire_format.h"

#include <QByteArray>
#include <QString>
#include <QStringList>

namespace airlock {

struct InterceptHost {
    QString host;  // "api.groq.com"
    WireFormat format = WireFormat::OpenAI;
    QByteArray pathPrefix;  // before "/v1/...": "/openai" on api.groq.com, "" mostly
    // true: AI paths go to the default provider of the format (like base-URL traffic);
    // false: to a provider named after the host whose base URL is https://host + pathPrefix.
    bool viaDefaultProvider = false;
};

class InterceptHosts {
public:
    // The built-in list plus extra hosts (config "intercept_hosts"; OpenAI format, no prefix).
    explicit InterceptHosts(const QStringList &extraHosts = {});

    // The entry for a host (case-insensitive, no port), or nullptr when it is not intercepted.
    const InterceptHost *find(const QString &host) const;
    QStringList hostNames() const;
    const QList<InterceptHost> &entries() const { return m_entries; }

    static QStringList builtInHostNames();
    // Normalises a host from a CONNECT target or URL: lower case, no trailing dot, no brackets.
    static QString normalize(const QString &host);

private:
    QList<InterceptHost> m_entries;
};

}  // namespace airlock
