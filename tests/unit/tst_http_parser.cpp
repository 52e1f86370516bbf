// Tests for the incremental HTTP/1.1 request and response parsers: framing, limits,
// smuggling defences, pipelining, and that every split of the input gives the same result.
#include "core/http/http_parser.h"

#include <QtTest>

#include <memory>

using namespace airlock;

Q_DECLARE_METATYPE(airlock::HttpParseLimits)

namespace {

HttpParseLimits makeLimits(qint64 headerBytes, int headerCount, qint64 bodyBytes,
                           qint64 chunkLineBytes) {
    HttpParseLimits l;
    l.maxHeaderBytes = headerBytes;
    l.maxHeaderCount = headerCount;
    l.maxBodyBytes = bodyBytes;
    l.maxChunkLineBytes = chunkLineBytes;
    return l;
}

// Records what a request parser reports as one text (body pieces joined per message), so that
// runs over differently split input can be compared. Resumes from inside onMessageComplete,
// the way a server that answers at once would.
struct RequestRecorder {
    explicit RequestRecorder(HttpParseLimits limits = {}, bool resumeInCallback = true)
        : parser(limits) {
        parser.setCallbacks({
            [this] {
                const HttpRequestHead &h = parser.head();
                log += "head " + h.method + ' ' + h.target + " 1." +
                       QByteArray::number(h.versionMinor) +
                       " cl=" + QByteArray::number(parser.contentLength()) +
                       (parser.isChunked() ? " chunked" : "") + '\n';
                for (const auto &e : h.headers.entries())
                    log += "  " + e.first + '=' + e.second + '\n';
                heads.append(h);
            },
            [this](QByteArrayView data) {
                body += data;
                ++bodyCalls;
            },
            [this, resumeInCallback] {
                QCOMPARE(parser.bodyBytesSoFar(), qint64(body.size()));
                log += "body[" + body + "]\ncomplete\n";
                bodies.append(body);
                body.clear();
                ++completed;
                if (resumeInCallback) parser.resume();
            },
        });
    }

    void feed(QByteArrayView data) { parser.feed(data); }

    QByteArray finish() {
        QByteArray out = log;
        if (!body.isEmpty()) out += "partial[" + body + "]\n";
        if (parser.error().isError())
            out += "error " + QByteArray::number(parser.error().status) + ' ' +
                   parser.error().message + '\n';
        return out;
    }

    HttpRequestParser parser;
    QByteArray log;
    QByteArray body;
    QList<HttpRequestHead> heads;
    QList<QByteArray> bodies;
    int completed = 0;
    int bodyCalls = 0;
};

struct ResponseRecorder {
    explicit ResponseRecorder(HttpParseLimits limits = {}, bool requestWasHead = false)
        : parser(limits) {
        parser.reset(requestWasHead);
        parser.setCallbacks({
            [this] {
                const HttpResponseHead &h = parser.head();
                log += "head " + QByteArray::number(h.status) + ' ' + h.reason + " 1." +
                       QByteArray::number(h.versionMinor) + '\n';
                for (const auto &e : h.headers.entries())
                    log += "  " + e.first + '=' + e.second + '\n';
                ++heads;
            },
            [this](QByteArrayView data) { body += data; },
            [this] {
                log += "body[" + body + "]\ncomplete\n";
                ++completed;
            },
        });
    }

    QByteArray finish(bool eof) {
        if (eof) parser.finishEof();
        QByteArray out = log;
        if (!body.isEmpty() && completed == 0) out += "partial[" + body + "]\n";
        if (parser.error().isError())
            out += "error " + QByteArray::number(parser.error().status) + ' ' +
                   parser.error().message + '\n';
        return out;
    }

    HttpResponseParser parser;
    QByteArray log;
    QByteArray body;
    int heads = 0;
    int completed = 0;
};

QByteArray parseRequestInPieces(const QByteArray &input, const QList<qsizetype> &cuts,
                                const HttpParseLimits &limits) {
    RequestRecorder r(limits);
    qsizetype from = 0;
    for (qsizetype cut : cuts) {
        r.feed(QByteArrayView(input).sliced(from, cut - from));
        from = cut;
    }
    r.feed(QByteArrayView(input).sliced(from));
    return r.finish();
}

QByteArray parseResponseInPieces(const QByteArray &input, const QList<qsizetype> &cuts,
                                 const HttpParseLimits &limits, bool head, bool eof) {
    ResponseRecorder r(limits, head);
    qsizetype from = 0;
    for (qsizetype cut : cuts) {
        r.parser.feed(QByteArrayView(input).sliced(from, cut - from));
        from = cut;
    }
    r.parser.feed(QByteArrayView(input).sliced(from));
    return r.finish(eof);
}

// Whole input, every single split, every pair of splits (small inputs) and byte by byte.
template <typename Parse>
void checkEverySplitMatches(const QByteArray &input, const QByteArray &expected, Parse parse) {
    for (qsizetype i = 0; i <= input.size(); ++i) {
        const QByteArray got = parse(input, {i});
        if (got != expected) {
            qWarning("split at %lld differs:\n%s\nexpected:\n%s", qlonglong(i), got.constData(),
                     expected.constData());
            QFAIL("single split gave a different result");
        }
    }
    if (input.size() <= 200) {
        for (qsizetype i = 0; i <= input.size(); ++i) {
            for (qsizetype j = i; j <= input.size(); ++j) {
                if (parse(input, {i, j}) != expected) {
                    qWarning("splits at %lld,%lld differ", qlonglong(i), qlonglong(j));
                    QFAIL("double split gave a different result");
                }
            }
        }
    }
    QList<qsizetype> everyByte;
    for (qsizetype i = 1; i < input.size(); ++i) everyByte.append(i);
    QCOMPARE(parse(input, everyByte), expected);
}

const QByteArray kSimpleGet =
    "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1:8484\r\n"
    "User-Agent: test\r\n\r\n";
const QByteArray kPostWithLength =
    "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
    "Content-Type: application/json\r\nContent-Length: 17\r\n\r\n"
    "{\"model\":\"gpt-4\"}";
const QByteArray kChunkedWithTrailers =
    "POST /v1/messages HTTP/1.1\r\nHost: x\r\n"
    "Transfer-Encoding: chunked\r\n\r\n"
    "5;name=value\r\nhello\r\n"
    "1 ; a=\"b\"\r\n,\r\n"
    "A\r\n0123456789\r\n"
    "0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n";

}  // namespace

