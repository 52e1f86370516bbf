// The two sides of one request/response exchange on a client connection: the handler that
// produces the response (proxying, local API) and the sink it writes the response into.
#pragma once

#include "core/http/http_message.h"

#include <QObject>
#include <QString>

namespace airlock {

// Who is on the other end of a client connection (filled in asynchronously by attribution).
struct ClientIdentity {
    qint64 pid = -1;
    QString app = QStringLiteral("unknown");
    QString exePath;
};

class ResponseSink {
public:
    virtual ~ResponseSink() = default;
    // contentLength >= 0 sends Content-Length; -1 streams (chunked for HTTP/1.1 clients).
    virtual void sendHead(HttpResponseHead head, qint64 contentLength) = 0;
    virtual void sendBody(QByteArrayView data) = 0;
    virtual void finishResponse() = 0;
    // Ends the response abnormally: the connection is closed without a proper end.
    virtual void abortResponse() = 0;
    virtual qint64 pendingWriteBytes() const = 0;
    virtual bool headSent() const = 0;
    // Convenience: a complete response with a body.
    void sendComplete(int status, const HttpHeaders &headers, const QByteArray &body);
};

// One request's handler. Created when a request head arrives; start() runs once the whole
// body is in. Deleted (deleteLater) by the connection after finishResponse/abortResponse or
// after clientGone().
class ExchangeHandler : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;
    virtual void start(const HttpRequestHead &head, QByteArray body) = 0;
    // The client closed the connection or it failed: stop work, release upstreams, record.
    virtual void clientGone() = 0;
    // The client's write backlog fell below the low-water mark (resume upstream reading).
    virtual void clientDrained() {}
};

}  // namespace airlock
