// The per-profile response cache through a real in-process Daemon: a signed policy bundle with a
// "cache" key (pre-loaded into the data dir's policy cache, as after an offline start-up) in front
// of a scripted loopback upstream. Covers miss/hit/bypass, expiry, eviction, restart and the
// ledger.
#include "core/daemon/daemon.h"
#include "core/policy/policy_signature.h"
#include "core/store/ledger_reader.h"
#include "core/store/policy_store.h"

#include <sqlite3.h>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>
#include <functional>

#include "tests/integration/fake_upstream.h"
#include <memory>

using namespace airlock;

namespace {

using testing::FakeUpstream;
using testing::SeenRequest;

// The answer echoes the request's content so different requests get different bodies.
void answerChat(QTcpSocket *s, const SeenRequest &r) {
    if (r.body.contains("\"stream\":true")) {
        const QByteArray sse =
            "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\","
            "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n"
            "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\","
            "\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n"
            "data: [DONE]\n\n";
        s->write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: " +
                 QByteArray::number(sse.size()) + "\r\n\r\n" + sse);
        return;
    }
    if (r.body.contains("please-fail")) {
        const QByteArray err = R"({"error":{"message":"boom","type":"server_error"}})";
        s->write(
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
            "Content-Length: " +
            QByteArray::number(err.size()) + "\r\n\r\n" + err);
        return;
    }
    const QByteArray tag = QByteArray::number(qHash(r.body), 16);
    const QByteArray json =
        R"({"id":"chatcmpl-)" + tag +
        R"(","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"answer )" +
        tag +
        R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}})";
    s->write(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nopenai-processing-ms: 12\r\n"
        "x-request-id: up-" +
        tag + "\r\nContent-Length: " + QByteArray::number(json.size()) + "\r\n\r\n" + json);
}

QByteArray chatBody(const QByteArray &content, bool stream = false) {
    return R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":")" + content + "\"}]" +
           (stream ? QByteArray(R"(,"stream":true)") : QByteArray()) + "}";
}

struct Response {
    int status = 0;
    QByteArray head;
    QByteArray body;
    QByteArray header(const QByteArray &name) const {
        for (const QByteArray &line : head.split('\n')) {
            const qsizetype colon = line.indexOf(':');
            if (colon > 0 && line.left(colon).trimmed().compare(name, Qt::CaseInsensitive) == 0)
                return line.mid(colon + 1).trimmed();
        }
        return {};
    }
    bool hasHeader(const QByteArray &name) const {
        for (const QByteArray &line : head.split('\n')) {
            const qsizetype colon = line.indexOf(':');
            if (colon > 0 && line.left(colon).trimmed().compare(name, Qt::CaseInsensitive) == 0)
                return true;
        }
        return false;
    }
};

bool takeResponse(QByteArray *buffer, Response *out) {
    const qsizetype end = buffer->indexOf("\r\n\r\n");
    if (end < 0) return false;
    Response r;
    r.head = buffer->left(end);
    r.status = r.head.mid(9, 3).toInt();
    qsizetype pos = end + 4;
    if (r.header("transfer-encoding").toLower() == "chunked") {
        QByteArray body;
        for (;;) {
            const qsizetype lineEnd = buffer->indexOf("\r\n", pos);
            if (lineEnd < 0) return false;
            const qint64 size = buffer->mid(pos, lineEnd - pos).toLongLong(nullptr, 16);
            if (buffer->size() < lineEnd + 2 + size + 2) return false;
            if (size == 0) {
                pos = lineEnd + 4;
                break;
            }
            body += buffer->mid(lineEnd + 2, size);
            pos = lineEnd + 2 + size + 2;
        }
        r.body = body;
    } else {
        const qint64 length = r.header("content-length").toLongLong();
        if (buffer->size() < pos + length) return false;
        r.body = buffer->mid(pos, length);
        pos += length;
    }
    buffer->remove(0, pos);
    *out = r;
    return true;
}

