#include "core/http/upstream_pool.h"

#include <QTimer>

namespace airlock {

UpstreamPool::UpstreamPool(OutboundProxy proxy, HttpParseLimits limits, int idleTimeoutMs,
                           int maxIdlePerOrigin, QObject *parent)
    : QObject(parent),
      m_proxy(std::move(proxy)),
      m_limits(limits),
      m_idleTimeoutMs(idleTimeoutMs),
      m_maxIdlePerOrigin(maxIdlePerOrigin)
{
}

UpstreamPool::~UpstreamPool() = default;  // connections are children

UpstreamConnection *UpstreamPool::acquire(const Origin &origin, bool freshOnly)
{
    ++m_active;
    if (!freshOnly) {
        auto it = m_idle.find(origin.key());
        while (it != m_idle.end() && !it->isEmpty()) {
            UpstreamConnection *c = it->takeLast();
            c->disconnect(this);
            if (auto *t = c->findChild<QTimer *>(QStringLiteral("poolIdle"))) t->stop();
            if (c->isConnected()) return c;
            c->deleteLater();
        }
    }
    return new UpstreamConnection(origin, m_proxy.proxyFor(origin), m_limits, this);
}

void UpstreamPool::release(UpstreamConnection *c)
{
    if (!c) return;
    --m_active;
    QList<UpstreamConnection *> &list = m_idle[c->origin().key()];
    if (!c->reusable() || !c->isConnected() || list.size() >= m_maxIdlePerOrigin) {
        c->close();
        c->deleteLater();
        return;
    }
    list.append(c);
    connect(c, &UpstreamConnection::closedWhileIdle, this, [this, c] { dropIdle(c); });
    auto *timer = c->findChild<QTimer *>(QStringLiteral("poolIdle"));
    if (!timer) {
        timer = new QTimer(c);
        timer->setObjectName(QStringLiteral("poolIdle"));
        timer->setSingleShot(true);
        connect(timer, &QTimer::timeout, this, [this, c] { dropIdle(c); });
    }
    timer->start(m_idleTimeoutMs);
}

void UpstreamPool::discard(UpstreamConnection *c)
{
    if (!c) return;
    --m_active;
    c->detach();
    c->deleteLater();
}

void UpstreamPool::dropIdle(UpstreamConnection *c)
{
    auto it = m_idle.find(c->origin().key());
    if (it == m_idle.end() || !it->removeOne(c)) return;
    c->close();
    c->deleteLater();
}

int UpstreamPool::idleCount() const
{
    int n = 0;
    for (const auto &list : m_idle) n += int(list.size());
    return n;
}

}  // namespace airlock
