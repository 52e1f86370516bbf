#include "core/http/http_parser.h"

#include <array>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

namespace airlock {

namespace {

enum class Phase {
    Head,          // start line and header lines
    Body,          // Content-Length body
    ChunkSize,     // chunk-size line
    ChunkData,     // chunk payload
    ChunkDataEnd,  // CRLF after a chunk payload
    Trailers,      // trailer lines after the last chunk
    UntilEof,      // close-delimited response body
    Done,          // message complete
};

// RFC 9110 tchar: the characters allowed in methods, header names and transfer codings.
constexpr std::array<bool, 256> makeTokenTable() {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) t[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
    for (const char c : std::string_view("!#$%&'*+-.^_`|~"))
        t[static_cast<unsigned char>(c)] = true;
    return t;
}
constexpr std::array<bool, 256> kTokenChars = makeTokenTable();

bool isTokenChar(char c) {
    return kTokenChars[static_cast<unsigned char>(c)];
}

bool isToken(QByteArrayView v) {
    if (v.isEmpty()) return false;
    for (const char c : v) {
        if (!isTokenChar(c)) return false;
    }
    return true;
}

// Field values (and reason phrases): HTAB, SP, VCHAR and obs-text. CR, LF, NUL and other
// controls are refused: they are how header injection and smuggling attempts look.
bool isFieldText(QByteArrayView v) {
    for (const char c : v) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
    }
    return true;
}

bool isOws(char c) {
    return c == ' ' || c == '\t';
}

bool isDigit(char c) {
    return c >= '0' && c <= '9';
}

QByteArrayView trimOws(QByteArrayView v) {
    while (!v.isEmpty() && isOws(v.front())) v = v.sliced(1);
    while (!v.isEmpty() && isOws(v.back())) v.chop(1);
    return v;
}

bool equalsIgnoreCase(QByteArrayView a, QByteArrayView b) {
    if (a.size() != b.size()) return false;
    for (qsizetype i = 0; i < a.size(); ++i) {
        char x = a[i];
        char y = b[i];
        if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// Calls f on each non-empty, OWS-trimmed element of a comma-separated list (RFC 9110 5.6.1).
template <typename F>
void forEachListItem(QByteArrayView list, F &&f) {
    while (true) {
        const qsizetype comma = list.indexOf(',');
        const QByteArrayView item = trimOws(comma < 0 ? list : list.first(comma));
        if (!item.isEmpty()) f(item);
        if (comma < 0) return;
        list = list.sliced(comma + 1);
    }
}

// "HTTP/d.d" → major/minor; false when the text is not that shape.
bool parseVersion(QByteArrayView v, int &major, int &minor) {
    if (v.size() != 8 || !v.startsWith("HTTP/") || !isDigit(v[5]) || v[6] != '.' || !isDigit(v[7]))
        return false;
    major = v[5] - '0';
    minor = v[7] - '0';
    return true;
}

enum class LengthResult { None, Ok, Invalid, Conflict, TooLarge };

// Content-Length may repeat (as lines or as a list) only with one and the same value; anything
// else makes the body length ambiguous, which is what request smuggling exploits.
LengthResult parseContentLength(const HttpHeaders &headers, qint64 &length) {
    constexpr qint64 kMax = std::numeric_limits<qint64>::max();
    LengthResult result = LengthResult::None;
    for (const HttpHeaders::Entry &e : headers.entries()) {
        if (!equalsIgnoreCase(e.first, "Content-Length")) continue;
        bool sawItem = false;
        bool bad = false;
        bool tooLarge = false;
        bool conflict = false;
        forEachListItem(e.second, [&](QByteArrayView item) {
            sawItem = true;
            qint64 value = 0;
            for (const char c : item) {
                if (!isDigit(c)) {
                    bad = true;
                    return;
                }
                const int digit = c - '0';
                if (value > (kMax - digit) / 10) {
                    tooLarge = true;
                    return;
                }
                value = value * 10 + digit;
            }
            if (result == LengthResult::Ok && value != length) conflict = true;
            length = value;
            result = LengthResult::Ok;
        });
        if (bad || !sawItem) return LengthResult::Invalid;
        if (conflict) return LengthResult::Conflict;
        if (tooLarge) return LengthResult::TooLarge;
    }
    return result;
}

enum class CodingResult { Chunked, Empty, Unsupported };

// We decode exactly one transfer coding: chunked. Anything else (gzip, chunked twice, ...)
// would hand undecoded bytes to the pipeline.
CodingResult transferCoding(const HttpHeaders &headers) {
    int items = 0;
    bool onlyChunked = true;
    for (const HttpHeaders::Entry &e : headers.entries()) {
        if (!equalsIgnoreCase(e.first, "Transfer-Encoding")) continue;
        forEachListItem(e.second, [&](QByteArrayView item) {
            ++items;
            if (!equalsIgnoreCase(item, "chunked")) onlyChunked = false;
        });
    }
    if (items == 0) return CodingResult::Empty;
    return (items == 1 && onlyChunked) ? CodingResult::Chunked : CodingResult::Unsupported;
}

bool isValidAuthorityForm(QByteArrayView t) {
    const qsizetype colon = t.lastIndexOf(':');
    if (colon <= 0 || colon == t.size() - 1 || t.size() - colon - 1 > 5) return false;
    for (const char c : t.sliced(colon + 1)) {
        if (!isDigit(c)) return false;
    }
    for (const char c : t.first(colon)) {
        if (c == '/' || c == '?' || c == '#' || c == '@') return false;
    }
    return true;
}

bool isValidAbsoluteForm(QByteArrayView t) {
    const qsizetype sep = t.indexOf("://");
    if (sep <= 0 || sep + 3 >= t.size()) return false;
    const char first = t[0];
    if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z'))) return false;
    for (const char c : t.first(sep)) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) ||
                        c == '+' || c == '-' || c == '.';
        if (!ok) return false;
    }
    const char afterSep = t[sep + 3];
    return afterSep != '/' && afterSep != '?' && afterSep != '#';
}

// The consumed prefix of the held-back buffer is dropped once it is this large and at least
// half the buffer, so pipelined input is not memmoved on every message.
constexpr qsizetype kCompactMinBytes = 4096;
// A buffer that grew beyond this (a burst of pipelined requests) is freed when it empties
// instead of being kept per connection.
constexpr qsizetype kRetainedBufferBytes = qsizetype(16) * 1024;

}  // namespace

