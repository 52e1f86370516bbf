// Incremental HTTP/1.1 parsers for requests (from clients) and responses (from upstreams).
// Feed bytes as they arrive; the parser reports the head, body pieces and the end of each
// message through callbacks, enforcing explicit size limits.
#pragma once

#include "core/http/http_message.h"

#include <QByteArray>
#include <QByteArrayView>
#include <functional>
#include <memory>

namespace airlock {

struct HttpParseLimits {
    qint64 maxHeaderBytes = 64 * 1024;  // request/status line + all header lines
    int maxHeaderCount = 200;
    qint64 maxBodyBytes = 32 * 1024 * 1024;  // decoded body size; 0 = unlimited
    qint64 maxChunkLineBytes = 4096;         // a chunk-size line incl. extensions
};

// What went wrong, and the HTTP status a server should answer with.
struct HttpParseError {
    // 400 bad syntax, 413 body too large, 431 header too large, 501 unsupported transfer coding,
    // 505 HTTP version other than 1.0/1.1; the response parser always uses 502 (bad upstream).
    int status = 0;
    QByteArray message;  // a person-readable reason
    bool isError() const { return status != 0; }
};

struct HttpParserCallbacks {
    std::function<void()> onHeadComplete;             // head() is valid from here on
    std::function<void(QByteArrayView data)> onBody;  // decoded body bytes (de-chunked)
    std::function<void()> onMessageComplete;          // whole message done
};

// Request parser. One instance per client connection; it resets itself after each message
// so keep-alive and pipelined requests work (bytes after a message are parsed as the next one
// only after resume() is called following onMessageComplete; until then they are buffered, so
// stop reading the socket while paused). head() stays valid until resume(). A CONNECT request
// has no body: it completes at the end of its head.
class HttpRequestParser {
public:
    explicit HttpRequestParser(HttpParseLimits limits = {});

    void setCallbacks(HttpParserCallbacks callbacks);
    // Returns false once an error is set; then nothing more is parsed.
    bool feed(QByteArrayView data);
    // After onMessageComplete, parsing pauses; call resume() to parse buffered bytes of the next
    // request.
    bool resume();
    bool paused() const;
    const HttpRequestHead &head() const;
    const HttpParseError &error() const;
    qint64 bodyBytesSoFar() const;
    bool isChunked() const;
    qint64 contentLength() const;  // -1 when chunked or none
    bool idle() const;             // between messages with no buffered bytes
    bool midMessage() const;       // some bytes of a message received, message not complete
    bool expectsContinue() const;  // "Expect: 100-continue" was sent
    // While paused: removes and returns the bytes fed after the completed message, unparsed
    // (e.g. tunnel bytes a client sent right after CONNECT).
    QByteArray takeBuffered();

private:
    struct State;
    std::shared_ptr<State> d;
};

// Response parser for upstream responses. Knows the request method (HEAD has no body) and
// handles Content-Length, chunked, and close-delimited bodies (finishEof() ends those).
// 1xx interim responses are skipped (reported via onHeadComplete only for final responses).
// We never pipeline upstream, so bytes after a complete response (other than stray CRLFs) are an
// error; complete() still tells whether the response itself arrived whole.
class HttpResponseParser {
public:
    explicit HttpResponseParser(HttpParseLimits limits = {});

    void setCallbacks(HttpParserCallbacks callbacks);
    void reset(bool requestWasHead);  // before reading the response to a new request
    bool feed(QByteArrayView data);
    // The connection closed: completes a close-delimited body; an error when a message was cut
    // short.
    bool finishEof();
    const HttpResponseHead &head() const;
    const HttpParseError &error() const;
    bool complete() const;
    bool headComplete() const;

private:
    struct State;
    std::shared_ptr<State> d;
};

}  // namespace airlock
