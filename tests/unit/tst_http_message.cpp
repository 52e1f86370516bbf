// Tests for the HTTP message value types: header list semantics, head helpers, serialization
// and reason phrases.
#include "core/http/http_message.h"
#include "core/http/http_parser.h"

#include <QtTest>

using namespace airlock;

class TstHttpMessage : public QObject {
    Q_OBJECT

private slots:
    void headerLookupIgnoresCaseAndKeepsSpelling();
    void valuesReturnsEveryMatchingHeaderInOrder();
    void setReplacesAllMatchesAtFirstPosition();
    void setAppendsWhenHeaderAbsent();
    void removeDropsEveryMatchingHeader();
    void hasTokenMatchesWholeListElementsOnly();
    void serializeWritesNameColonValueLines();
    void pathAndQuerySplitOriginFormTarget();
    void pathOfAbsoluteFormTargetIsItsPathPart();
    void requestKeepAliveFollowsVersionAndConnection_data();
    void requestKeepAliveFollowsVersionAndConnection();
    void responseKeepAliveFollowsVersionAndConnection();
    void requestSerializesToWireFormat();
    void responseSerializesWithStandardReasonWhenNoneGiven();
    void serializedRequestParsesBackToSameHead();
    void reasonPhraseCoversUsualStatuses_data();
    void reasonPhraseCoversUsualStatuses();
    void reasonPhraseIsEmptyForUnknownStatus();
};

void TstHttpMessage::headerLookupIgnoresCaseAndKeepsSpelling() {
    HttpHeaders h;
    h.add("Content-Type", "application/json");
    h.add("X-Api-Key", "k1");
    QCOMPARE(h.value("content-type"), QByteArray("application/json"));
    QCOMPARE(h.value("CONTENT-TYPE"), QByteArray("application/json"));
    QVERIFY(h.contains("x-api-key"));
    QVERIFY(!h.contains("x-api"));
    QVERIFY(h.value("Missing").isEmpty());
    QCOMPARE(h.entries().at(1).first, QByteArray("X-Api-Key"));
    QCOMPARE(h.size(), 2);
}

void TstHttpMessage::valuesReturnsEveryMatchingHeaderInOrder() {
    HttpHeaders h;
    h.add("Set-Cookie", "a=1");
    h.add("Other", "x");
    h.add("set-cookie", "b=2");
    QCOMPARE(h.values("SET-COOKIE"), (QList<QByteArray>{"a=1", "b=2"}));
    QCOMPARE(h.value("set-cookie"), QByteArray("a=1"));
    QVERIFY(h.values("none").isEmpty());
}

void TstHttpMessage::setReplacesAllMatchesAtFirstPosition() {
    HttpHeaders h;
    h.add("A", "1");
    h.add("Via", "x");
    h.add("B", "2");
    h.add("via", "y");
    h.set("VIA", "z");
    QCOMPARE(h.size(), 3);
    QCOMPARE(h.entries().at(0).first, QByteArray("A"));
    QCOMPARE(h.entries().at(1), HttpHeaders::Entry("VIA", "z"));
    QCOMPARE(h.entries().at(2).first, QByteArray("B"));
}

void TstHttpMessage::setAppendsWhenHeaderAbsent() {
    HttpHeaders h;
    h.add("A", "1");
    h.set("Host", "example.com");
    QCOMPARE(h.size(), 2);
    QCOMPARE(h.entries().last(), HttpHeaders::Entry("Host", "example.com"));
}

void TstHttpMessage::removeDropsEveryMatchingHeader() {
    HttpHeaders h;
    h.add("Authorization", "Bearer a");
    h.add("Keep", "1");
    h.add("authorization", "Bearer b");
    h.remove("AUTHORIZATION");
    QCOMPARE(h.size(), 1);
    QVERIFY(!h.contains("authorization"));
    QCOMPARE(h.value("keep"), QByteArray("1"));
}

void TstHttpMessage::hasTokenMatchesWholeListElementsOnly() {
    HttpHeaders h;
    h.add("Connection", "keep-alive, Upgrade");
    h.add("connection", " TE ");
    QVERIFY(h.hasToken("connection", "upgrade"));
    QVERIFY(h.hasToken("Connection", "KEEP-ALIVE"));
    QVERIFY(h.hasToken("Connection", "te"));
    QVERIFY(!h.hasToken("Connection", "close"));
    QVERIFY(!h.hasToken("Connection", "keep"));
    QVERIFY(!h.hasToken("Upgrade", "keep-alive"));

    HttpHeaders c;
    c.add("Connection", "closed");
    QVERIFY(!c.hasToken("Connection", "close"));
}

void TstHttpMessage::serializeWritesNameColonValueLines() {
    HttpHeaders h;
    h.add("Host", "a");
    h.add("x-b", "");
    QByteArray out("prefix|");
    h.serialize(out);
    QCOMPARE(out, QByteArray("prefix|Host: a\r\nx-b: \r\n"));
}

void TstHttpMessage::pathAndQuerySplitOriginFormTarget() {
    HttpRequestHead r;
    r.target = "/v1beta/models/gemini:streamGenerateContent?alt=sse&x=1";
    QCOMPARE(r.path(), QByteArray("/v1beta/models/gemini:streamGenerateContent"));
    QCOMPARE(r.query(), QByteArray("alt=sse&x=1"));
    r.target = "/v1/messages";
    QCOMPARE(r.path(), QByteArray("/v1/messages"));
    QVERIFY(r.query().isEmpty());
}