// One request on a fresh connection; status 0 when no complete answer came in time.
Response roundTrip(quint16 port, const QByteArray &body, const QByteArray &extraHeaders = {}) {
    QTcpSocket s;
    s.connectToHost(QHostAddress::LocalHost, port);
    if (!s.waitForConnected(3000)) return {};
    s.write(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Authorization: Bearer sk-test\r\n" +
        extraHeaders + "Content-Length: " + QByteArray::number(body.size()) + "\r\n\r\n" + body);
    QByteArray buffer;
    Response r;
    QDeadlineTimer deadline(10'000);
    while (!deadline.hasExpired()) {
        if (takeResponse(&buffer, &r)) return r;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
        buffer += s.readAll();
    }
    return {};
}

QJsonObject profileWithCache(int ttlSeconds, qint64 maxBytes) {
    QJsonObject p{{QStringLiteral("mode"), QStringLiteral("enforce")}};
    if (ttlSeconds > 0)
        p.insert(QStringLiteral("cache"), QJsonObject{{QStringLiteral("ttl_seconds"), ttlSeconds},
                                                      {QStringLiteral("max_bytes"), maxBytes}});
    return p;
}

QByteArray bundleJson(const QJsonObject &profile) {
    const QJsonObject o{
        {QStringLiteral("version"), 1},
        {QStringLiteral("issued_at"), QStringLiteral("2026-01-01T00:00:00Z")},
        {QStringLiteral("expires_at"), QStringLiteral("2099-01-01T00:00:00Z")},
        {QStringLiteral("profiles"), QJsonObject{{QStringLiteral("default"), profile}}}};
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

}  // namespace

class TstResponseCache : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void secondIdenticalRequestIsServedFromCacheWithoutUpstream();
    void differentBodyMisses();
    void streamedRequestBypassesCache();
    void clientNoCacheHeaderBypassesCache();
    void errorAnswerIsNotCached();
    void entryExpiresAfterTtl();
    void oldestEntriesAreEvictedOverMaxBytes();
    void cacheSurvivesDaemonRestart();
    void slowLookupCountsAsMissWithoutWaiting();
    void noCacheHeaderWhenProfileHasNoCache();
    void ledgerRecordsHitAtZeroCost();

private:
    // Writes config + signed bundle into a fresh data dir; starts a daemon on it.
    bool startDaemon(const QJsonObject &profile, QString *error);
    bool restartDaemon(QString *error);
    QList<UsageRecord> ledgerRows(int atLeast);

    Ed25519KeyPair m_keys;
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<FakeUpstream> m_upstream;
    std::unique_ptr<Daemon> m_daemon;
};

void TstResponseCache::initTestCase() {
    QString e;
    QVERIFY2(generateEd25519KeyPair(&m_keys, &e), qPrintable(e));
    qunsetenv("AIRLOCK_MANAGED_CONFIG");
}

void TstResponseCache::init() {
    m_dir = std::make_unique<QTemporaryDir>();
    m_upstream = std::make_unique<FakeUpstream>();
    m_upstream->responder = answerChat;
}

void TstResponseCache::cleanup() {
    m_daemon.reset();
    m_upstream.reset();
    m_dir.reset();
}

bool TstResponseCache::startDaemon(const QJsonObject &profile, QString *error) {
    const QString dataDir = m_dir->filePath(QStringLiteral("data"));
    QDir().mkpath(dataDir);
    // The policy URL leads nowhere: the bundle comes from the policy cache, as on a laptop offline.
    const QJsonObject config{
        {QStringLiteral("policy"),
         QJsonObject{
             {QStringLiteral("url"), QStringLiteral("http://127.0.0.1:1/policy.json")},
             {QStringLiteral("trusted_keys"), QJsonArray{QString::fromUtf8(m_keys.publicPem)}}}}};
    QFile f(m_dir->filePath(QStringLiteral("config.json")));
    if (!f.open(QIODevice::WriteOnly)) return false;
    f.write(QJsonDocument(config).toJson());
    f.close();
    PolicyStore store(dataDir + QStringLiteral("/policy.db"));
    CachedPolicy c;
    c.envelope = signPolicyBundle(bundleJson(profile), m_keys.privatePem, error);
    c.version = 1;
    c.source = QStringLiteral("test");
    if (c.envelope.isEmpty() || !store.save(c, error)) return false;
    return restartDaemon(error);
}

