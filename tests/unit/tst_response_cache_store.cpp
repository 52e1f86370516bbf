// The response cache store on its own (key derivation, round trip, expiry, LRU eviction under
// max_bytes), the worker-thread front, and what the policy engine says about caching and budgets.
#include "core/policy/policy_enforcer.h"
#include "core/policy/policy_signature.h"
#include "core/store/response_cache.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

using namespace airlock;

namespace {

CacheKeyInput baseKey() {
    CacheKeyInput k;
    k.provider = QStringLiteral("openai");
    k.format = "openai";
    k.method = "POST";
    k.path = "/v1/chat/completions";
    k.body = R"({"model":"gpt-4o-mini","messages":[]})";
    return k;
}

CachedResponse response(const QByteArray &body) {
    CachedResponse r;
    r.status = 200;
    r.headers = {{"Content-Type", "application/json"}, {"x-request-id", "abc"}};
    r.body = body;
    return r;
}

constexpr qint64 kNow = 1'800'000'000'000;

}  // namespace

class TstResponseCacheStore : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void keyIsStableHexSha256();
    void keyChangesWithEveryInput();
    void keyFieldsCannotBeShiftedIntoEachOther();
    void storedAnswerComesBackWithHeaders();
    void expiredEntryIsMissedAndDeleted();
    void leastRecentlyUsedEntriesAreEvictedFirst();
    void entryLargerThanMaxBytesIsNotStored();
    void bucketsAreEvictedSeparately();
    void fileIsOwnerOnlyAndSurvivesReopen();
    void replayableHeadersExcludeHopByHopAndAirlock();
    void workerLookupAnswersOnCallerThread();
    void verdictCarriesProfileCacheSettings();
    void cacheHitSettlesWithoutSpendingBudget();
    void bundleRejectsMalformedCacheKey();
};

void TstResponseCacheStore::keyIsStableHexSha256() {
    const QByteArray a = ResponseCacheStore::key(baseKey());
    QCOMPARE(a.size(), 64);
    QCOMPARE(QByteArray::fromHex(a).toHex(), a);
    QCOMPARE(ResponseCacheStore::key(baseKey()), a);
}

void TstResponseCacheStore::keyChangesWithEveryInput() {
    const QByteArray base = ResponseCacheStore::key(baseKey());
    QList<CacheKeyInput> variants;
    for (int i = 0; i < 6; ++i) variants.append(baseKey());
    variants[0].provider = QStringLiteral("gateway");
    variants[1].format = "anthropic";
    variants[2].method = "PUT";
    variants[3].path = "/v1/chat/completions?x=1";
    variants[4].body = R"({"model":"gpt-4o-mini","messages":[1]})";
    variants[5].app = QStringLiteral("curl");
    QSet<QByteArray> keys{base};
    for (const CacheKeyInput &v : variants) keys.insert(ResponseCacheStore::key(v));
    QCOMPARE(keys.size(), 7);
}

void TstResponseCacheStore::keyFieldsCannotBeShiftedIntoEachOther() {
    CacheKeyInput a = baseKey();
    CacheKeyInput b = baseKey();
    a.path = "/v1/x";
    a.body = "y";
    b.path = "/v1/";
    b.body = "xy";
    QVERIFY(ResponseCacheStore::key(a) != ResponseCacheStore::key(b));
}

void TstResponseCacheStore::storedAnswerComesBackWithHeaders() {
    QTemporaryDir dir;
    ResponseCacheStore s;
    QString e;
    QVERIFY2(s.open(dir.filePath(QStringLiteral("cache.db")), &e), qPrintable(e));
    QVERIFY(!s.lookup("k1", kNow).has_value());
    QVERIFY2(s.store("k1", QStringLiteral("default"), response("{\"a\":1}"), kNow + 1000, 1 << 20,
                     kNow, &e),
             qPrintable(e));
    const auto hit = s.lookup("k1", kNow + 10);
    QVERIFY(hit.has_value());
    QCOMPARE(hit->status, 200);
    QCOMPARE(hit->body, QByteArray("{\"a\":1}"));
    QCOMPARE(hit->headers.size(), 2);
    QCOMPARE(hit->headers[0].first, QByteArray("Content-Type"));
    QCOMPARE(hit->headers[0].second, QByteArray("application/json"));
    QCOMPARE(hit->headers[1].second, QByteArray("abc"));
}