namespace http_parser_detail {

// Shared machinery of both parsers. Input is parsed straight from the caller's bytes; only an
// unfinished unit (a partial line, the CR of a CRLF) or bytes fed while paused are held back.
class ParserCore {
public:
    ParserCore(bool isResponse, HttpParseLimits parseLimits)
        : response(isResponse), limits(parseLimits) {}

    const bool response;
    const HttpParseLimits limits;
    HttpParserCallbacks callbacks;
    std::optional<HttpParserCallbacks> deferredCallbacks;  // set from inside a callback
    HttpRequestHead request;
    HttpResponseHead responseHead;
    HttpParseError error;

    Phase phase = Phase::Head;
    bool paused = false;           // request parser: after a message until resume()
    bool completePending = false;  // onMessageComplete due once the rest of the input is held
    bool started = false;          // a byte of the current head (other than leading CRLFs) seen
    bool receivedAny = false;      // response parser: any byte since reset()
    bool firstLineDone = false;
    bool finalHeadDone = false;  // response parser: a non-1xx head was parsed
    bool requestWasHead = false;
    bool chunked = false;
    qint64 headBytes = 0;
    int headerCount = 0;
    qint64 trailerBytes = 0;
    int trailerCount = 0;
    qint64 bodyBytes = 0;
    qint64 remaining = 0;
    qint64 contentLength = -1;

    QByteArray buffer;  // held-back bytes; the unconsumed part starts at bufferPos
    qsizetype bufferPos = 0;
    qsizetype scanFrom = 0;     // bytes of the current line already searched for LF
    QByteArray reentrantInput;  // fed from inside a callback; parsed after the current input

    // Reentrancy: callbacks may feed, resume, reset, replace callbacks or destroy the parser.
    int depth = 0;
    quint64 generation = 0;  // bumped by reset(); stale input is then dropped
    const std::shared_ptr<void> *guard = nullptr;

    qsizetype heldBytes() const { return buffer.size() - bufferPos; }

    bool ownerGone() const { return guard && guard->use_count() == 1; }

    void setCallbacks(HttpParserCallbacks cb) {
        // Replacing a std::function while it runs would destroy the running closure.
        if (depth > 0) {
            deferredCallbacks = std::move(cb);
        } else {
            callbacks = std::move(cb);
        }
    }