bool TstResponseCache::restartDaemon(QString *error) {
    m_daemon.reset();
    DaemonOptions o;
    o.configPath = m_dir->filePath(QStringLiteral("config.json"));
    o.dataDir = m_dir->filePath(QStringLiteral("data"));
    o.listen = QStringLiteral("127.0.0.1:0");
    o.upstreams = {QStringLiteral("openai=http://127.0.0.1:%1").arg(m_upstream->serverPort())};
    m_daemon = std::make_unique<Daemon>();
    return m_daemon->start(o, error);
}

QList<UsageRecord> TstResponseCache::ledgerRows(int atLeast) {
    LedgerReader reader(m_dir->filePath(QStringLiteral("data/usage.db")));
    QString e;
    if (!reader.open(&e)) return {};
    QList<UsageRecord> rows;
    const bool enough = QTest::qWaitFor(
        [&] {
            rows = reader.requests(RequestsQuery{}, &e);
            return rows.size() >= atLeast;
        },
        5000);
    if (!enough) qWarning("ledger has %d rows, want %d", int(rows.size()), atLeast);
    return rows;
}

void TstResponseCache::secondIdenticalRequestIsServedFromCacheWithoutUpstream() {
    QString e;
    QVERIFY2(startDaemon(profileWithCache(3600, 1 << 20), &e), qPrintable(e));
    const Response first = roundTrip(m_daemon->port(), chatBody("hello"));
    QCOMPARE(first.status, 200);
    QCOMPARE(first.header("x-airlock-cache"), QByteArray("miss"));
    QCOMPARE(m_upstream->seen.size(), 1);
    const Response second = roundTrip(m_daemon->port(), chatBody("hello"));
    QCOMPARE(second.status, 200);
    QCOMPARE(second.header("x-airlock-cache"), QByteArray("hit"));
    QCOMPARE(m_upstream->seen.size(), 1);  // the upstream never saw the second request
    QCOMPARE(second.body, first.body);
    QCOMPARE(second.header("content-type"), QByteArray("application/json"));
    QCOMPARE(second.header("x-request-id"), first.header("x-request-id"));
    QCOMPARE(second.header("openai-processing-ms"), QByteArray("12"));
    QVERIFY(!second.header("x-airlock-request-id").isEmpty());
    QVERIFY(second.header("x-airlock-request-id") != first.header("x-airlock-request-id"));
    QCOMPARE(QFile::permissions(m_dir->filePath(QStringLiteral("data/cache.db"))) & 0x0077,
             QFileDevice::Permissions());
}

void TstResponseCache::differentBodyMisses() {
    QString e;
    QVERIFY2(startDaemon(profileWithCache(3600, 1 << 20), &e), qPrintable(e));
    QCOMPARE(roundTrip(m_daemon->port(), chatBody("one")).header("x-airlock-cache"), "miss");
    const Response other = roundTrip(m_daemon->port(), chatBody("two"));
    QCOMPARE(other.header("x-airlock-cache"), QByteArray("miss"));
    QVERIFY(other.body.contains("answer"));
    QCOMPARE(m_upstream->seen.size(), 2);
    QCOMPARE(roundTrip(m_daemon->port(), chatBody("two")).header("x-airlock-cache"), "hit");
    QCOMPARE(m_upstream->seen.size(), 2);
}

