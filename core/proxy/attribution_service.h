// Resolves which process owns each accepted client connection on a worker thread, so the
// proxy's event loop never waits on /proc or netlink, and hands the result back to the connection.
#pragma once

#include "core/proxy/client_connection.h"

#include <QObject>
#include <QThread>
#include <memory>

namespace airlock {

class ProcessResolver;

class AttributionService : public QObject {
    Q_OBJECT
public:
    explicit AttributionService(std::unique_ptr<ProcessResolver> resolver,
                                QObject *parent = nullptr);
    ~AttributionService() override;

    // Starts the lookup; connection->setIdentity() runs on the connection's thread when done.
    void attribute(ClientConnection *connection);
    // The app name a User-Agent suggests when the process is unknown ("curl/8.1" -> "curl").
    static QString appFromUserAgent(const QByteArray &userAgent);

private:
    QThread m_thread;
    QObject *m_worker = nullptr;  // lives on m_thread
    std::shared_ptr<ProcessResolver> m_resolver;
};

}  // namespace airlock