    void fail(int status, QByteArray message) {
        if (error.isError()) return;
        error.status = response ? 502 : status;
        error.message = std::move(message);
    }

    void beginMessage() {
        request = HttpRequestHead();
        responseHead = HttpResponseHead();
        phase = Phase::Head;
        completePending = false;
        started = false;
        firstLineDone = false;
        finalHeadDone = false;
        chunked = false;
        headBytes = 0;
        headerCount = 0;
        trailerBytes = 0;
        trailerCount = 0;
        bodyBytes = 0;
        remaining = 0;
        contentLength = -1;
        scanFrom = 0;
    }

    void releaseBuffer() {
        bufferPos = 0;
        if (buffer.capacity() > kRetainedBufferBytes) {
            buffer = QByteArray();
        } else {
            buffer.resize(0);
        }
    }

    void compactBuffer() {
        if (bufferPos == buffer.size()) {
            releaseBuffer();
        } else if (bufferPos >= kCompactMinBytes && bufferPos * 2 >= buffer.size()) {
            buffer.remove(0, bufferPos);
            bufferPos = 0;
        }
    }

    // Returns false when parsing must stop: the owner was destroyed, reset() ran, or an error.
    bool afterCallback(quint64 gen) {
        --depth;
        if (ownerGone()) return false;
        if (deferredCallbacks) {
            callbacks = std::move(*deferredCallbacks);
            deferredCallbacks.reset();
        }
        return gen == generation && !error.isError();
    }

    bool emitHead() {
        if (!callbacks.onHeadComplete) return true;
        const quint64 gen = generation;
        ++depth;
        callbacks.onHeadComplete();
        return afterCallback(gen);
    }

    bool emitBody(QByteArrayView piece) {
        if (!callbacks.onBody) return true;
        const quint64 gen = generation;
        ++depth;
        callbacks.onBody(piece);
        return afterCallback(gen);
    }

    bool emitComplete() {
        completePending = false;
        if (!callbacks.onMessageComplete) return true;
        const quint64 gen = generation;
        ++depth;
        callbacks.onMessageComplete();
        return afterCallback(gen);
    }

    void markComplete() {
        phase = Phase::Done;
        completePending = true;
        if (!response) paused = true;
    }

    bool feed(QByteArrayView data) {
        if (error.isError()) return false;
        if (depth > 0) {
            reentrantInput.append(data);
            return true;
        }
        pump(data);
        drainReentrant();
        return !error.isError();
    }

    void drainReentrant() {
        while (!reentrantInput.isEmpty() && !error.isError() && !ownerGone()) {
            const QByteArray more = std::move(reentrantInput);
            reentrantInput = QByteArray();
            pump(more);
        }
    }

    // Parses held-back bytes first, then data. Body bytes that need no lookahead are handed to
    // onBody as slices of data itself; only an unfinished unit is copied into the buffer.
    void pump(QByteArrayView data) {
        const quint64 gen = generation;
        while (!error.isError()) {
            if (paused) {
                if (!data.isEmpty()) buffer.append(data);
                return;
            }
            if (heldBytes() > 0) {
                const qsizetype used = process(QByteArrayView(buffer).sliced(bufferPos));
                if (ownerGone() || gen != generation) return;
                bufferPos += used;
                compactBuffer();
                if (completePending) {
                    if (!data.isEmpty()) buffer.append(data);
                    data = {};
                    if (!emitComplete()) return;
                    continue;
                }
                if (heldBytes() == 0 || paused || error.isError()) continue;
                if (data.isEmpty()) return;
                // Complete the held unit with bytes up to the next LF: a line ends there.
                const void *lf = std::memchr(data.data(), '\n', size_t(data.size()));
                const qsizetype take =
                    lf ? static_cast<const char *>(lf) - data.data() + 1 : data.size();
                buffer.append(data.first(take));
                data = data.sliced(take);
                continue;
            }
            if (data.isEmpty()) return;
            releaseBuffer();
            const qsizetype used = process(data);
            if (ownerGone() || gen != generation) return;
            data = data.sliced(used);
            if (!data.isEmpty() && !error.isError()) buffer.append(data);
            data = {};
            if (completePending) {
                if (!emitComplete()) return;
                continue;
            }
            return;
        }
    }

