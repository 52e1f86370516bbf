// Keep-alive pool of upstream connections per origin. Idle connections are reused first and
// closed after an idle timeout; nothing here runs a periodic timer.
#pragma once

#include "core/http/origin.h"
#include "core/http/upstream_connection.h"

#include <QHash>
#include <QList>
#include <QObject>

namespace airlock {

class UpstreamPool : public QObject {
    Q_OBJECT
public:
    UpstreamPool(OutboundProxy proxy, HttpParseLimits limits, int idleTimeoutMs,
                 int maxIdlePerOrigin = 64, QObject *parent = nullptr);
    ~UpstreamPool() override;

    // An idle connected connection for this origin, or a new one (not yet connected).
    // The caller owns its use until release() or discard().
    UpstreamConnection *acquire(const Origin &origin, bool freshOnly = false);
    // After a completed exchange: pooled when reusable, else closed and deleted.
    void release(UpstreamConnection *connection);
    void discard(UpstreamConnection *connection);

    int idleCount() const;
    int activeCount() const { return m_active; }
    const OutboundProxy &outboundProxy() const { return m_proxy; }

private:
    void dropIdle(UpstreamConnection *connection);

    OutboundProxy m_proxy;
    HttpParseLimits m_limits;
    int m_idleTimeoutMs;
    int m_maxIdlePerOrigin;
    int m_active = 0;
    QHash<QString, QList<UpstreamConnection *>> m_idle;  // most recently used last
};

}  // namespace airlock