void TstHttpMessage::pathOfAbsoluteFormTargetIsItsPathPart() {
    HttpRequestHead r;
    r.target = "http://api.openai.com:80/v1/chat/completions?x=1";
    QCOMPARE(r.path(), QByteArray("/v1/chat/completions"));
    QCOMPARE(r.query(), QByteArray("x=1"));
    r.target = "http://example.com";
    QCOMPARE(r.path(), QByteArray("/"));
    r.target = "http://example.com?q";
    QCOMPARE(r.path(), QByteArray("/"));
}

void TstHttpMessage::requestKeepAliveFollowsVersionAndConnection_data() {
    QTest::addColumn<int>("minor");
    QTest::addColumn<QByteArray>("connection");
    QTest::addColumn<bool>("keepAlive");
    QTest::newRow("1.1 default") << 1 << QByteArray() << true;
    QTest::newRow("1.1 close") << 1 << QByteArray("close") << false;
    QTest::newRow("1.1 Close mixed list") << 1 << QByteArray("Upgrade, Close") << false;
    QTest::newRow("1.1 keep-alive") << 1 << QByteArray("keep-alive") << true;
    QTest::newRow("1.0 default") << 0 << QByteArray() << false;
    QTest::newRow("1.0 keep-alive") << 0 << QByteArray("Keep-Alive") << true;
    QTest::newRow("1.0 close") << 0 << QByteArray("close") << false;
}

void TstHttpMessage::requestKeepAliveFollowsVersionAndConnection() {
    QFETCH(int, minor);
    QFETCH(QByteArray, connection);
    QFETCH(bool, keepAlive);
    HttpRequestHead r;
    r.method = "GET";
    r.target = "/";
    r.versionMinor = minor;
    if (!connection.isEmpty()) r.headers.add("Connection", connection);
    QCOMPARE(r.keepAlive(), keepAlive);
}

void TstHttpMessage::responseKeepAliveFollowsVersionAndConnection() {
    HttpResponseHead r;
    r.status = 200;
    QVERIFY(r.keepAlive());
    r.headers.add("connection", "CLOSE");
    QVERIFY(!r.keepAlive());
    HttpResponseHead old;
    old.versionMinor = 0;
    QVERIFY(!old.keepAlive());
    old.headers.add("Connection", "keep-alive");
    QVERIFY(old.keepAlive());
}

void TstHttpMessage::requestSerializesToWireFormat() {
    HttpRequestHead r;
    r.method = "POST";
    r.target = "/v1/messages?beta=true";
    r.headers.add("Host", "api.anthropic.com");
    r.headers.add("Content-Length", "2");
    QCOMPARE(r.serialize(), QByteArray("POST /v1/messages?beta=true HTTP/1.1\r\n"
                                       "Host: api.anthropic.com\r\nContent-Length: 2\r\n\r\n"));
    r.versionMinor = 0;
    QVERIFY(r.serialize().startsWith("POST /v1/messages?beta=true HTTP/1.0\r\n"));
}

void TstHttpMessage::responseSerializesWithStandardReasonWhenNoneGiven() {
    HttpResponseHead r;
    r.status = 429;
    r.headers.add("Retry-After", "3");
    QCOMPARE(r.serialize(), QByteArray("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\n\r\n"));
    r.reason = "Slow Down";
    QVERIFY(r.serialize().startsWith("HTTP/1.1 429 Slow Down\r\n"));
}

void TstHttpMessage::serializedRequestParsesBackToSameHead() {
    HttpRequestHead r;
    r.method = "PUT";
    r.target = "/a/b?c=d";
    r.headers.add("Host", "h");
    r.headers.add("X-Multi", "1");
    r.headers.add("x-multi", "2");
    HttpRequestParser parser;
    bool complete = false;
    parser.setCallbacks({nullptr, nullptr, [&] { complete = true; }});
    QVERIFY(parser.feed(r.serialize()));
    QVERIFY(complete);
    QCOMPARE(parser.head().method, r.method);
    QCOMPARE(parser.head().target, r.target);
    QCOMPARE(parser.head().versionMinor, 1);
    QCOMPARE(parser.head().headers.entries(), r.headers.entries());
}

void TstHttpMessage::reasonPhraseCoversUsualStatuses_data() {
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("phrase");
    const QList<QPair<int, QByteArray>> rows = {
        {200, "OK"},
        {201, "Created"},
        {204, "No Content"},
        {206, "Partial Content"},
        {301, "Moved Permanently"},
        {302, "Found"},
        {304, "Not Modified"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {408, "Request Timeout"},
        {409, "Conflict"},
        {411, "Length Required"},
        {413, "Content Too Large"},
        {415, "Unsupported Media Type"},
        {422, "Unprocessable Content"},
        {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
        {505, "HTTP Version Not Supported"},
    };
    for (const auto &row : rows)
        QTest::newRow(QByteArray::number(row.first).constData()) << row.first << row.second;
}

void TstHttpMessage::reasonPhraseCoversUsualStatuses() {
    QFETCH(int, status);
    QFETCH(QByteArray, phrase);
    QCOMPARE(reasonPhrase(status), phrase);
}

void TstHttpMessage::reasonPhraseIsEmptyForUnknownStatus() {
    QVERIFY(reasonPhrase(299).isEmpty());
    QVERIFY(reasonPhrase(0).isEmpty());
}

QTEST_GUILESS_MAIN(TstHttpMessage)
#include "tst_http_message.moc"