    // Searches the current line (starting at off) for LF without rescanning earlier bytes.
    bool findLine(QByteArrayView in, qsizetype off, qsizetype &lineEnd) {
        const qsizetype from = off + scanFrom;
        const void *lf = std::memchr(in.data() + from, '\n', size_t(in.size() - from));
        if (!lf) {
            scanFrom = in.size() - off;
            return false;
        }
        lineEnd = static_cast<const char *>(lf) - in.data();
        scanFrom = 0;
        return true;
    }

    static QByteArrayView stripCr(QByteArrayView line) {
        if (!line.isEmpty() && line.back() == '\r') line.chop(1);
        return line;
    }

    QByteArray headLimitMessage() const {
        return (response ? QByteArrayLiteral("response head exceeds ")
                         : QByteArrayLiteral("request head exceeds ")) +
               QByteArray::number(limits.maxHeaderBytes) + " bytes";
    }

    // Consumes what it can of in and returns how many bytes were consumed. Stops at the end of
    // a message (markComplete), on an error, or when a callback asks it to.
    qsizetype process(QByteArrayView in) {
        qsizetype off = 0;
        const qsizetype n = in.size();
        if (n > 0) receivedAny = true;
        while (!error.isError()) {
            switch (phase) {
                case Phase::Head: {
                    if (!started) {
                        // RFC 9112 2.2: empty lines before a start line are ignored.
                        while (off < n && (in[off] == '\r' || in[off] == '\n')) ++off;
                        if (off == n) return off;
                        started = true;
                    }
                    qsizetype lineEnd = 0;
                    if (!findLine(in, off, lineEnd)) {
                        if (headBytes + (n - off) > limits.maxHeaderBytes)
                            fail(431, headLimitMessage());
                        return off;
                    }
                    headBytes += lineEnd - off + 1;
                    if (headBytes > limits.maxHeaderBytes) {
                        fail(431, headLimitMessage());
                        return off;
                    }
                    const QByteArrayView line = stripCr(in.sliced(off, lineEnd - off));
                    off = lineEnd + 1;
                    if (!firstLineDone) {
                        firstLineDone = true;
                        if (response) {
                            parseStatusLine(line);
                        } else {
                            parseRequestLine(line);
                        }
                    } else if (line.isEmpty()) {
                        if (!finishHead()) return off;
                    } else {
                        parseFieldLine(line, true);
                    }
                    break;
                }
                case Phase::Body:
                case Phase::ChunkData:
                case Phase::UntilEof: {
                    qint64 take = n - off;
                    if (take == 0) return off;
                    if (phase != Phase::UntilEof) {
                        take = qMin(take, remaining);
                    } else if (limits.maxBodyBytes > 0) {
                        // Deliver up to the limit, then fail: the outcome must not depend on how
                        // the bytes were split into reads.
                        take = qMin(take, limits.maxBodyBytes - bodyBytes);
                        if (take == 0) {
                            fail(413, QByteArrayLiteral("response body exceeds ") +
                                          QByteArray::number(limits.maxBodyBytes) + " bytes");
                            return off;
                        }
                    }
                    const QByteArrayView piece = in.sliced(off, qsizetype(take));
                    off += qsizetype(take);
                    bodyBytes += take;
                    if (phase != Phase::UntilEof) remaining -= take;
                    if (!emitBody(piece)) return off;
                    if (phase == Phase::Body && remaining == 0) {
                        markComplete();
                        return off;
                    }
                    if (phase == Phase::ChunkData && remaining == 0) phase = Phase::ChunkDataEnd;
                    break;
                }
                case Phase::ChunkSize: {
                    qsizetype lineEnd = 0;
                    if (!findLine(in, off, lineEnd)) {
                        if (n - off > limits.maxChunkLineBytes)
                            fail(400, QByteArrayLiteral("chunk-size line too long"));
                        return off;
                    }
                    if (lineEnd - off > limits.maxChunkLineBytes) {
                        fail(400, QByteArrayLiteral("chunk-size line too long"));
                        return off;
                    }
                    const QByteArrayView line = stripCr(in.sliced(off, lineEnd - off));
                    off = lineEnd + 1;
                    parseChunkSize(line);
                    break;
                }
                case Phase::ChunkDataEnd: {
                    if (off == n) return off;
                    if (in[off] == '\n') {
                        off += 1;
                    } else if (in[off] == '\r') {
                        if (off + 1 == n) return off;
                        if (in[off + 1] != '\n') {
                            fail(400, QByteArrayLiteral("missing CRLF after chunk data"));
                            return off;
                        }
                        off += 2;
                    } else {
                        fail(400, QByteArrayLiteral("missing CRLF after chunk data"));
                        return off;
                    }
                    phase = Phase::ChunkSize;
                    break;
                }
                case Phase::Trailers: {
                    qsizetype lineEnd = 0;
                    if (!findLine(in, off, lineEnd)) {
                        if (trailerBytes + (n - off) > limits.maxHeaderBytes)
                            fail(431, QByteArrayLiteral("trailer section too large"));
                        return off;
                    }
                    trailerBytes += lineEnd - off + 1;
                    if (trailerBytes > limits.maxHeaderBytes) {
                        fail(431, QByteArrayLiteral("trailer section too large"));
                        return off;
                    }
                    const QByteArrayView line = stripCr(in.sliced(off, lineEnd - off));
                    off = lineEnd + 1;
                    if (line.isEmpty()) {
                        markComplete();
                        return off;
                    }
                    // Trailers are read and discarded, but still have to be well-formed.
                    parseFieldLine(line, false);
                    break;
                }
                case Phase::Done: {
                    if (!response) {
                        if (paused) return off;
                        beginMessage();
                        break;
                    }
                    while (off < n && (in[off] == '\r' || in[off] == '\n')) ++off;
                    if (off < n)
                        fail(502, QByteArrayLiteral(
                                      "upstream sent bytes after the end of the response"));
                    return off;
                }
            }
        }
        return off;
    }

