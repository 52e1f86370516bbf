// libFuzzer target for the HTTP/1.1 parsers. Each input is parsed whole and in splits chosen
// by the input itself; the reported events must be identical and within the limits.
//
// Input layout: byte 0 = flags (bits 0-2: number of split-size bytes that follow; bit 6: the
// response answers a HEAD request; bit 7: also feed byte by byte), then the split sizes, then
// the bytes given to both the request and the response parser.
#include "core/http/http_parser.h"

#include <QByteArray>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

using namespace airlock;

namespace {

[[noreturn]] void violated(const char *what, const QByteArray &a = {}, const QByteArray &b = {}) {
    std::fprintf(stderr, "invariant violated: %s\n--- a ---\n%s\n--- b ---\n%s\n", what,
                 a.constData(), b.constData());
    std::abort();
}

#define FUZZ_CHECK(cond)              \
    do {                              \
        if (!(cond)) violated(#cond); \
    } while (0)

// Small limits so the fuzzer reaches every limit check quickly.
HttpParseLimits fuzzLimits() {
    HttpParseLimits l;
    l.maxHeaderBytes = 2048;
    l.maxHeaderCount = 16;
    l.maxBodyBytes = 4096;
    l.maxChunkLineBytes = 64;
    return l;
}

// Bounds the work per input when it holds thousands of tiny pipelined requests.
constexpr int kMaxMessagesPerInput = 64;

class Splitter {
public:
    Splitter(const uint8_t *sizes, size_t count) : m_sizes(sizes), m_count(count) {}
    // Next piece length: the split bytes in turn (1..256), or everything when there are none.
    size_t next(size_t left) {
        if (m_count == 0) return left;
        const size_t n = size_t(m_sizes[m_index++ % m_count]) + 1;
        return n < left ? n : left;
    }

private:
    const uint8_t *m_sizes;
    size_t m_count;
    size_t m_index = 0;
};

enum class Feeding { Whole, Split, ByteByByte };

class RequestRun {
public:
    RequestRun(bool resumeInCallback)
        : m_parser(fuzzLimits()), m_resumeInCallback(resumeInCallback) {
        m_parser.setCallbacks({
            [this] { onHead(); },
            [this](QByteArrayView data) { onBody(data); },
            [this] { onComplete(); },
        });
    }

    QByteArray run(QByteArrayView input, Feeding feeding, Splitter splitter) {
        qsizetype off = 0;
        while (off < input.size()) {
            qsizetype len = input.size() - off;
            if (feeding == Feeding::ByteByByte) len = 1;
            if (feeding == Feeding::Split) len = qsizetype(splitter.next(size_t(len)));
            const bool ok = m_parser.feed(input.sliced(off, len));
            FUZZ_CHECK(ok == !m_parser.error().isError());
            off += len;
            if (!m_resumeInCallback) resumeOutside();
        }
        const HttpParseError &e = m_parser.error();
        if (e.isError()) {
            FUZZ_CHECK(e.status == 400 || e.status == 413 || e.status == 431 || e.status == 501 ||
                       e.status == 505);
            FUZZ_CHECK(!e.message.isEmpty());
            m_log += "error " + QByteArray::number(e.status) + ' ' + e.message + '\n';
        } else {
            m_log += m_parser.midMessage() ? "mid\n" : "between\n";
        }
        m_log += "body so far " + QByteArray::number(m_parser.bodyBytesSoFar()) + '\n';
        return m_log;
    }

private:
    void resumeOutside() {
        while (m_parser.paused() && m_messages < kMaxMessagesPerInput) {
            if (!m_parser.resume()) break;
        }
    }

    void onHead() {
        FUZZ_CHECK(!m_parser.paused());
        FUZZ_CHECK(!m_parser.error().isError());
        const HttpRequestHead &h = m_parser.head();
        FUZZ_CHECK(!h.method.isEmpty() && !h.target.isEmpty());
        FUZZ_CHECK(h.versionMinor == 0 || h.versionMinor == 1);
        FUZZ_CHECK(h.headers.size() <= fuzzLimits().maxHeaderCount);
        FUZZ_CHECK(m_parser.contentLength() <= fuzzLimits().maxBodyBytes);
        FUZZ_CHECK(!(m_parser.isChunked() && m_parser.contentLength() >= 0));
        m_log += "head " + h.method + ' ' + h.target + ' ' + QByteArray::number(h.versionMinor) +
                 " cl " + QByteArray::number(m_parser.contentLength()) +
                 (m_parser.isChunked() ? " chunked" : "") + '\n';
        for (const auto &e : h.headers.entries()) {
            // Names are tokens and values carry no line breaks: nothing can be injected when
            // the head is serialized again.
            FUZZ_CHECK(!e.first.isEmpty() && !e.first.contains(':') && !e.first.contains(' '));
            FUZZ_CHECK(!e.second.contains('\r') && !e.second.contains('\n'));
            m_log += "  " + e.first + ": " + e.second + '\n';
        }
        m_body.clear();
    }

    void onBody(QByteArrayView data) {
        FUZZ_CHECK(!data.isEmpty());
        m_body += data;
        FUZZ_CHECK(m_parser.bodyBytesSoFar() == m_body.size());
        FUZZ_CHECK(m_body.size() <= fuzzLimits().maxBodyBytes);
        if (m_parser.contentLength() >= 0) FUZZ_CHECK(m_body.size() <= m_parser.contentLength());
    }

    void onComplete() {
        FUZZ_CHECK(m_parser.paused());
        FUZZ_CHECK(!m_parser.error().isError());
        if (m_parser.contentLength() >= 0) FUZZ_CHECK(m_body.size() == m_parser.contentLength());
        m_log += "body " + QByteArray::number(m_body.size()) + ' ' + m_body + "\ncomplete\n";
        m_body.clear();
        ++m_messages;
        if (m_resumeInCallback && m_messages < kMaxMessagesPerInput) m_parser.resume();
    }

    HttpRequestParser m_parser;
    bool m_resumeInCallback;
    QByteArray m_log;
    QByteArray m_body;
    int m_messages = 0;
};

class ResponseRun {
public:
    explicit ResponseRun(bool requestWasHead) : m_parser(fuzzLimits()) {
        m_parser.reset(requestWasHead);
        m_parser.setCallbacks({
            [this] {
                FUZZ_CHECK(m_parser.headComplete());
                FUZZ_CHECK(!m_parser.complete());
                const HttpResponseHead &h = m_parser.head();
                FUZZ_CHECK(h.status >= 200 || h.status == 101);
                m_log += "head " + QByteArray::number(h.status) + ' ' + h.reason + '\n';
                for (const auto &e : h.headers.entries())
                    m_log += "  " + e.first + ": " + e.second + '\n';
            },
            [this](QByteArrayView data) {
                FUZZ_CHECK(!data.isEmpty());
                FUZZ_CHECK(m_parser.headComplete());
                m_body += data;
                FUZZ_CHECK(m_body.size() <= fuzzLimits().maxBodyBytes);
            },
            [this] {
                FUZZ_CHECK(m_parser.complete());
                FUZZ_CHECK(++m_completions == 1);
                m_log += "complete\n";
            },
        });
    }

    QByteArray run(QByteArrayView input, Feeding feeding, Splitter splitter) {
        qsizetype off = 0;
        while (off < input.size()) {
            qsizetype len = input.size() - off;
            if (feeding == Feeding::ByteByByte) len = 1;
            if (feeding == Feeding::Split) len = qsizetype(splitter.next(size_t(len)));
            m_parser.feed(input.sliced(off, len));
            off += len;
        }
        const bool ok = m_parser.finishEof();
        FUZZ_CHECK(ok == !m_parser.error().isError());
        // A finished connection either delivered a whole response or reported why not.
        FUZZ_CHECK(m_parser.complete() || m_parser.error().isError());
        if (m_parser.complete()) FUZZ_CHECK(m_parser.headComplete());
        if (m_parser.error().isError()) FUZZ_CHECK(m_parser.error().status == 502);
        m_log += "body " + QByteArray::number(m_body.size()) + ' ' + m_body + '\n';
        m_log += "error " + QByteArray::number(m_parser.error().status) + ' ' +
                 m_parser.error().message + '\n';
        return m_log;
    }

private:
    HttpResponseParser m_parser;
    QByteArray m_log;
    QByteArray m_body;
    int m_completions = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const uint8_t flags = data[0];
    size_t splitCount = flags & 0x07;
    if (splitCount > size - 1) splitCount = size - 1;
    const uint8_t *splitSizes = data + 1;
    const QByteArrayView input(reinterpret_cast<const char *>(data + 1 + splitCount),
                               qsizetype(size - 1 - splitCount));
    const bool requestWasHead = flags & 0x40;
    const bool byteByByte = flags & 0x80;

    const QByteArray wholeInCallback =
        RequestRun(true).run(input, Feeding::Whole, Splitter(splitSizes, 0));
    const QByteArray splitOutside =
        RequestRun(false).run(input, Feeding::Split, Splitter(splitSizes, splitCount));
    if (wholeInCallback != splitOutside)
        violated("request: split feed differs from whole feed", wholeInCallback, splitOutside);
    if (byteByByte) {
        const QByteArray bytes =
            RequestRun(true).run(input, Feeding::ByteByByte, Splitter(splitSizes, 0));
        if (bytes != wholeInCallback)
            violated("request: byte-by-byte feed differs", wholeInCallback, bytes);
    }

    const QByteArray wholeResponse =
        ResponseRun(requestWasHead).run(input, Feeding::Whole, Splitter(splitSizes, 0));
    const QByteArray splitResponse =
        ResponseRun(requestWasHead).run(input, Feeding::Split, Splitter(splitSizes, splitCount));
    if (wholeResponse != splitResponse)
        violated("response: split feed differs from whole feed", wholeResponse, splitResponse);
    if (byteByByte) {
        const QByteArray bytes =
            ResponseRun(requestWasHead).run(input, Feeding::ByteByByte, Splitter(splitSizes, 0));
        if (bytes != wholeResponse)
            violated("response: byte-by-byte feed differs", wholeResponse, bytes);
    }
    return 0;
}
