// Policy bundles: schema validation with clear errors, Ed25519 signatures (good, bad, tampered),
// profile selection with per-app overrides, and the enforcer's decisions per rule type.
#include "core/policy/policy_bundle.h"
#include "core/policy/policy_enforcer.h"
#include "core/policy/policy_signature.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QtTest>

using namespace airlock;

namespace {

QByteArray compact(const QJsonObject &o) {
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

QJsonObject bundleWith(const QJsonObject &profile, qint64 version = 1) {
    return QJsonObject{
        {QStringLiteral("version"), version},
        {QStringLiteral("issued_at"), QStringLiteral("2026-01-01T00:00:00Z")},
        {QStringLiteral("expires_at"), QStringLiteral("2099-01-01T00:00:00Z")},
        {QStringLiteral("profiles"), QJsonObject{{QStringLiteral("default"), profile}}}};
}

PolicyInput chatInput(QByteArray *body, const QString &app = QStringLiteral("curl"),
                      const QByteArray &id = "r1") {
    PolicyInput in;
    in.requestId = id;
    in.app = app;
    in.format = WireFormat::OpenAI;
    in.kind = EndpointKind::ChatCompletions;
    in.model =
        QJsonDocument::fromJson(*body).object().value(QLatin1String("model")).toString().toUtf8();
    in.body = body;
    return in;
}

struct Signed {
    Ed25519KeyPair keys;
    std::unique_ptr<PolicyEnforcer> enforcer;
};

Signed enforcerWith(const QJsonObject &bundle) {
    Signed s;
    QString e;
    if (!generateEd25519KeyPair(&s.keys, &e)) qFatal("keygen: %s", qPrintable(e));
    PolicyConfig c;
    c.configured = true;
    c.trustedKeys = {s.keys.publicPem};
    s.enforcer = std::make_unique<PolicyEnforcer>(c, PriceTable::builtIn());
    const QByteArray env = signPolicyBundle(compact(bundle), s.keys.privatePem, &e);
    if (!s.enforcer->acceptEnvelope(env, QStringLiteral("test"), &e))
        qFatal("accept: %s", qPrintable(e));
    return s;
}

PolicyVerdict decide(PolicyEnforcer &p, PolicyInput &in) {
    PolicyVerdict out;
    bool called = false;
    p.evaluate(in, [&](PolicyVerdict v) {
        out = v;
        called = true;
    });
    if (!called) qFatal("evaluate did not answer");
    return out;
}

}  // namespace

class TstPolicyBundle : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void exampleBundleIsValid();

    void rejectsInvalidBundlesWithKeyPath_data();
    void rejectsInvalidBundlesWithKeyPath();

    void globsMatch();

    void signatureVerifiesAndDetectsTamperingAndWrongKey();

    void enforcerRejectsRollbackAndAcceptsNewer();

    void deniesModelAndRewritesAlias();

    void appOverrideReplacesProfileKeysForThatAppOnly();

    void monitorModeRecordsRuleButAllows();

    void guardrailBlockMessageNamesDetectorNotContent();
    void redactionAsksThePipelineToReadTheBodyAgain();

    void failsClosedWithoutBundleAndOpenWhenConfigured();

    void expiredBundleFollowsProfileFailMode();
};

void TstPolicyBundle::exampleBundleIsValid() {
    PolicyBundle b;
    QString e;
    QVERIFY2(parsePolicyBundle(examplePolicyBundle(), &b, &e), qPrintable(e));
    QCOMPARE(b.version, 1);
    QVERIFY(b.profiles.contains(QStringLiteral("default")));
    const Profile *curl = b.profileFor(QStringLiteral("default"), QStringLiteral("curl"));
    QCOMPARE(curl->models.allow, QStringList{QStringLiteral("gpt-4o-mini")});
    QCOMPARE(curl->rateLimits.size(), 1);
    QCOMPARE(curl->rateLimits[0].rpm, 5);
    // Keys the app does not override stay the profile's.
    QCOMPARE(curl->budgets.size(), b.profiles[QStringLiteral("default")].budgets.size());
    QCOMPARE(b.profileFor(QStringLiteral("default"), QStringLiteral("other"))->rateLimits.size(),
             2);
}