    void parseRequestLine(QByteArrayView line) {
        const qsizetype sp1 = line.indexOf(' ');
        if (sp1 <= 0) return fail(400, QByteArrayLiteral("malformed request line"));
        const QByteArrayView method = line.first(sp1);
        const QByteArrayView rest = line.sliced(sp1 + 1);
        const qsizetype sp2 = rest.indexOf(' ');
        if (sp2 <= 0) return fail(400, QByteArrayLiteral("malformed request line"));
        const QByteArrayView target = rest.first(sp2);
        const QByteArrayView version = rest.sliced(sp2 + 1);
        if (!isToken(method)) return fail(400, QByteArrayLiteral("invalid request method"));
        int major = 0;
        int minor = 0;
        if (!parseVersion(version, major, minor))
            return fail(400, QByteArrayLiteral("malformed HTTP version"));
        if (major != 1 || minor > 1)
            return fail(505, QByteArrayLiteral("only HTTP/1.0 and HTTP/1.1 are supported"));
        for (const char c : target) {
            const auto u = static_cast<unsigned char>(c);
            if (u <= 0x20 || u == 0x7f)
                return fail(400, QByteArrayLiteral("invalid character in request target"));
        }
        if (method == "CONNECT") {
            if (!isValidAuthorityForm(target))
                return fail(400, QByteArrayLiteral("CONNECT needs a host:port target"));
        } else if (target.front() == '/') {
            // origin-form
        } else if (target == "*") {
            if (method != "OPTIONS")
                return fail(400, QByteArrayLiteral("asterisk target is only valid for OPTIONS"));
        } else if (!isValidAbsoluteForm(target)) {
            return fail(400, QByteArrayLiteral("invalid request target"));
        }
        request.method = method.toByteArray();
        request.target = target.toByteArray();
        request.versionMinor = minor;
    }

    void parseStatusLine(QByteArrayView line) {
        int major = 0;
        int minor = 0;
        if (line.size() < 12 || !parseVersion(line.first(8), major, minor) || line[8] != ' ' ||
            !isDigit(line[9]) || !isDigit(line[10]) || !isDigit(line[11]) ||
            (line.size() > 12 && line[12] != ' ')) {
            return fail(502, QByteArrayLiteral("malformed status line from upstream"));
        }
        if (major != 1 || minor > 1)
            return fail(502, QByteArrayLiteral("unsupported HTTP version from upstream"));
        const int status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
        if (status < 100)
            return fail(502, QByteArrayLiteral("malformed status line from upstream"));
        const QByteArrayView reason = line.size() > 12 ? line.sliced(13) : QByteArrayView();
        if (!isFieldText(reason))
            return fail(502, QByteArrayLiteral("invalid character in reason phrase"));
        responseHead.versionMinor = minor;
        responseHead.status = status;
        responseHead.reason = reason.toByteArray();
    }

