// The last good signed policy bundle, cached in SQLite (policy.db in the data dir) so it is
// enforced at start-up with no network.
#pragma once

#include <QByteArray>
#include <QString>

namespace airlock {

struct CachedPolicy {
    QByteArray envelope;  // the signed bundle as received (verified again when loaded)
    qint64 version = 0;
    QString source;  // URL or file it came from
    qint64 fetchedAtMs = 0;
    QByteArray etag;
};

class PolicyStore {
public:
    explicit PolicyStore(QString dbPath);
    // False with *error when the database cannot be read; true with found=false when empty.
    bool load(CachedPolicy *out, bool *found, QString *error) const;
    bool save(const CachedPolicy &policy, QString *error);

private:
    QString m_path;
};

}  // namespace airlock