void TstPolicyBundle::rejectsInvalidBundlesWithKeyPath_data() {
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("errorStart");
    const auto withProfile = [](const char *p) {
        return QByteArray(
                   "{\"version\":1,\"issued_at\":\"2026-01-01T00:00:00Z\",\"expires_at\":\"2027-01-"
                   "01T00:00:00Z\",\"profiles\":{\"default\":") +
               p + "}}";
    };
    QTest::newRow("not json") << QByteArray("{") << "bundle: invalid JSON";
    QTest::newRow("version") << QByteArray(R"({"version":0})") << "version:";
    QTest::newRow("expiry before issue")
        << QByteArray(
               R"({"version":1,"issued_at":"2026-01-02T00:00:00Z","expires_at":"2026-01-01T00:00:00Z","profiles":{}})")
        << "expires_at:";
    QTest::newRow("no profiles")
        << QByteArray(
               R"({"version":1,"issued_at":"2026-01-01T00:00:00Z","expires_at":"2027-01-01T00:00:00Z","profiles":{}})")
        << "profiles:";
    QTest::newRow("bad period") << withProfile(R"({"budgets":[{"period":"year","usd":1}]})")
                                << "profiles.default.budgets[0].period:";
    QTest::newRow("budget without limit")
        << withProfile(R"({"budgets":[{"period":"day"}]})") << "profiles.default.budgets[0]:";
    QTest::newRow("warn_at range")
        << withProfile(R"({"budgets":[{"period":"day","usd":1,"warn_at":2}]})")
        << "profiles.default.budgets[0].warn_at:";
    QTest::newRow("unknown detector")
        << withProfile(R"({"guardrails":{"detectors":{"dna":"block"}}})")
        << "profiles.default.guardrails.detectors.dna:";
    QTest::newRow("bad action") << withProfile(R"({"guardrails":{"detectors":{"email":"shred"}}})")
                                << "profiles.default.guardrails.detectors.email:";
    QTest::newRow("bad regex")
        << withProfile(R"({"guardrails":{"patterns":[{"name":"x","regex":"(","action":"block"}]}})")
        << "profiles.default.guardrails.patterns[0].regex:";
    QTest::newRow("bad mode") << withProfile(R"({"mode":"audit"})") << "profiles.default.mode:";
    QTest::newRow("rate limit empty") << withProfile(R"({"rate_limits":[{"scope":"device"}]})")
                                      << "profiles.default.rate_limits[0]:";
    QTest::newRow("unknown key") << withProfile(R"({"modles":{}})") << "profiles.default.modles:";
    QTest::newRow("app override error")
        << withProfile(R"({"apps":{"curl":{"models":{"allow":[1]}}}})")
        << "profiles.default.apps.curl.models.allow[0]:";
}

void TstPolicyBundle::rejectsInvalidBundlesWithKeyPath() {
    QFETCH(QByteArray, json);
    QFETCH(QString, errorStart);
    PolicyBundle b;
    QString e;
    QVERIFY(!parsePolicyBundle(json, &b, &e));
    QVERIFY2(e.startsWith(errorStart), qPrintable(e));
}

void TstPolicyBundle::globsMatch() {
    QVERIFY(globMatch(u"gpt-4o*", u"gpt-4o-mini"));
    QVERIFY(globMatch(u"*-preview", u"o1-preview"));
    QVERIFY(globMatch(u"claude-*-4*", u"claude-sonnet-4-5"));
    QVERIFY(!globMatch(u"gpt-4o", u"gpt-4o-mini"));
    QVERIFY(!globMatch(u"claude-*", u"gpt-4o"));
}

void TstPolicyBundle::signatureVerifiesAndDetectsTamperingAndWrongKey() {
    Ed25519KeyPair a, b;
    QString e;
    QVERIFY(generateEd25519KeyPair(&a, &e));
    QVERIFY(generateEd25519KeyPair(&b, &e));
    QVERIFY(a.privatePem.startsWith("-----BEGIN PRIVATE KEY-----"));
    QCOMPARE(publicKeyOf(a.privatePem, &e), a.publicPem);
    const QByteArray payload = compact(examplePolicyBundle());
    const QByteArray env = signPolicyBundle(payload, a.privatePem, &e);
    QVERIFY2(!env.isEmpty(), qPrintable(e));
    SignedEnvelope parsed;
    QVERIFY2(parseEnvelope(env, &parsed, &e), qPrintable(e));
    QCOMPARE(parsed.payload, payload);
    QCOMPARE(parsed.keyId, keyIdOf(a.publicPem, &e));
    QVERIFY2(verifyEnvelope(parsed, {b.publicPem, a.publicPem}, &e), qPrintable(e));
    QVERIFY(!verifyEnvelope(parsed, {b.publicPem}, &e));
    QVERIFY2(e.startsWith(QStringLiteral("bad signature")), qPrintable(e));
    SignedEnvelope tampered = parsed;
    tampered.payload.replace("\"usd\":5", "\"usd\":500");
    QVERIFY(tampered.payload != parsed.payload);
    QVERIFY(!verifyEnvelope(tampered, {a.publicPem}, &e));
    QVERIFY(!verifyEnvelope(parsed, {}, &e));
    QVERIFY(!parseEnvelope(payload, &parsed, &e));  // an unsigned bundle is not an envelope
    QVERIFY(!verifyEnvelope(parsed, {QByteArray("not a key")}, &e));
}

void TstPolicyBundle::enforcerRejectsRollbackAndAcceptsNewer() {
    Signed s = enforcerWith(bundleWith(QJsonObject{}, 5));
    QString e;
    const QByteArray older =
        signPolicyBundle(compact(bundleWith(QJsonObject{}, 4)), s.keys.privatePem, &e);
    QVERIFY(!s.enforcer->acceptEnvelope(older, QStringLiteral("t"), &e));
    QVERIFY2(e.contains(QStringLiteral("rollback")), qPrintable(e));
    QCOMPARE(s.enforcer->version(), 5);
    const QByteArray newer =
        signPolicyBundle(compact(bundleWith(QJsonObject{}, 6)), s.keys.privatePem, &e);
    QVERIFY2(s.enforcer->acceptEnvelope(newer, QStringLiteral("t"), &e), qPrintable(e));
    QCOMPARE(s.enforcer->version(), 6);
    QCOMPARE(s.enforcer->state(), QStringLiteral("active"));
}

void TstPolicyBundle::deniesModelAndRewritesAlias() {
    Signed s = enforcerWith(bundleWith(QJsonObject{
        {QStringLiteral("models"),
         QJsonObject{{QStringLiteral("allow"), QJsonArray{QStringLiteral("gpt-4o*")}},
                     {QStringLiteral("deny"), QJsonArray{QStringLiteral("*-preview")}},
                     {QStringLiteral("aliases"),
                      QJsonObject{{QStringLiteral("gpt-4o"), QStringLiteral("gpt-4o-mini")}}},
                     {QStringLiteral("max_tokens"), 100}}}}));
    QByteArray denied = R"({"model":"gpt-4o-preview","messages":[]})";
    PolicyInput in = chatInput(&denied);
    PolicyVerdict v = decide(*s.enforcer, in);
    QVERIFY(!v.allow);
    QCOMPARE(v.errorKind, ErrorKind::PermissionDenied);
    QCOMPARE(v.errorCode, QByteArray("model_not_allowed"));
    QVERIFY(v.message.contains(QStringLiteral("gpt-4o-preview")));
    QByteArray other = R"({"model":"claude-x","messages":[]})";
    in = chatInput(&other);
    QVERIFY(!decide(*s.enforcer, in).allow);
    QByteArray aliased = R"({"model":"gpt-4o","max_tokens":5000,"messages":[]})";
    in = chatInput(&aliased);
    v = decide(*s.enforcer, in);
    QVERIFY(v.allow);
    QVERIFY(v.bodyRewritten);
    const QJsonObject o = QJsonDocument::fromJson(aliased).object();
    QCOMPARE(o.value(QLatin1String("model")).toString(), QStringLiteral("gpt-4o-mini"));
    QCOMPARE(o.value(QLatin1String("max_tokens")).toInt(), 100);
    // The pipeline takes the edited values from the verdict instead of reading the body again.
    QVERIFY(!v.bodyRedacted);
    QCOMPARE(v.model, QByteArray("gpt-4o-mini"));
    QCOMPARE(v.maxTokens, 100);
    // The rewrite is a byte edit: key order, spacing and number spelling stay as the client sent.
    QByteArray spaced = R"({ "model" : "gpt-4o", "temperature": 1.0e0, "messages": [] })";
    in = chatInput(&spaced);
    QVERIFY(decide(*s.enforcer, in).allow);
    QCOMPARE(spaced, QByteArray(R"({"max_tokens":100, "model" : "gpt-4o-mini", "temperature": 1.0e0, "messages": [] })"));
    // Under the cap: nothing changes.
    QByteArray small = R"({"model":"gpt-4o-mini","max_tokens":50,"messages":[]})";
    const QByteArray before = small;
    in = chatInput(&small);
    v = decide(*s.enforcer, in);
    QVERIFY(v.allow);
    QVERIFY(!v.bodyRewritten);
    QCOMPARE(small, before);
}

void TstPolicyBundle::appOverrideReplacesProfileKeysForThatAppOnly() {
    const QJsonObject profile{
        {QStringLiteral("models"),
         QJsonObject{{QStringLiteral("allow"), QJsonArray{QStringLiteral("gpt-*")}}}},
        {QStringLiteral("apps"),
         QJsonObject{{QStringLiteral("claude"),
                      QJsonObject{{QStringLiteral("models"),
                                   QJsonObject{{QStringLiteral("allow"),
                                                QJsonArray{QStringLiteral("claude-*")}}}}}}}}};
    Signed s = enforcerWith(bundleWith(profile));
    QByteArray body = R"({"model":"claude-sonnet-4-5","messages":[]})";
    PolicyInput in = chatInput(&body, QStringLiteral("claude"));
    QVERIFY(decide(*s.enforcer, in).allow);
    in = chatInput(&body, QStringLiteral("curl"));
    QVERIFY(!decide(*s.enforcer, in).allow);
}

void TstPolicyBundle::monitorModeRecordsRuleButAllows() {
    Signed s = enforcerWith(bundleWith(QJsonObject{
        {QStringLiteral("mode"), QStringLiteral("monitor")},
        {QStringLiteral("models"),
         QJsonObject{{QStringLiteral("deny"), QJsonArray{QStringLiteral("gpt-*")}}}},
        {QStringLiteral("guardrails"),
         QJsonObject{{QStringLiteral("detectors"),
                      QJsonObject{{QStringLiteral("email"), QStringLiteral("redact")}}}}}}));
    QByteArray body = R"({"model":"gpt-4o","messages":[{"role":"user","content":"a@b.com"}]})";
    const QByteArray before = body;
    PolicyInput in = chatInput(&body);
    const PolicyVerdict v = decide(*s.enforcer, in);
    QVERIFY(v.allow);
    QVERIFY2(v.rule.startsWith(QStringLiteral("monitor:models:gpt-4o")), qPrintable(v.rule));
    QVERIFY(v.rule.contains(QStringLiteral("redact:email")));
    QCOMPARE(body, before);  // monitor never rewrites
}

void TstPolicyBundle::redactionAsksThePipelineToReadTheBodyAgain() {
    Signed s = enforcerWith(bundleWith(QJsonObject{
        {QStringLiteral("models"), QJsonObject{{QStringLiteral("max_tokens"), 100}}},
        {QStringLiteral("guardrails"),
         QJsonObject{{QStringLiteral("detectors"),
                      QJsonObject{{QStringLiteral("email"), QStringLiteral("redact")}}}}}}));
    QByteArray body = R"({"model":"gpt-4o","messages":[{"role":"user","content":"a@b.com"}]})";
    PolicyInput in = chatInput(&body);
    const PolicyVerdict v = decide(*s.enforcer, in);
    QVERIFY(v.allow);
    QVERIFY(v.bodyRewritten);
    QVERIFY(v.bodyRedacted);
    QVERIFY(!body.contains("a@b.com"));
    QVERIFY(body.contains(R"("max_tokens":100)"));
}

void TstPolicyBundle::guardrailBlockMessageNamesDetectorNotContent() {
    Signed s = enforcerWith(bundleWith(QJsonObject{
        {QStringLiteral("guardrails"),
         QJsonObject{{QStringLiteral("detectors"),
                      QJsonObject{{QStringLiteral("us_ssn"), QStringLiteral("block")}}}}}}));
    QByteArray body =
        R"({"model":"gpt-4o","messages":[{"role":"user","content":"ssn 123-45-6789"}]})";
    PolicyInput in = chatInput(&body);
    const PolicyVerdict v = decide(*s.enforcer, in);
    QVERIFY(!v.allow);
    QCOMPARE(v.rule, QStringLiteral("guardrail:us_ssn"));
    QVERIFY(!v.message.contains(QStringLiteral("123-45")));
    QVERIFY(v.message.contains(QStringLiteral("social security")));
}

void TstPolicyBundle::failsClosedWithoutBundleAndOpenWhenConfigured() {
    PolicyConfig c;
    c.configured = true;
    PolicyEnforcer closed(c, PriceTable::builtIn());
    QByteArray body = R"({"model":"gpt-4o","messages":[]})";
    PolicyInput in = chatInput(&body);
    PolicyVerdict v = decide(closed, in);
    QVERIFY(!v.allow);
    QCOMPARE(v.errorKind, ErrorKind::Unavailable);
    QCOMPARE(v.outcome, QStringLiteral("policy_unavailable"));
    c.failMode = FailMode::Open;
    PolicyEnforcer open(c, PriceTable::builtIn());
    QVERIFY(decide(open, in).allow);
}

void TstPolicyBundle::expiredBundleFollowsProfileFailMode() {
    Signed s = enforcerWith(
        bundleWith(QJsonObject{{QStringLiteral("fail_mode"), QStringLiteral("open")}}));
    s.enforcer->setNow([] { return QDateTime(QDate(2100, 1, 1), QTime(0, 0), Qt::UTC); });
    QCOMPARE(s.enforcer->state(), QStringLiteral("expired"));
    QByteArray body = R"({"model":"gpt-4o","messages":[]})";
    PolicyInput in = chatInput(&body);
    QVERIFY(decide(*s.enforcer, in).allow);
    Signed c = enforcerWith(
        bundleWith(QJsonObject{{QStringLiteral("fail_mode"), QStringLiteral("closed")}}));
    c.enforcer->setNow([] { return QDateTime(QDate(2100, 1, 1), QTime(0, 0), Qt::UTC); });
    in = chatInput(&body);
    QCOMPARE(decide(*c.enforcer, in).errorKind, ErrorKind::Unavailable);
}

QTEST_GUILESS_MAIN(TstPolicyBundle)
#include "tst_policy_bundle.moc"