class TstHttpParser : public QObject {
    Q_OBJECT

private slots:
    // Requests
    void parsesSimpleGet();
    void parsesPostBodyByContentLength();
    void decodesChunkedBodyIgnoringExtensionsAndTrailers();
    void toleratesBareLfLineEndings();
    void ignoresEmptyLinesBeforeRequestLine();
    void trimsWhitespaceAroundHeaderValues();
    void keepsHeaderOrderAndSpelling();
    void pausesAfterEachPipelinedRequestUntilResume();
    void buffersInputFedWhilePaused();
    void resumeInsideCallbackParsesNextRequest();
    void givesSameResultForEverySplitOfRequests_data();
    void givesSameResultForEverySplitOfRequests();
    void deliversContentLengthBodyAsSlicesOfFedBytes();
    void rejectsHeadLargerThanLimitWith431();
    void rejectsUnterminatedHeadLargerThanLimitWith431();
    void rejectsTooManyHeadersWith431();
    void rejectsContentLengthAboveLimitBeforeBodyWith413();
    void rejectsChunkedBodyAboveLimitWith413();
    void rejectsOverlongChunkSizeLineWith400();
    void rejectsTransferEncodingWithContentLength();
    void rejectsConflictingContentLengths_data();
    void rejectsConflictingContentLengths();
    void acceptsRepeatedIdenticalContentLength();
    void rejectsMalformedContentLength_data();
    void rejectsMalformedContentLength();
    void rejectsTransferCodingOtherThanChunkedWith501_data();
    void rejectsTransferCodingOtherThanChunkedWith501();
    void rejectsTransferEncodingInHttp10();
    void rejectsInvalidHeaderNames_data();
    void rejectsInvalidHeaderNames();
    void rejectsObsoleteLineFolding();
    void rejectsControlCharactersInHeaderValue();
    void rejectsMalformedRequestLines_data();
    void rejectsMalformedRequestLines();
    void rejectsUnsupportedHttpVersionWith505_data();
    void rejectsUnsupportedHttpVersionWith505();
    void rejectsMissingOrDuplicateHost();
    void rejectsMalformedChunkFraming_data();
    void rejectsMalformedChunkFraming();
    void stopsParsingAfterError();
    void parsesConnectAsBodylessAndKeepsTunnelBytes();
    void parsesAbsoluteFormTargetForForwardProxy();
    void acceptsHttp10Request();
    void reportsExpectContinue();
    void reportsIdleAndMidMessage();
    void feedFromInsideCallbackIsParsedAfterCurrentInput();
    void survivesParserDestroyedInsideCallback();

    // Responses
    void parsesResponseWithContentLength();
    void parsesChunkedResponse();
    void readsCloseDelimitedBodyUntilEof();
    void responseToHeadHasNoBody();
    void responses204And304HaveNoBody();
    void skipsInterimContinueResponse();
    void reportsEofMidBodyAsError_data();
    void reportsEofMidBodyAsError();
    void reportsEofBeforeResponseAsError();
    void rejectsBytesAfterCompleteResponse();
    void resetPreparesForNextResponse();
    void rejectsMalformedResponsesWith502_data();
    void rejectsMalformedResponsesWith502();
    void rejectsResponseBodyAboveLimit();
    void givesSameResultForEverySplitOfResponses_data();
    void givesSameResultForEverySplitOfResponses();
};

void TstHttpParser::parsesSimpleGet() {
    RequestRecorder r;
    r.feed(kSimpleGet);
    QVERIFY(!r.parser.error().isError());
    QCOMPARE(r.completed, 1);
    const HttpRequestHead &h = r.heads.first();
    QCOMPARE(h.method, QByteArray("GET"));
    QCOMPARE(h.target, QByteArray("/v1/models"));
    QCOMPARE(h.versionMinor, 1);
    QCOMPARE(h.headers.value("host"), QByteArray("127.0.0.1:8484"));
    QCOMPARE(h.headers.value("user-agent"), QByteArray("test"));
    QVERIFY(r.bodies.first().isEmpty());
    QCOMPARE(r.bodyCalls, 0);
    QCOMPARE(r.parser.contentLength(), qint64(-1));
    QVERIFY(!r.parser.isChunked());
}

void TstHttpParser::parsesPostBodyByContentLength() {
    RequestRecorder r({}, false);
    QVERIFY(r.parser.feed(kPostWithLength));
    QCOMPARE(r.completed, 1);
    QVERIFY(r.parser.paused());
    QCOMPARE(r.parser.head().method, QByteArray("POST"));
    QCOMPARE(r.parser.contentLength(), qint64(17));
    QCOMPARE(r.parser.bodyBytesSoFar(), qint64(17));
    QCOMPARE(r.bodies.first(), QByteArray("{\"model\":\"gpt-4\"}"));
}

void TstHttpParser::decodesChunkedBodyIgnoringExtensionsAndTrailers() {
    RequestRecorder r({}, false);
    QVERIFY(r.parser.feed(kChunkedWithTrailers));
    QCOMPARE(r.completed, 1);
    QVERIFY(r.parser.isChunked());
    QCOMPARE(r.parser.contentLength(), qint64(-1));
    QCOMPARE(r.bodies.first(), QByteArray("hello,0123456789"));
    QCOMPARE(r.parser.bodyBytesSoFar(), qint64(16));
    // Trailers are discarded, not merged into the head.
    QVERIFY(!r.parser.head().headers.contains("X-Checksum"));
}

void TstHttpParser::toleratesBareLfLineEndings() {
    RequestRecorder r;
    r.feed(
        "POST /a HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n"
        "GET /b HTTP/1.1\nHost: y\n\n");
    QVERIFY2(!r.parser.error().isError(), r.parser.error().message.constData());
    QCOMPARE(r.completed, 2);
    QCOMPARE(r.bodies.at(0), QByteArray("abc"));
    QCOMPARE(r.heads.at(1).target, QByteArray("/b"));
    QCOMPARE(r.heads.at(1).headers.value("Host"), QByteArray("y"));
}