void TstResponseCacheStore::expiredEntryIsMissedAndDeleted() {
    QTemporaryDir dir;
    ResponseCacheStore s;
    QString e;
    QVERIFY(s.open(dir.filePath(QStringLiteral("cache.db")), &e));
    QVERIFY(s.store("k", QStringLiteral("p"), response("x"), kNow + 1000, 1 << 20, kNow));
    QVERIFY(s.lookup("k", kNow + 999).has_value());
    QVERIFY(!s.lookup("k", kNow + 1000).has_value());
    QCOMPARE(s.entryCount(), 0);
    // An expiry in the past is never stored.
    QVERIFY(!s.store("k", QStringLiteral("p"), response("x"), kNow, 1 << 20, kNow));
}

void TstResponseCacheStore::leastRecentlyUsedEntriesAreEvictedFirst() {
    QTemporaryDir dir;
    ResponseCacheStore s;
    QString e;
    QVERIFY(s.open(dir.filePath(QStringLiteral("cache.db")), &e));
    const QByteArray body(100, 'b');
    const QString p = QStringLiteral("p");
    QVERIFY(s.store("a", p, response(body), kNow + 100'000, 1 << 20, kNow));
    const qint64 one = s.bucketBytes(p);
    QVERIFY(one > 100);
    const qint64 max = one * 3;  // room for three
    QVERIFY(s.store("b", p, response(body), kNow + 100'000, max, kNow + 1));
    QVERIFY(s.store("c", p, response(body), kNow + 100'000, max, kNow + 2));
    QVERIFY(s.lookup("a", kNow + 3).has_value());  // a is now the most recently used
    QVERIFY(s.store("d", p, response(body), kNow + 100'000, max, kNow + 4));
    QCOMPARE(s.entryCount(), 3);
    QVERIFY(s.bucketBytes(p) <= max);
    QVERIFY(!s.lookup("b", kNow + 5).has_value());  // the least recently used went
    QVERIFY(s.lookup("a", kNow + 5).has_value());
    QVERIFY(s.lookup("c", kNow + 5).has_value());
    QVERIFY(s.lookup("d", kNow + 5).has_value());
}

void TstResponseCacheStore::entryLargerThanMaxBytesIsNotStored() {
    QTemporaryDir dir;
    ResponseCacheStore s;
    QString e;
    QVERIFY(s.open(dir.filePath(QStringLiteral("cache.db")), &e));
    QVERIFY(s.store("small", QStringLiteral("p"), response("x"), kNow + 1000, 500, kNow));
    QVERIFY(!s.store("big", QStringLiteral("p"), response(QByteArray(1000, 'z')), kNow + 1000, 500,
                     kNow));
    QVERIFY(!s.lookup("big", kNow).has_value());
    QVERIFY(s.lookup("small", kNow).has_value());  // nothing was evicted for it
}

void TstResponseCacheStore::bucketsAreEvictedSeparately() {
    QTemporaryDir dir;
    ResponseCacheStore s;
    QString e;
    QVERIFY(s.open(dir.filePath(QStringLiteral("cache.db")), &e));
    const QByteArray body(100, 'b');
    QVERIFY(s.store("x1", QStringLiteral("x"), response(body), kNow + 1000, 1 << 20, kNow));
    const qint64 one = s.bucketBytes(QStringLiteral("x"));
    QVERIFY(s.store("y1", QStringLiteral("y"), response(body), kNow + 1000, one, kNow + 1));
    QVERIFY(s.store("y2", QStringLiteral("y"), response(body), kNow + 1000, one, kNow + 2));
    QVERIFY(s.lookup("x1", kNow + 3).has_value());
    QVERIFY(!s.lookup("y1", kNow + 3).has_value());
    QVERIFY(s.lookup("y2", kNow + 3).has_value());
}

void TstResponseCacheStore::fileIsOwnerOnlyAndSurvivesReopen() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("sub/cache.db"));
    {
        ResponseCacheStore s;
        QString e;
        QVERIFY2(s.open(path, &e), qPrintable(e));
        QVERIFY(s.store("k", QStringLiteral("p"), response("kept"), kNow + 1000, 1 << 20, kNow));
    }
    const QFileDevice::Permissions perms = QFile::permissions(path);
    QVERIFY(perms & QFileDevice::ReadOwner);
    QVERIFY(!(perms & (QFileDevice::ReadGroup | QFileDevice::ReadOther | QFileDevice::WriteGroup |
                       QFileDevice::WriteOther)));
    ResponseCacheStore again;
    QString e;
    QVERIFY(again.open(path, &e));
    QCOMPARE(again.lookup("k", kNow)->body, QByteArray("kept"));
}

void TstResponseCacheStore::replayableHeadersExcludeHopByHopAndAirlock() {
    QVERIFY(replayableCacheHeader("Content-Type"));
    QVERIFY(replayableCacheHeader("openai-processing-ms"));
    QVERIFY(replayableCacheHeader("request-id"));
    QVERIFY(!replayableCacheHeader("Transfer-Encoding"));
    QVERIFY(!replayableCacheHeader("Connection"));
    QVERIFY(!replayableCacheHeader("content-length"));
    QVERIFY(!replayableCacheHeader("Set-Cookie"));
    QVERIFY(!replayableCacheHeader("X-Airlock-Request-Id"));
    QVERIFY(!replayableCacheHeader(""));
}

void TstResponseCacheStore::workerLookupAnswersOnCallerThread() {
    QTemporaryDir dir;
    ResponseCache cache;
    QString e;
    QVERIFY2(cache.open(dir.filePath(QStringLiteral("cache.db")), &e), qPrintable(e));
    cache.store("k", QStringLiteral("p"), response("async"), 60, 1 << 20);
    std::optional<CachedResponse> got;
    bool done = false;
    QThread *answeredOn = nullptr;
    cache.lookup("k", this, [&](std::optional<CachedResponse> r) {
        got = std::move(r);
        answeredOn = QThread::currentThread();
        done = true;
    });
    QVERIFY(!done);  // queued: never answered inside lookup()
    QVERIFY(QTest::qWaitFor([&] { return done; }, 5000));
    QCOMPARE(answeredOn, QThread::currentThread());
    QVERIFY(got.has_value());
    QCOMPARE(got->body, QByteArray("async"));
    bool missDone = false;
    cache.lookup("absent", this, [&](std::optional<CachedResponse> r) {
        QVERIFY(!r.has_value());
        missDone = true;
    });
    QVERIFY(QTest::qWaitFor([&] { return missDone; }, 5000));
}

namespace {

// An enforcer holding a signed bundle whose default profile is `profile`.
std::unique_ptr<PolicyEnforcer> enforcerWith(const QJsonObject &profile) {
    Ed25519KeyPair keys;
    QString e;
    if (!generateEd25519KeyPair(&keys, &e)) return {};
    PolicyConfig config;
    config.configured = true;
    config.trustedKeys = {keys.publicPem};
    auto enforcer = std::make_unique<PolicyEnforcer>(config, PriceTable::builtIn());
    const QJsonObject bundle{
        {QStringLiteral("version"), 1},
        {QStringLiteral("issued_at"), QStringLiteral("2026-01-01T00:00:00Z")},
        {QStringLiteral("expires_at"), QStringLiteral("2099-01-01T00:00:00Z")},
        {QStringLiteral("profiles"), QJsonObject{{QStringLiteral("default"), profile}}}};
    const QByteArray env =
        signPolicyBundle(QJsonDocument(bundle).toJson(QJsonDocument::Compact), keys.privatePem, &e);
    if (!enforcer->acceptEnvelope(env, QStringLiteral("test"), &e)) return {};
    return enforcer;
}

PolicyVerdict decide(PolicyEnforcer &enforcer, const QByteArray &id, const QString &app) {
    QByteArray body = R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})";
    PolicyInput in;
    in.requestId = id;
    in.app = app;
    in.format = WireFormat::OpenAI;
    in.kind = EndpointKind::ChatCompletions;
    in.model = "gpt-4o-mini";
    in.maxTokens = 100;
    in.body = &body;
    PolicyVerdict out;
    enforcer.evaluate(in, [&](PolicyVerdict v) { out = v; });
    return out;
}

}  // namespace

void TstResponseCacheStore::verdictCarriesProfileCacheSettings() {
    const QJsonObject profile{
        {QStringLiteral("cache"),
         QJsonObject{{QStringLiteral("ttl_seconds"), 120}, {QStringLiteral("max_bytes"), 5000}}},
        {QStringLiteral("apps"),
         QJsonObject{
             {QStringLiteral("curl"),
              QJsonObject{{QStringLiteral("cache"),
                           QJsonObject{{QStringLiteral("ttl_seconds"), 30},
                                       {QStringLiteral("scope"), QStringLiteral("app")}}}}},
             {QStringLiteral("wget"), QJsonObject{{QStringLiteral("cache"), QJsonObject{}}}}}}};
    const auto enforcer = enforcerWith(profile);
    QVERIFY(enforcer);
    const PolicyVerdict v = decide(*enforcer, "r1", QStringLiteral("python"));
    QVERIFY(v.allow);
    QCOMPARE(v.cacheTtlSeconds, 120);
    QCOMPARE(v.cacheMaxBytes, 5000);
    QVERIFY(!v.cachePerApp);
    const PolicyVerdict curl = decide(*enforcer, "r2", QStringLiteral("curl"));
    QCOMPARE(curl.cacheTtlSeconds, 30);
    QVERIFY(curl.cacheMaxBytes > 0);  // a default bound
    QVERIFY(curl.cachePerApp);
    QCOMPARE(decide(*enforcer, "r3", QStringLiteral("wget")).cacheTtlSeconds, 0);  // turned off
    const auto none = enforcerWith(QJsonObject{});
    QVERIFY(none);
    QCOMPARE(decide(*none, "r4", QStringLiteral("python")).cacheTtlSeconds, 0);
}

void TstResponseCacheStore::cacheHitSettlesWithoutSpendingBudget() {
    const QJsonObject profile{
        {QStringLiteral("cache"), QJsonObject{{QStringLiteral("ttl_seconds"), 60}}},
        {QStringLiteral("budgets"),
         QJsonArray{QJsonObject{{QStringLiteral("period"), QStringLiteral("day")},
                                {QStringLiteral("usd"), 100.0}},
                    QJsonObject{{QStringLiteral("period"), QStringLiteral("day")},
                                {QStringLiteral("tokens"), 1000000}}}}};
    const auto enforcer = enforcerWith(profile);
    QVERIFY(enforcer);
    const QString app = QStringLiteral("python");
    auto spent = [&](double *usd, qint64 *tokens) {
        *usd = 0;
        *tokens = 0;
        const QJsonArray list = enforcer->budgetsJson().value(QLatin1String("budgets")).toArray();
        for (const QJsonValue &b : list) {
            *usd += b.toObject().value(QLatin1String("spent_usd")).toDouble();
            *tokens += b.toObject().value(QLatin1String("spent_tokens")).toInteger();
        }
    };
    QVERIFY(decide(*enforcer, "hit-1", app).allow);
    double usd = 0;
    qint64 tokens = 0;
    spent(&usd, &tokens);
    QVERIFY(usd > 0 || tokens > 0);  // the estimate is reserved while the request runs
    UsageRecord hit;
    hit.id = "hit-1";
    hit.tsMs = QDateTime::currentMSecsSinceEpoch();
    hit.app = app;
    hit.model = QStringLiteral("gpt-4o-mini");
    hit.inputTokens = 11;
    hit.outputTokens = 7;
    hit.costUsd = 0;
    hit.rule = QStringLiteral("cache:hit");
    enforcer->settle(hit.id, hit);
    spent(&usd, &tokens);
    QCOMPARE(usd, 0.0);  // reservation released, nothing spent
    QCOMPARE(tokens, 0);
    // The same answer from the provider does spend.
    QVERIFY(decide(*enforcer, "real-1", app).allow);
    UsageRecord real = hit;
    real.id = "real-1";
    real.rule.clear();
    real.costUsd = 0.001;
    enforcer->settle(real.id, real);
    spent(&usd, &tokens);
    QVERIFY(usd > 0);
    QVERIFY(tokens >= 18);
}

void TstResponseCacheStore::bundleRejectsMalformedCacheKey() {
    auto parse = [](const QByteArray &cache, QString *error) {
        const QByteArray json =
            R"({"version":1,"issued_at":"2026-01-01T00:00:00Z",)"
            R"("expires_at":"2099-01-01T00:00:00Z","profiles":{"default":{"cache":)" +
            cache + "}}}";
        PolicyBundle b;
        return parsePolicyBundle(json, &b, error);
    };
    QString e;
    QVERIFY2(parse(R"({"ttl_seconds":60,"max_bytes":1000,"scope":"app"})", &e), qPrintable(e));
    QVERIFY2(parse("{}", &e), qPrintable(e));
    QVERIFY(!parse(R"({"ttl_seconds":0})", &e));
    QVERIFY2(e.contains(QStringLiteral("ttl_seconds")), qPrintable(e));
    QVERIFY(!parse(R"({"ttl_seconds":"60"})", &e));
    QVERIFY(!parse(R"({"ttl_seconds":1.5})", &e));
    QVERIFY(!parse(R"({"ttl_seconds":60,"max_bytes":-1})", &e));
    QVERIFY(!parse(R"({"ttl_seconds":60,"scope":"user"})", &e));
    QVERIFY(!parse(R"({"ttl_seconds":60,"ttl":5})", &e));
    QVERIFY2(e.contains(QStringLiteral("unknown key")), qPrintable(e));
    QVERIFY(!parse(R"({"max_bytes":1000})", &e));
    QVERIFY(!parse("[]", &e));
}

QTEST_GUILESS_MAIN(TstResponseCacheStore)
#include "tst_response_cache_store.moc"