    void parseFieldLine(QByteArrayView line, bool store) {
        if (isOws(line.front()))
            return fail(400, QByteArrayLiteral("obsolete line folding is not accepted"));
        int &count = store ? headerCount : trailerCount;
        if (++count > limits.maxHeaderCount) {
            return fail(431, QByteArrayLiteral("more than ") +
                                 QByteArray::number(limits.maxHeaderCount) + " header fields");
        }
        const qsizetype colon = line.indexOf(':');
        if (colon < 0) return fail(400, QByteArrayLiteral("header line without a colon"));
        const QByteArrayView name = line.first(colon);
        // Also refuses "Name : value": whitespace before the colon is a smuggling vector.
        if (!isToken(name)) return fail(400, QByteArrayLiteral("invalid header name"));
        const QByteArrayView value = trimOws(line.sliced(colon + 1));
        if (!isFieldText(value))
            return fail(400, QByteArrayLiteral("invalid character in header value"));
        if (!store) return;
        HttpHeaders &headers = response ? responseHead.headers : request.headers;
        headers.add(name.toByteArray(), value.toByteArray());
    }

    void parseChunkSize(QByteArrayView line) {
        constexpr qint64 kMax = std::numeric_limits<qint64>::max();
        qsizetype i = 0;
        qint64 size = 0;
        for (; i < line.size(); ++i) {
            const char c = line[i];
            int digit = 0;
            if (isDigit(c)) {
                digit = c - '0';
            } else if (c >= 'a' && c <= 'f') {
                digit = c - 'a' + 10;
            } else if (c >= 'A' && c <= 'F') {
                digit = c - 'A' + 10;
            } else {
                break;
            }
            if (size > (kMax - digit) / 16) return fail(413, QByteArrayLiteral("chunk too large"));
            size = size * 16 + digit;
        }
        if (i == 0) return fail(400, QByteArrayLiteral("invalid chunk size"));
        QByteArrayView rest = line.sliced(i);
        while (!rest.isEmpty() && isOws(rest.front())) rest = rest.sliced(1);
        // Chunk extensions carry nothing we use; they are skipped but must not smuggle controls.
        if (!rest.isEmpty() && (rest.front() != ';' || !isFieldText(rest)))
            return fail(400, QByteArrayLiteral("invalid chunk size"));
        if (size == 0) {
            phase = Phase::Trailers;
            scanFrom = 0;
            return;
        }
        if (limits.maxBodyBytes > 0 && size > limits.maxBodyBytes - bodyBytes) {
            return fail(413, (response ? QByteArrayLiteral("response body exceeds ")
                                       : QByteArrayLiteral("request body exceeds ")) +
                                 QByteArray::number(limits.maxBodyBytes) + " bytes");
        }
        remaining = size;
        phase = Phase::ChunkData;
    }

    // Decides how the body is delimited (RFC 9112 6.3) once the blank line ending the head is
    // read. Returns false when processing must stop.
    bool finishHead() { return response ? finishResponseHead() : finishRequestHead(); }

    bool finishRequestHead() {
        const HttpHeaders &headers = request.headers;
        int hosts = 0;
        for (const HttpHeaders::Entry &e : headers.entries()) {
            if (equalsIgnoreCase(e.first, "Host")) ++hosts;
        }
        if (hosts > 1) {
            fail(400, QByteArrayLiteral("more than one Host header"));
            return false;
        }
        if (hosts == 0 && request.versionMinor >= 1) {
            fail(400, QByteArrayLiteral("HTTP/1.1 request without a Host header"));
            return false;
        }
        // A CONNECT request has no content; what follows is tunnel data.
        if (request.method == "CONNECT") return headDoneWithoutBody();

        const bool hasTe = headers.contains("Transfer-Encoding");
        const bool hasCl = headers.contains("Content-Length");
        if (hasTe) {
            if (hasCl) {
                fail(400, QByteArrayLiteral("both Transfer-Encoding and Content-Length"));
                return false;
            }
            if (request.versionMinor == 0) {
                fail(400, QByteArrayLiteral("Transfer-Encoding in an HTTP/1.0 request"));
                return false;
            }
            switch (transferCoding(headers)) {
                case CodingResult::Chunked:
                    break;
                case CodingResult::Empty:
                    fail(400, QByteArrayLiteral("empty Transfer-Encoding"));
                    return false;
                case CodingResult::Unsupported:
                    fail(501, QByteArrayLiteral("only the chunked transfer coding is supported"));
                    return false;
            }
            chunked = true;
            phase = Phase::ChunkSize;
            scanFrom = 0;
            return emitHead();
        }
        if (hasCl) {
            qint64 length = 0;
            if (!checkContentLength(length)) return false;
            return headDoneWithLength(length);
        }
        return headDoneWithoutBody();
    }