void TstResponseCache::streamedRequestBypassesCache() {
    QString e;
    QVERIFY2(startDaemon(profileWithCache(3600, 1 << 20), &e), qPrintable(e));
    for (int i = 0; i < 2; ++i) {
        const Response r = roundTrip(m_daemon->port(), chatBody("s", true));
        QCOMPARE(r.status, 200);
        QCOMPARE(r.header("x-airlock-cache"), QByteArray("bypass"));
        QVERIFY(r.body.contains("[DONE]"));
    }
    QCOMPARE(m_upstream->seen.size(), 2);
}

void TstResponseCache::clientNoCacheHeaderBypassesCache() {
    QString e;
    QVERIFY2(startDaemon(profileWithCache(3600, 1 << 20), &e), qPrintable(e));
    QCOMPARE(roundTrip(m_daemon->port(), chatBody("x")).header("x-airlock-cache"), "miss");
    const Response fresh =
        roundTrip(m_daemon->port(), chatBody("x"), "Cache-Control: no-cache\r\n");
    QCOMPARE(fresh.status, 200);
    QCOMPARE(fresh.header("x-airlock-cache"), QByteArray("bypass"));
    const Response noStore =
        roundTrip(m_daemon->port(), chatBody("x"), "Cache-Control: max-age=0, no-store\r\n");
    QCOMPARE(noStore.header("x-airlock-cache"), QByteArray("bypass"));
    QCOMPARE(m_upstream->seen.size(), 3);
}

void TstResponseCache::errorAnswerIsNotCached() {
    QString e;
    QVERIFY2(startDaemon(profileWithCache(3600, 1 << 20), &e), qPrintable(e));
    for (int i = 0; i < 2; ++i) {
        const Response r = roundTrip(m_daemon->port(), chatBody("please-fail"));
        QCOMPARE(r.status, 500);
        QCOMPARE(r.header("x-airlock-cache"), QByteArray("bypass"));
    }
    QCOMPARE(m_upstream->seen.size(), 2);
}

void TstResponseCache::entryExpiresAfterTtl() {
    QString e;
    QVERIFY2(startDaemon(profileWithCache(1, 1 << 20), &e), qPrintable(e));
    QCOMPARE(roundTrip(m_daemon->port(), chatBody("ttl")).header("x-airlock-cache"), "miss");
    QCOMPARE(roundTrip(m_daemon->port(), chatBody("ttl")).header("x-airlock-cache"), "hit");
    QElapsedTimer since;
    since.start();
    QByteArray state;
    // Hits until the second is over, then a miss that goes upstream again.
    QVERIFY(QTest::qWaitFor(
        [&] {
            state = roundTrip(m_daemon->port(), chatBody("ttl")).header("x-airlock-cache");
            return state == "miss";
        },
        5000));
    QVERIFY(since.elapsed() >= 200);  // not a miss straight away
    QCOMPARE(m_upstream->seen.size(), 2);
}

void TstResponseCache::oldestEntriesAreEvictedOverMaxBytes() {
    QString e;
    // One entry is ~600 bytes (body, headers, key): room for about three.
    QVERIFY2(startDaemon(profileWithCache(3600, 2000), &e), qPrintable(e));
    for (const char *c : {"a", "b", "c", "d", "e"})
        QCOMPARE(roundTrip(m_daemon->port(), chatBody(c)).header("x-airlock-cache"), "miss");
    QCOMPARE(m_upstream->seen.size(), 5);
    QCOMPARE(roundTrip(m_daemon->port(), chatBody("e")).header("x-airlock-cache"), "hit");
    QCOMPARE(roundTrip(m_daemon->port(), chatBody("a")).header("x-airlock-cache"), "miss");
    QCOMPARE(m_upstream->seen.size(), 6);
}