void TstHttpParser::ignoresEmptyLinesBeforeRequestLine() {
    RequestRecorder r;
    r.feed("\r\n\r\n" + kSimpleGet);
    QVERIFY(!r.parser.error().isError());
    QCOMPARE(r.completed, 1);
    QCOMPARE(r.heads.first().target, QByteArray("/v1/models"));
}

void TstHttpParser::trimsWhitespaceAroundHeaderValues() {
    RequestRecorder r;
    r.feed("GET / HTTP/1.1\r\nHost:   a b \t\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n");
    QCOMPARE(r.completed, 1);
    const HttpHeaders &h = r.heads.first().headers;
    QCOMPARE(h.value("Host"), QByteArray("a b"));
    QVERIFY(h.contains("X-Empty"));
    QCOMPARE(h.value("X-Empty"), QByteArray());
    QCOMPARE(h.value("X-Tab"), QByteArray("v"));
}

void TstHttpParser::keepsHeaderOrderAndSpelling() {
    RequestRecorder r;
    r.feed("GET / HTTP/1.1\r\nhost: a\r\nX-B: 1\r\nx-b: 2\r\n\r\n");
    const auto &entries = r.heads.first().headers.entries();
    QCOMPARE(entries.size(), 3);
    QCOMPARE(entries.at(0), HttpHeaders::Entry("host", "a"));
    QCOMPARE(entries.at(1), HttpHeaders::Entry("X-B", "1"));
    QCOMPARE(entries.at(2), HttpHeaders::Entry("x-b", "2"));
}

void TstHttpParser::pausesAfterEachPipelinedRequestUntilResume() {
    RequestRecorder r({}, false);
    QVERIFY(r.parser.feed(kPostWithLength + kSimpleGet + kChunkedWithTrailers));
    QCOMPARE(r.completed, 1);
    QVERIFY(r.parser.paused());
    // The first request's head stays readable while the server works on it.
    QCOMPARE(r.parser.head().method, QByteArray("POST"));
    QVERIFY(r.parser.midMessage());
    QVERIFY(!r.parser.idle());

    QVERIFY(r.parser.resume());
    QCOMPARE(r.completed, 2);
    QVERIFY(r.parser.paused());
    QCOMPARE(r.parser.head().target, QByteArray("/v1/models"));

    QVERIFY(r.parser.resume());
    QCOMPARE(r.completed, 3);
    QCOMPARE(r.bodies.at(2), QByteArray("hello,0123456789"));
    QVERIFY(r.parser.paused());
    QVERIFY(r.parser.idle());

    QVERIFY(r.parser.resume());
    QVERIFY(!r.parser.paused());
    QVERIFY(r.parser.idle());
    QCOMPARE(r.completed, 3);
}

void TstHttpParser::buffersInputFedWhilePaused() {
    RequestRecorder r({}, false);
    QVERIFY(r.parser.feed(kSimpleGet));
    QVERIFY(r.parser.paused());
    QVERIFY(r.parser.feed(kPostWithLength.left(40)));
    QVERIFY(r.parser.feed(kPostWithLength.mid(40)));
    QCOMPARE(r.completed, 1);
    QCOMPARE(r.heads.size(), 1);
    QVERIFY(r.parser.resume());
    QCOMPARE(r.completed, 2);
    QCOMPARE(r.bodies.at(1), QByteArray("{\"model\":\"gpt-4\"}"));
}

void TstHttpParser::resumeInsideCallbackParsesNextRequest() {
    RequestRecorder r;
    r.feed(kSimpleGet + kPostWithLength + kSimpleGet);
    QCOMPARE(r.completed, 3);
    QVERIFY(!r.parser.paused());
    QCOMPARE(r.heads.at(1).method, QByteArray("POST"));
}