    bool finishResponseHead() {
        const int status = responseHead.status;
        if (status >= 100 && status < 200 && status != 101) {
            // Interim response (100 Continue, 103 Early Hints): skip it, read the next head.
            beginMessage();
            return true;
        }
        finalHeadDone = true;
        if (requestWasHead || status == 101 || status == 204 || status == 304 || status < 200)
            return headDoneWithoutBody();
        const HttpHeaders &headers = responseHead.headers;
        if (headers.contains("Transfer-Encoding")) {
            // Transfer-Encoding overrides Content-Length in a response (RFC 9112 6.3).
            if (transferCoding(headers) != CodingResult::Chunked) {
                fail(502, QByteArrayLiteral("unsupported transfer coding from upstream"));
                return false;
            }
            chunked = true;
            phase = Phase::ChunkSize;
            scanFrom = 0;
            return emitHead();
        }
        if (headers.contains("Content-Length")) {
            qint64 length = 0;
            if (!checkContentLength(length)) return false;
            return headDoneWithLength(length);
        }
        phase = Phase::UntilEof;
        return emitHead();
    }

    bool checkContentLength(qint64 &length) {
        const HttpHeaders &headers = response ? responseHead.headers : request.headers;
        switch (parseContentLength(headers, length)) {
            case LengthResult::Ok:
                break;
            case LengthResult::None:
            case LengthResult::Invalid:
                fail(400, QByteArrayLiteral("invalid Content-Length"));
                return false;
            case LengthResult::Conflict:
                fail(400, QByteArrayLiteral("conflicting Content-Length values"));
                return false;
            case LengthResult::TooLarge:
                length = std::numeric_limits<qint64>::max();
                break;
        }
        // Refuse before any body byte is read, so a client can be answered at once.
        if (limits.maxBodyBytes > 0 && length > limits.maxBodyBytes) {
            fail(413, (response ? QByteArrayLiteral("response body exceeds ")
                                : QByteArrayLiteral("request body exceeds ")) +
                          QByteArray::number(limits.maxBodyBytes) + " bytes");
            return false;
        }
        if (length == std::numeric_limits<qint64>::max()) {
            fail(400, QByteArrayLiteral("Content-Length out of range"));
            return false;
        }
        return true;
    }

    bool headDoneWithLength(qint64 length) {
        contentLength = length;
        remaining = length;
        if (length == 0) return headDoneWithoutBody();
        phase = Phase::Body;
        return emitHead();
    }

    bool headDoneWithoutBody() {
        if (!emitHead()) return false;
        markComplete();
        return false;  // stop here: onMessageComplete is delivered by pump()
    }
};

}  // namespace http_parser_detail

using http_parser_detail::ParserCore;

namespace {

// Keeps the parser state alive for the duration of a public call, so a callback may destroy
// the parser object; the outermost guard is what ownerGone() inspects.
class EntryGuard {
public:
    template <typename T>
    explicit EntryGuard(const std::shared_ptr<T> &state) : m_keep(state), m_core(state.get()) {
        if (!m_core->guard) {
            m_core->guard = &m_keep;
            m_outermost = true;
        }
    }
    ~EntryGuard() {
        if (m_outermost) m_core->guard = nullptr;
    }
    EntryGuard(const EntryGuard &) = delete;
    EntryGuard &operator=(const EntryGuard &) = delete;

    ParserCore &core() const { return *m_core; }

private:
    std::shared_ptr<void> m_keep;
    ParserCore *m_core;
    bool m_outermost = false;
};

}  // namespace

struct HttpRequestParser::State : ParserCore {
    explicit State(HttpParseLimits limits) : ParserCore(false, limits) {}
};

HttpRequestParser::HttpRequestParser(HttpParseLimits limits) : d(std::make_shared<State>(limits)) {}

