#include "core/proxy/attribution_service.h"

#include "platform/process_resolver.h"

#include <QPointer>

namespace airlock {

AttributionService::AttributionService(std::unique_ptr<ProcessResolver> resolver, QObject *parent)
    : QObject(parent), m_resolver(std::move(resolver)) {
    m_thread.setObjectName(QStringLiteral("attribution"));
    m_worker = new QObject;
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    m_thread.start(QThread::LowPriority);
}

AttributionService::~AttributionService() {
    m_thread.quit();
    m_thread.wait();
}

void AttributionService::attribute(ClientConnection *connection) {
    QPointer<ClientConnection> target(connection);
    const QHostAddress clientAddr = connection->peerAddress();
    const quint16 clientPort = connection->peerPort();
    const QHostAddress serverAddr = connection->localAddress();
    const quint16 serverPort = connection->localPort();
    std::shared_ptr<ProcessResolver> resolver = m_resolver;
    QMetaObject::invokeMethod(m_worker, [=, this] {
        ClientIdentity id;
        if (resolver) {
            if (auto info =
                    resolver->resolveTcpClient(clientAddr, clientPort, serverAddr, serverPort)) {
                id.pid = info->pid;
                id.exePath = info->exePath;
                if (!info->app.isEmpty()) id.app = info->app;
            }
        }
        QMetaObject::invokeMethod(
            this,
            [target, id] {
                if (target) target->setIdentity(id);
            },
            Qt::QueuedConnection);
    });
}

QString AttributionService::appFromUserAgent(const QByteArray &userAgent) {
    QByteArray token = userAgent.trimmed();
    const qsizetype cut = token.indexOf(' ');
    if (cut > 0) token.truncate(cut);
    const qsizetype slash = token.indexOf('/');
    if (slash > 0) token.truncate(slash);
    token = token.toLower();
    if (token.isEmpty() || token.size() > 64) return QStringLiteral("unknown");
    return QString::fromUtf8(token);
}

}  // namespace airlock