void TstResponseCache::cacheSurvivesDaemonRestart() {
    QString e;
    QVERIFY2(startDaemon(profileWithCache(3600, 1 << 20), &e), qPrintable(e));
    const Response first = roundTrip(m_daemon->port(), chatBody("persist"));
    QCOMPARE(first.header("x-airlock-cache"), QByteArray("miss"));
    QVERIFY2(restartDaemon(&e), qPrintable(e));
    const Response again = roundTrip(m_daemon->port(), chatBody("persist"));
    QCOMPARE(again.header("x-airlock-cache"), QByteArray("hit"));
    QCOMPARE(again.body, first.body);
    QCOMPARE(m_upstream->seen.size(), 1);
}

void TstResponseCache::slowLookupCountsAsMissWithoutWaiting() {
    QString e;
    QVERIFY2(startDaemon(profileWithCache(3600, 1 << 20), &e), qPrintable(e));
    QCOMPARE(roundTrip(m_daemon->port(), chatBody("slow")).header("x-airlock-cache"), "miss");
    QCOMPARE(roundTrip(m_daemon->port(), chatBody("slow")).header("x-airlock-cache"), "hit");
    // Another writer holds cache.db: the cache's worker now waits on SQLite's busy timeout.
    sqlite3 *db = nullptr;
    QCOMPARE(
        sqlite3_open(m_dir->filePath(QStringLiteral("data/cache.db")).toUtf8().constData(), &db),
        SQLITE_OK);
    QCOMPARE(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    QElapsedTimer t;
    t.start();
    const Response r = roundTrip(m_daemon->port(), chatBody("slow"));
    const qint64 tookMs = t.elapsed();
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    QCOMPARE(r.status, 200);
    QCOMPARE(r.header("x-airlock-cache"), QByteArray("miss"));  // answered by the provider
    QCOMPARE(m_upstream->seen.size(), 2);
    QVERIFY2(tookMs < 800, qPrintable(QString::number(tookMs)));  // not the 1 s busy wait
}

void TstResponseCache::noCacheHeaderWhenProfileHasNoCache() {
    QString e;
    QVERIFY2(startDaemon(profileWithCache(0, 0), &e), qPrintable(e));
    for (int i = 0; i < 2; ++i) {
        const Response r = roundTrip(m_daemon->port(), chatBody("plain"));
        QCOMPARE(r.status, 200);
        QVERIFY(!r.hasHeader("x-airlock-cache"));
    }
    QCOMPARE(m_upstream->seen.size(), 2);
}

void TstResponseCache::ledgerRecordsHitAtZeroCost() {
    QString e;
    QVERIFY2(startDaemon(profileWithCache(3600, 1 << 20), &e), qPrintable(e));
    QCOMPARE(roundTrip(m_daemon->port(), chatBody("ledger")).header("x-airlock-cache"), "miss");
    QCOMPARE(roundTrip(m_daemon->port(), chatBody("ledger")).header("x-airlock-cache"), "hit");
    const QList<UsageRecord> rows = ledgerRows(2);
    QCOMPARE(rows.size(), 2);
    const UsageRecord &hit = rows[0];  // newest first
    const UsageRecord &miss = rows[1];
    QCOMPARE(miss.outcome, QStringLiteral("ok"));
    QVERIFY(!miss.rule.contains(QStringLiteral("cache:hit")));
    QVERIFY(miss.costUsd > 0);
    QCOMPARE(hit.outcome, QStringLiteral("ok"));
    QCOMPARE(hit.rule, QStringLiteral("cache:hit"));
    QCOMPARE(hit.status, 200);
    QCOMPARE(hit.inputTokens, 11);
    QCOMPARE(hit.outputTokens, 7);
    QCOMPARE(hit.costUsd, 0.0);
    QCOMPARE(hit.profile, QStringLiteral("default"));
    QCOMPARE(hit.model, QStringLiteral("gpt-4o-mini"));
}

QTEST_GUILESS_MAIN(TstResponseCache)
#include "tst_response_cache.moc"