void HttpRequestParser::setCallbacks(HttpParserCallbacks callbacks) {
    d->setCallbacks(std::move(callbacks));
}

bool HttpRequestParser::feed(QByteArrayView data) {
    const EntryGuard guard(d);
    return guard.core().feed(data);
}

bool HttpRequestParser::resume() {
    const EntryGuard guard(d);
    ParserCore &s = guard.core();
    if (s.error.isError()) return false;
    if (!s.paused) return true;
    s.paused = false;
    // Paused means no parse is running over the buffer (only onMessageComplete can run now).
    s.beginMessage();
    // Inside that callback the running pump() continues with the held bytes itself.
    if (s.depth > 0) return true;
    s.pump({});
    s.drainReentrant();
    return !s.error.isError();
}

bool HttpRequestParser::paused() const {
    return d->paused;
}

const HttpRequestHead &HttpRequestParser::head() const {
    return d->request;
}

const HttpParseError &HttpRequestParser::error() const {
    return d->error;
}

qint64 HttpRequestParser::bodyBytesSoFar() const {
    return d->bodyBytes;
}

bool HttpRequestParser::isChunked() const {
    return d->chunked;
}

qint64 HttpRequestParser::contentLength() const {
    return d->contentLength;
}

bool HttpRequestParser::idle() const {
    return !d->error.isError() && !midMessage() && d->heldBytes() == 0;
}

bool HttpRequestParser::midMessage() const {
    if (d->paused || d->phase == Phase::Done) return d->heldBytes() > 0;
    return d->phase != Phase::Head || d->started;
}

bool HttpRequestParser::expectsContinue() const {
    return d->request.versionMinor >= 1 && d->request.headers.hasToken("Expect", "100-continue");
}

QByteArray HttpRequestParser::takeBuffered() {
    State &s = *d;
    if (!s.paused) return {};
    QByteArray out = s.bufferPos == 0 ? std::exchange(s.buffer, QByteArray())
                                      : QByteArrayView(s.buffer).sliced(s.bufferPos).toByteArray();
    out += s.reentrantInput;
    s.reentrantInput = QByteArray();
    // Safe while paused: no parse runs over the buffer then (inside onMessageComplete the pump
    // has already finished with it).
    s.releaseBuffer();
    return out;
}

struct HttpResponseParser::State : ParserCore {
    explicit State(HttpParseLimits limits) : ParserCore(true, limits) {}
};

HttpResponseParser::HttpResponseParser(HttpParseLimits limits)
    : d(std::make_shared<State>(limits)) {}

void HttpResponseParser::setCallbacks(HttpParserCallbacks callbacks) {
    d->setCallbacks(std::move(callbacks));
}

void HttpResponseParser::reset(bool requestWasHead) {
    State &s = *d;
    ++s.generation;
    s.beginMessage();
    s.error = HttpParseError();
    s.paused = false;
    s.receivedAny = false;
    s.requestWasHead = requestWasHead;
    s.reentrantInput = QByteArray();
    s.releaseBuffer();
}

bool HttpResponseParser::feed(QByteArrayView data) {
    const EntryGuard guard(d);
    return guard.core().feed(data);
}

bool HttpResponseParser::finishEof() {
    const EntryGuard guard(d);
    ParserCore &s = guard.core();
    if (s.error.isError()) return false;
    switch (s.phase) {
        case Phase::Done:
            return true;
        case Phase::UntilEof:
            s.phase = Phase::Done;
            s.emitComplete();
            return !s.error.isError();
        case Phase::Head:
            s.fail(502, s.receivedAny ? QByteArrayLiteral("upstream closed the connection mid-head")
                                      : QByteArrayLiteral(
                                            "upstream closed the connection before responding"));
            return false;
        case Phase::Body:
        case Phase::ChunkSize:
        case Phase::ChunkData:
        case Phase::ChunkDataEnd:
        case Phase::Trailers:
            break;
    }
    s.fail(502, QByteArrayLiteral("upstream closed the connection mid-body"));
    return false;
}

const HttpResponseHead &HttpResponseParser::head() const {
    return d->responseHead;
}

const HttpParseError &HttpResponseParser::error() const {
    return d->error;
}

bool HttpResponseParser::complete() const {
    return d->phase == Phase::Done && d->finalHeadDone && !d->completePending;
}

bool HttpResponseParser::headComplete() const {
    return d->finalHeadDone;
}

}  // namespace airlock
