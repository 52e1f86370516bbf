#include "core/proxy/exchange.h"

namespace airlock {

void ResponseSink::sendComplete(int status, const HttpHeaders &headers, const QByteArray &body) {
    HttpResponseHead head;
    head.status = status;
    head.reason = reasonPhrase(status);
    head.headers = headers;
    sendHead(std::move(head), body.size());
    if (!body.isEmpty()) sendBody(body);
    finishResponse();
}

}  // namespace airlock