void TstHttpParser::givesSameResultForEverySplitOfRequests_data() {
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<HttpParseLimits>("limits");
    QTest::addColumn<int>("messages");
    QTest::addColumn<int>("errorStatus");
    const HttpParseLimits defaults;
    const HttpParseLimits tight = makeLimits(96, 4, 12, 10);
    QTest::newRow("simple get") << kSimpleGet << defaults << 1 << 0;
    QTest::newRow("post content-length") << kPostWithLength << defaults << 1 << 0;
    QTest::newRow("chunked with extensions and trailers")
        << kChunkedWithTrailers << defaults << 1 << 0;
    QTest::newRow("pipelined") << kSimpleGet + kPostWithLength + kChunkedWithTrailers + kSimpleGet
                               << defaults << 4 << 0;
    QTest::newRow("bare lf") << QByteArray(
                                    "POST /a HTTP/1.1\nHost: x\nContent-Length: 3\n\nabc"
                                    "POST /b HTTP/1.1\nHost: x\nTransfer-Encoding: "
                                    "chunked\n\n2\nde\n0\n\n")
                             << defaults << 2 << 0;
    QTest::newRow("leading crlf") << "\r\n" + kSimpleGet + "\r\n" + kSimpleGet << defaults << 2
                                  << 0;
    QTest::newRow("te and cl") << QByteArray(
                                      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                                      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                               << defaults << 0 << 400;
    QTest::newRow("obs-fold") << QByteArray("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n")
                              << defaults << 0 << 400;
    QTest::newRow("bad header name after good request")
        << kSimpleGet + "GET / HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n"
        << defaults << 1 << 400;
    QTest::newRow("http/2.0") << QByteArray("GET / HTTP/2.0\r\nHost: x\r\n\r\n") << defaults << 0
                              << 505;
    QTest::newRow("head over limit")
        << kSimpleGet + "GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + QByteArray(70, 'a') + "\r\n\r\n"
        << tight << 1 << 431;
    QTest::newRow("too many headers")
        << QByteArray("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n") << tight
        << 0 << 431;
    QTest::newRow("chunked body over limit")
        << QByteArray(
               "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               "8\r\n01234567\r\n8\r\n01234567\r\n0\r\n\r\n")
        << tight << 0 << 413;
    QTest::newRow("content-length over limit")
        << QByteArray("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\n0123456789abc")
        << tight << 0 << 413;
    QTest::newRow("chunk line too long")
        << QByteArray(
               "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               "1;extension=long\r\na\r\n0\r\n\r\n")
        << tight << 0 << 400;
}

void TstHttpParser::givesSameResultForEverySplitOfRequests() {
    QFETCH(QByteArray, input);
    QFETCH(HttpParseLimits, limits);
    QFETCH(int, messages);
    QFETCH(int, errorStatus);

    RequestRecorder whole(limits);
    whole.feed(input);
    QCOMPARE(whole.completed, messages);
    QCOMPARE(whole.parser.error().status, errorStatus);
    const QByteArray expected = whole.finish();
    checkEverySplitMatches(input, expected,
                           [&](const QByteArray &in, const QList<qsizetype> &cuts) {
                               return parseRequestInPieces(in, cuts, limits);
                           });
}

void TstHttpParser::deliversContentLengthBodyAsSlicesOfFedBytes() {
    const QByteArray head = "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\n\r\n";
    const QByteArray body(3000, 'b');
    HttpRequestParser parser;
    QList<QByteArrayView> pieces;
    parser.setCallbacks({nullptr, [&](QByteArrayView v) { pieces.append(v); }, nullptr});

    // Head and the first body bytes in one read: the body slice points into that read.
    const QByteArray first = head + body.left(1000);
    QVERIFY(parser.feed(first));
    QCOMPARE(pieces.size(), 1);
    QCOMPARE(pieces.at(0).size(), 1000);
    QCOMPARE(pieces.at(0).data(), first.constData() + head.size());

    const QByteArray second = body.mid(1000);
    QVERIFY(parser.feed(second));
    QCOMPARE(pieces.size(), 2);
    QCOMPARE(pieces.at(1).data(), second.constData());
    QCOMPARE(pieces.at(1).size(), 2000);
    QVERIFY(parser.paused());
}

void TstHttpParser::rejectsHeadLargerThanLimitWith431() {
    HttpParseLimits limits;
    limits.maxHeaderBytes = 128;
    const QByteArray big =
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + QByteArray(120, 'v') + "\r\n\r\n";
    RequestRecorder r(limits);
    r.feed(big);
    QCOMPARE(r.parser.error().status, 431);
    QCOMPARE(r.heads.size(), 0);

    // A head just under the limit passes.
    RequestRecorder ok(limits);
    ok.feed("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + QByteArray(80, 'v') + "\r\n\r\n");
    QVERIFY(!ok.parser.error().isError());
    QCOMPARE(ok.completed, 1);
}

void TstHttpParser::rejectsUnterminatedHeadLargerThanLimitWith431() {
    HttpParseLimits limits;
    limits.maxHeaderBytes = 1024;
    RequestRecorder r(limits);
    r.feed("GET / HTTP/1.1\r\nX-Long: ");
    QVERIFY(!r.parser.error().isError());
    // Without a line end the parser must not keep buffering past the limit.
    for (int i = 0; i < 20 && !r.parser.error().isError(); ++i) r.feed(QByteArray(100, 'a'));
    QCOMPARE(r.parser.error().status, 431);
}

void TstHttpParser::rejectsTooManyHeadersWith431() {
    HttpParseLimits limits;
    limits.maxHeaderCount = 3;
    RequestRecorder ok(limits);
    ok.feed("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n");
    QCOMPARE(ok.completed, 1);
    RequestRecorder r(limits);
    r.feed("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
    QCOMPARE(r.parser.error().status, 431);
    QCOMPARE(r.completed, 0);
}

void TstHttpParser::rejectsContentLengthAboveLimitBeforeBodyWith413() {
    HttpParseLimits limits;
    limits.maxBodyBytes = 1000;
    RequestRecorder r(limits);
    // Only the head is sent: the refusal must not wait for the body.
    QVERIFY(!r.parser.feed("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n"));
    QCOMPARE(r.parser.error().status, 413);
    QCOMPARE(r.heads.size(), 0);

    RequestRecorder huge(limits);
    huge.feed("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n");
    QCOMPARE(huge.parser.error().status, 413);

    RequestRecorder ok(limits);
    ok.feed("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + QByteArray(1000, 'x'));
    QCOMPARE(ok.completed, 1);
}

void TstHttpParser::rejectsChunkedBodyAboveLimitWith413() {
    HttpParseLimits limits;
    limits.maxBodyBytes = 10;
    RequestRecorder r(limits);
    r.feed(
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n");
    QCOMPARE(r.parser.error().status, 413);
    QVERIFY(r.parser.bodyBytesSoFar() <= limits.maxBodyBytes);
    QCOMPARE(r.body, QByteArray("abcdef"));
    QCOMPARE(r.completed, 0);

    RequestRecorder huge(limits);
    huge.feed(
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "fffffffffffffffffffff\r\n");
    QCOMPARE(huge.parser.error().status, 413);
}

void TstHttpParser::rejectsOverlongChunkSizeLineWith400() {
    HttpParseLimits limits;
    limits.maxChunkLineBytes = 32;
    const QByteArray head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    RequestRecorder r(limits);
    r.feed(head + "3;" + QByteArray(64, 'e') + "\r\nabc\r\n0\r\n\r\n");
    QCOMPARE(r.parser.error().status, 400);

    // Also when the line never ends.
    RequestRecorder open(limits);
    open.feed(head + "3;");
    QVERIFY(!open.parser.error().isError());
    open.feed(QByteArray(40, 'e'));
    QCOMPARE(open.parser.error().status, 400);

    RequestRecorder ok(limits);
    ok.feed(head + "3;" + QByteArray(20, 'e') + "\r\nabc\r\n0\r\n\r\n");
    QCOMPARE(ok.completed, 1);
}

void TstHttpParser::rejectsTransferEncodingWithContentLength() {
    for (const QByteArray &headers :
         {QByteArray("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
          QByteArray("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")}) {
        RequestRecorder r;
        r.feed("POST / HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n5\r\nhello\r\n0\r\n\r\n");
        QCOMPARE(r.parser.error().status, 400);
        QCOMPARE(r.heads.size(), 0);
    }
}

void TstHttpParser::rejectsConflictingContentLengths_data() {
    QTest::addColumn<QByteArray>("headers");
    QTest::newRow("two lines") << QByteArray("Content-Length: 5\r\nContent-Length: 6\r\n");
    QTest::newRow("list") << QByteArray("Content-Length: 5, 6\r\n");
    QTest::newRow("case") << QByteArray("content-length: 5\r\nCONTENT-LENGTH: 50\r\n");
}

void TstHttpParser::rejectsConflictingContentLengths() {
    QFETCH(QByteArray, headers);
    RequestRecorder r;
    r.feed("POST / HTTP/1.1\r\nHost: x\r\n" + headers + "\r\nhello");
    QCOMPARE(r.parser.error().status, 400);
    QCOMPARE(r.heads.size(), 0);
}

void TstHttpParser::acceptsRepeatedIdenticalContentLength() {
    RequestRecorder r;
    r.feed("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5, 5\r\n\r\nhello");
    QVERIFY(!r.parser.error().isError());
    QCOMPARE(r.completed, 1);
    QCOMPARE(r.bodies.first(), QByteArray("hello"));
}

void TstHttpParser::rejectsMalformedContentLength_data() {
    QTest::addColumn<QByteArray>("value");
    QTest::newRow("letters") << QByteArray("abc");
    QTest::newRow("negative") << QByteArray("-1");
    QTest::newRow("plus") << QByteArray("+5");
    QTest::newRow("hex") << QByteArray("0x5");
    QTest::newRow("empty") << QByteArray("");
    QTest::newRow("inner space") << QByteArray("5 5");
    QTest::newRow("decimal") << QByteArray("5.0");
}

void TstHttpParser::rejectsMalformedContentLength() {
    QFETCH(QByteArray, value);
    RequestRecorder r;
    r.feed("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + value + "\r\n\r\nhello");
    QCOMPARE(r.parser.error().status, 400);
}

void TstHttpParser::rejectsTransferCodingOtherThanChunkedWith501_data() {
    QTest::addColumn<QByteArray>("coding");
    QTest::newRow("gzip") << QByteArray("gzip");
    QTest::newRow("gzip then chunked") << QByteArray("gzip, chunked");
    QTest::newRow("chunked twice") << QByteArray("chunked, chunked");
    QTest::newRow("identity") << QByteArray("identity");
}

void TstHttpParser::rejectsTransferCodingOtherThanChunkedWith501() {
    QFETCH(QByteArray, coding);
    RequestRecorder r;
    r.feed("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + coding + "\r\n\r\n0\r\n\r\n");
    QCOMPARE(r.parser.error().status, 501);

    RequestRecorder ok;
    ok.feed("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:  Chunked \r\n\r\n0\r\n\r\n");
    QCOMPARE(ok.completed, 1);
}

void TstHttpParser::rejectsTransferEncodingInHttp10() {
    RequestRecorder r;
    r.feed("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    QCOMPARE(r.parser.error().status, 400);
}

void TstHttpParser::rejectsInvalidHeaderNames_data() {
    QTest::addColumn<QByteArray>("line");
    QTest::newRow("space inside") << QByteArray("Bad Name: 1");
    QTest::newRow("space before colon") << QByteArray("Content-Length : 5");
    QTest::newRow("tab before colon") << QByteArray("X-A\t: 5");
    QTest::newRow("empty name") << QByteArray(": 1");
    QTest::newRow("parenthesis") << QByteArray("X(a): 1");
    QTest::newRow("slash") << QByteArray("X/a: 1");
    QTest::newRow("control") << QByteArray("X\x01y: 1");
    QTest::newRow("non-ascii") << QByteArray("X\xc3\xa9: 1");
    QTest::newRow("no colon") << QByteArray("JustAName");
    QTest::newRow("bare cr") << QByteArray("X-A\r: 1");
}

void TstHttpParser::rejectsInvalidHeaderNames() {
    QFETCH(QByteArray, line);
    RequestRecorder r;
    r.feed("GET / HTTP/1.1\r\nHost: x\r\n" + line + "\r\n\r\n");
    QCOMPARE(r.parser.error().status, 400);
    QCOMPARE(r.heads.size(), 0);
}

void TstHttpParser::rejectsObsoleteLineFolding() {
    for (const QByteArray &fold : {QByteArray(" folded"), QByteArray("\tfolded")}) {
        RequestRecorder r;
        r.feed("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n" + fold + "\r\n\r\n");
        QCOMPARE(r.parser.error().status, 400);
        QVERIFY(r.parser.error().message.contains("folding"));
    }
}

void TstHttpParser::rejectsControlCharactersInHeaderValue() {
    for (const QByteArray &value :
         {QByteArray("a\rb"), QByteArray("a\0b", 3), QByteArray("a\x7f")}) {
        RequestRecorder r;
        r.feed("GET / HTTP/1.1\r\nHost: x\r\nX-A: " + value + "\r\n\r\n");
        QCOMPARE(r.parser.error().status, 400);
    }
    RequestRecorder ok;
    ok.feed("GET / HTTP/1.1\r\nHost: x\r\nX-A: caf\xc3\xa9 \"q\"\r\n\r\n");
    QCOMPARE(ok.completed, 1);
}

void TstHttpParser::rejectsMalformedRequestLines_data() {
    QTest::addColumn<QByteArray>("line");
    QTest::newRow("no version") << QByteArray("GET /");
    QTest::newRow("double space") << QByteArray("GET  / HTTP/1.1");
    QTest::newRow("space in target") << QByteArray("GET /a b HTTP/1.1");
    QTest::newRow("lowercase version") << QByteArray("GET / http/1.1");
    QTest::newRow("trailing space") << QByteArray("GET / HTTP/1.1 ");
    QTest::newRow("bad method") << QByteArray("G(T / HTTP/1.1");
    QTest::newRow("relative target") << QByteArray("GET v1/models HTTP/1.1");
    QTest::newRow("asterisk for get") << QByteArray("GET * HTTP/1.1");
    QTest::newRow("connect without port") << QByteArray("CONNECT example.com HTTP/1.1");
    QTest::newRow("connect with path") << QByteArray("CONNECT example.com:443/x HTTP/1.1");
    QTest::newRow("absolute without host") << QByteArray("GET http:///x HTTP/1.1");
    QTest::newRow("control in target") << QByteArray("GET /\x01 HTTP/1.1");
    QTest::newRow("leading space") << QByteArray(" GET / HTTP/1.1");
}

void TstHttpParser::rejectsMalformedRequestLines() {
    QFETCH(QByteArray, line);
    RequestRecorder r;
    r.feed(line + "\r\nHost: x\r\n\r\n");
    QCOMPARE(r.parser.error().status, 400);
    QCOMPARE(r.heads.size(), 0);
}

void TstHttpParser::rejectsUnsupportedHttpVersionWith505_data() {
    QTest::addColumn<QByteArray>("version");
    QTest::newRow("2.0") << QByteArray("HTTP/2.0");
    QTest::newRow("0.9") << QByteArray("HTTP/0.9");
    QTest::newRow("1.2") << QByteArray("HTTP/1.2");
    QTest::newRow("3.0") << QByteArray("HTTP/3.0");
}

void TstHttpParser::rejectsUnsupportedHttpVersionWith505() {
    QFETCH(QByteArray, version);
    RequestRecorder r;
    r.feed("GET / " + version + "\r\nHost: x\r\n\r\n");
    QCOMPARE(r.parser.error().status, 505);
}

void TstHttpParser::rejectsMissingOrDuplicateHost() {
    RequestRecorder missing;
    missing.feed("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n");
    QCOMPARE(missing.parser.error().status, 400);
    RequestRecorder twice;
    twice.feed("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n");
    QCOMPARE(twice.parser.error().status, 400);
    RequestRecorder old;
    old.feed("GET / HTTP/1.0\r\n\r\n");
    QCOMPARE(old.completed, 1);
}

void TstHttpParser::rejectsMalformedChunkFraming_data() {
    QTest::addColumn<QByteArray>("body");
    QTest::newRow("no size") << QByteArray("\r\nabc\r\n0\r\n\r\n");
    QTest::newRow("non-hex size") << QByteArray("g\r\nabc\r\n0\r\n\r\n");
    QTest::newRow("negative size") << QByteArray("-3\r\nabc\r\n0\r\n\r\n");
    QTest::newRow("junk after size") << QByteArray("3x\r\nabc\r\n0\r\n\r\n");
    QTest::newRow("missing crlf after data") << QByteArray("3\r\nabcd\r\n0\r\n\r\n");
    QTest::newRow("cr without lf after data") << QByteArray("3\r\nabc\rX0\r\n\r\n");
    QTest::newRow("invalid trailer") << QByteArray("3\r\nabc\r\n0\r\nnot a trailer\r\n\r\n");
    QTest::newRow("control in extension") << QByteArray("3;a=\x01\r\nabc\r\n0\r\n\r\n");
}

void TstHttpParser::rejectsMalformedChunkFraming() {
    QFETCH(QByteArray, body);
    RequestRecorder r;
    r.feed("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body);
    QCOMPARE(r.parser.error().status, 400);
    QCOMPARE(r.completed, 0);
}

void TstHttpParser::stopsParsingAfterError() {
    RequestRecorder r;
    QVERIFY(!r.parser.feed("GET / HTTP/9.9\r\n\r\n"));
    QVERIFY(!r.parser.feed(kSimpleGet));
    QVERIFY(!r.parser.resume());
    QCOMPARE(r.heads.size(), 0);
    QCOMPARE(r.parser.error().status, 505);
    QVERIFY(!r.parser.idle());
}

void TstHttpParser::parsesConnectAsBodylessAndKeepsTunnelBytes() {
    RequestRecorder r({}, false);
    const QByteArray clientHello("\x16\x03\x01\x02\x00rest-of-hello", 18);
    QVERIFY(
        r.parser.feed("CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n"
                      "Content-Length: 5\r\n\r\n" +
                      clientHello));
    QCOMPARE(r.completed, 1);
    QVERIFY(r.parser.paused());
    QCOMPARE(r.parser.head().method, QByteArray("CONNECT"));
    QCOMPARE(r.parser.head().target, QByteArray("api.openai.com:443"));
    QCOMPARE(r.bodies.first(), QByteArray());
    QVERIFY(r.parser.feed("more"));
    QCOMPARE(r.parser.takeBuffered(), clientHello + "more");
    QVERIFY(r.parser.idle());

    RequestRecorder v6;
    v6.feed("CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n");
    QCOMPARE(v6.completed, 1);
}

void TstHttpParser::parsesAbsoluteFormTargetForForwardProxy() {
    RequestRecorder r;
    r.feed(
        "GET http://api.openai.com/v1/models?limit=2 HTTP/1.1\r\nHost: api.openai.com\r\n\r\n"
        "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
    QVERIFY2(!r.parser.error().isError(), r.parser.error().message.constData());
    QCOMPARE(r.completed, 2);
    QCOMPARE(r.heads.at(0).target, QByteArray("http://api.openai.com/v1/models?limit=2"));
    QCOMPARE(r.heads.at(0).path(), QByteArray("/v1/models"));
    QCOMPARE(r.heads.at(0).query(), QByteArray("limit=2"));
    QCOMPARE(r.heads.at(1).target, QByteArray("*"));
}

void TstHttpParser::acceptsHttp10Request() {
    RequestRecorder r;
    r.feed("POST /x HTTP/1.0\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok");
    QCOMPARE(r.completed, 1);
    QCOMPARE(r.heads.first().versionMinor, 0);
    QVERIFY(r.heads.first().keepAlive());
    QCOMPARE(r.bodies.first(), QByteArray("ok"));
}

void TstHttpParser::reportsExpectContinue() {
    HttpRequestParser parser;
    bool sawHead = false;
    bool expected = false;
    parser.setCallbacks({[&] {
                             sawHead = true;
                             expected = parser.expectsContinue();
                         },
                         nullptr, nullptr});
    QVERIFY(
        parser.feed("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\n"
                    "Content-Length: 4\r\n\r\n"));
    QVERIFY(sawHead);
    QVERIFY(expected);
    QVERIFY(!parser.paused());
    QVERIFY(parser.feed("body"));
    QVERIFY(parser.paused());

    HttpRequestParser plain;
    QVERIFY(plain.feed(kSimpleGet));
    QVERIFY(!plain.expectsContinue());
}

void TstHttpParser::reportsIdleAndMidMessage() {
    HttpRequestParser parser;
    QVERIFY(parser.idle());
    QVERIFY(!parser.midMessage());
    QVERIFY(parser.feed("\r\n"));
    QVERIFY(parser.idle());
    QVERIFY(parser.feed("GET / HT"));
    QVERIFY(parser.midMessage());
    QVERIFY(!parser.idle());
    QVERIFY(parser.feed("TP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nab"));
    QVERIFY(parser.midMessage());
    QCOMPARE(parser.bodyBytesSoFar(), qint64(2));
    QVERIFY(parser.feed("c"));
    QVERIFY(parser.paused());
    QVERIFY(!parser.midMessage());
    QVERIFY(parser.idle());
    QVERIFY(parser.resume());
    QVERIFY(parser.idle());
    QVERIFY(!parser.midMessage());
}

void TstHttpParser::feedFromInsideCallbackIsParsedAfterCurrentInput()
{
    HttpRequestParser parser;
    QList<QByteArray> methods;
    QList<QByteArray> bodies;
    QByteArray body;
    parser.setCallbacks({[&] {
                             methods.append(parser.head().method);
                             // Fed while the POST body is still being parsed from the input.
                             if (methods.size() == 1) QVERIFY(parser.feed(kSimpleGet));
                         },
                         [&](QByteArrayView v) { body += v; },
                         [&] {
                             bodies.append(body);
                             body.clear();
                             parser.resume();
                         }});
    QVERIFY(parser.feed(kPostWithLength));
    QCOMPARE(methods, (QList<QByteArray>{"POST", "GET"}));
    QCOMPARE(bodies, (QList<QByteArray>{"{\"model\":\"gpt-4\"}", ""}));
}

void TstHttpParser::survivesParserDestroyedInsideCallback() {
    auto parser = std::make_unique<HttpRequestParser>();
    int completed = 0;
    parser->setCallbacks({nullptr, nullptr, [&] {
                              ++completed;
                              parser.reset();
                          }});
    parser->feed(kSimpleGet + kSimpleGet);
    QCOMPARE(completed, 1);
    QVERIFY(!parser);

    auto response = std::make_unique<HttpResponseParser>();
    int pieces = 0;
    response->setCallbacks({nullptr,
                            [&](QByteArrayView) {
                                ++pieces;
                                response.reset();
                            },
                            nullptr});
    response->feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n1\r\nb\r\n");
    QCOMPARE(pieces, 1);
    QVERIFY(!response);
}

void TstHttpParser::parsesResponseWithContentLength() {
    ResponseRecorder r;
    QVERIFY(
        r.parser.feed("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Content-Length: 11\r\n\r\n{\"ok\":true}"));
    QVERIFY(r.parser.complete());
    QVERIFY(r.parser.headComplete());
    QCOMPARE(r.parser.head().status, 200);
    QCOMPARE(r.parser.head().reason, QByteArray("OK"));
    QCOMPARE(r.parser.head().headers.value("content-type"), QByteArray("application/json"));
    QCOMPARE(r.body, QByteArray("{\"ok\":true}"));
    QCOMPARE(r.completed, 1);
    QVERIFY(r.parser.finishEof());
}

void TstHttpParser::parsesChunkedResponse() {
    ResponseRecorder r;
    QVERIFY(
        r.parser.feed("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n"));
    QVERIFY(r.parser.headComplete());
    QVERIFY(!r.parser.complete());
    QVERIFY(r.parser.feed("e\r\ndata: {\"a\":1}\n\r\n"));
    QCOMPARE(r.body, QByteArray("data: {\"a\":1}\n"));
    QVERIFY(r.parser.feed("0\r\nX-Trailer: t\r\n\r\n"));
    QVERIFY(r.parser.complete());
    QCOMPARE(r.completed, 1);
}

void TstHttpParser::readsCloseDelimitedBodyUntilEof() {
    ResponseRecorder r;
    QVERIFY(r.parser.feed("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\npart one, "));
    QVERIFY(r.parser.feed("part two"));
    QVERIFY(!r.parser.complete());
    QCOMPARE(r.completed, 0);
    QVERIFY(r.parser.finishEof());
    QVERIFY(r.parser.complete());
    QCOMPARE(r.completed, 1);
    QCOMPARE(r.body, QByteArray("part one, part two"));
    QVERIFY(!r.parser.head().keepAlive());
}

void TstHttpParser::responseToHeadHasNoBody() {
    ResponseRecorder r({}, true);
    QVERIFY(r.parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"));
    QVERIFY(r.parser.complete());
    QCOMPARE(r.completed, 1);
    QVERIFY(r.body.isEmpty());

    ResponseRecorder chunked({}, true);
    QVERIFY(chunked.parser.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"));
    QVERIFY(chunked.parser.complete());
}

void TstHttpParser::responses204And304HaveNoBody() {
    for (const QByteArray &status :
         {QByteArray("204 No Content"), QByteArray("304 Not Modified")}) {
        ResponseRecorder r;
        QVERIFY(r.parser.feed("HTTP/1.1 " + status + "\r\nContent-Length: 10\r\n\r\n"));
        QVERIFY(r.parser.complete());
        QCOMPARE(r.completed, 1);
        QVERIFY(r.body.isEmpty());
    }
}

void TstHttpParser::skipsInterimContinueResponse() {
    ResponseRecorder r;
    QVERIFY(r.parser.feed("HTTP/1.1 100 Continue\r\n\r\n"));
    QCOMPARE(r.heads, 0);
    QVERIFY(!r.parser.headComplete());
    QVERIFY(
        r.parser.feed("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                      "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"));
    QCOMPARE(r.heads, 1);
    QCOMPARE(r.parser.head().status, 201);
    QVERIFY(!r.parser.head().headers.contains("Link"));
    QCOMPARE(r.body, QByteArray("ok"));
    QVERIFY(r.parser.complete());
}

void TstHttpParser::reportsEofMidBodyAsError_data() {
    QTest::addColumn<QByteArray>("input");
    QTest::newRow("content-length")
        << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234");
    QTest::newRow("chunk data") << QByteArray(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01");
    QTest::newRow("between chunks")
        << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n");
    QTest::newRow("in trailers") << QByteArray(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n");
}

void TstHttpParser::reportsEofMidBodyAsError() {
    QFETCH(QByteArray, input);
    ResponseRecorder r;
    QVERIFY(r.parser.feed(input));
    QVERIFY(!r.parser.finishEof());
    QCOMPARE(r.parser.error().status, 502);
    QVERIFY(r.parser.error().message.contains("mid-body"));
    QVERIFY(!r.parser.complete());
    QCOMPARE(r.completed, 0);
}

void TstHttpParser::reportsEofBeforeResponseAsError() {
    ResponseRecorder none;
    QVERIFY(!none.parser.finishEof());
    QCOMPARE(none.parser.error().status, 502);
    QVERIFY(none.parser.error().message.contains("before"));

    ResponseRecorder partial;
    QVERIFY(partial.parser.feed("HTTP/1.1 200 OK\r\nContent-"));
    QVERIFY(!partial.parser.finishEof());
    QVERIFY(partial.parser.error().message.contains("mid-head"));
}

void TstHttpParser::rejectsBytesAfterCompleteResponse() {
    ResponseRecorder r;
    QVERIFY(!r.parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokGARBAGE"));
    QVERIFY(r.parser.complete());
    QCOMPARE(r.completed, 1);
    QCOMPARE(r.parser.error().status, 502);

    // A stray line end after the body is tolerated.
    ResponseRecorder crlf;
    QVERIFY(crlf.parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\r\n"));
    QVERIFY(!crlf.parser.error().isError());
}

void TstHttpParser::resetPreparesForNextResponse() {
    ResponseRecorder r;
    QVERIFY(r.parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"));
    QVERIFY(r.parser.complete());
    r.parser.reset(true);
    QVERIFY(!r.parser.complete());
    QVERIFY(!r.parser.headComplete());
    QVERIFY(r.parser.feed("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n"));
    QVERIFY(r.parser.complete());
    QCOMPARE(r.parser.head().status, 404);
    r.parser.reset(false);
    QVERIFY(r.parser.feed("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 1\r\n\r\nb"));
    QCOMPARE(r.completed, 3);
    QCOMPARE(r.body, QByteArray("ab"));

    // reset() also clears an error from the previous exchange.
    r.parser.reset(false);
    QVERIFY(!r.parser.feed("nonsense\r\n"));
    r.parser.reset(false);
    QVERIFY(!r.parser.error().isError());
    QVERIFY(r.parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    QVERIFY(r.parser.complete());
}

void TstHttpParser::rejectsMalformedResponsesWith502_data() {
    QTest::addColumn<QByteArray>("input");
    QTest::newRow("not http") << QByteArray("SSH-2.0-OpenSSH\r\n\r\n");
    QTest::newRow("short status") << QByteArray("HTTP/1.1 20 OK\r\n\r\n");
    QTest::newRow("letters in status") << QByteArray("HTTP/1.1 2x0 OK\r\n\r\n");
    QTest::newRow("http/2") << QByteArray("HTTP/2.0 200 OK\r\n\r\n");
    QTest::newRow("obs-fold") << QByteArray("HTTP/1.1 200 OK\r\nA: 1\r\n 2\r\n\r\n");
    QTest::newRow("bad header name") << QByteArray("HTTP/1.1 200 OK\r\nA B: 1\r\n\r\n");
    QTest::newRow("conflicting length")
        << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
    QTest::newRow("gzip coding") << QByteArray(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
    QTest::newRow("bad chunk") << QByteArray(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
}

void TstHttpParser::rejectsMalformedResponsesWith502() {
    QFETCH(QByteArray, input);
    ResponseRecorder r;
    QVERIFY(!r.parser.feed(input));
    QCOMPARE(r.parser.error().status, 502);
    QVERIFY(!r.parser.complete());
}

void TstHttpParser::rejectsResponseBodyAboveLimit() {
    HttpParseLimits limits;
    limits.maxBodyBytes = 8;
    ResponseRecorder byLength(limits);
    QVERIFY(!byLength.parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"));
    QCOMPARE(byLength.parser.error().status, 502);

    ResponseRecorder untilEof(limits);
    QVERIFY(untilEof.parser.feed("HTTP/1.1 200 OK\r\n\r\n12345"));
    QVERIFY(!untilEof.parser.feed("6789"));
    QCOMPARE(untilEof.parser.error().status, 502);
    QVERIFY(untilEof.body.size() <= limits.maxBodyBytes);
}

void TstHttpParser::givesSameResultForEverySplitOfResponses_data() {
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<bool>("requestWasHead");
    QTest::addColumn<bool>("eof");
    QTest::addColumn<bool>("complete");
    QTest::newRow("content-length")
        << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-A:  b \r\n\r\n{\"ok\":true}")
        << false << false << true;
    QTest::newRow("chunked sse") << QByteArray(
                                        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                        "6;x=y\r\ndata: \r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n")
                                 << false << false << true;
    QTest::newRow("close delimited")
        << QByteArray("HTTP/1.0 200 OK\r\n\r\nsome body bytes") << false << true << true;
    QTest::newRow("continue then final")
        << QByteArray("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz")
        << false << false << true;
    QTest::newRow("head") << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n") << true
                          << false << true;
    QTest::newRow("bare lf") << QByteArray("HTTP/1.1 204 No Content\nDate: x\n\n") << false << false
                             << true;
    QTest::newRow("cut mid-body") << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc")
                                  << false << true << false;
}

void TstHttpParser::givesSameResultForEverySplitOfResponses() {
    QFETCH(QByteArray, input);
    QFETCH(bool, requestWasHead);
    QFETCH(bool, eof);
    QFETCH(bool, complete);
    ResponseRecorder whole({}, requestWasHead);
    whole.parser.feed(input);
    const QByteArray expected = whole.finish(eof);
    QCOMPARE(whole.parser.complete(), complete);
    QCOMPARE(whole.parser.error().isError(), !complete);
    checkEverySplitMatches(input, expected,
                           [&](const QByteArray &in, const QList<qsizetype> &cuts) {
                               return parseResponseInPieces(in, cuts, {}, requestWasHead, eof);
                           });
}

QTEST_GUILESS_MAIN(TstHttpParser)
#include "tst_http_parser.moc"
