// Content detectors: true positives and near-miss negatives per detector, redaction that keeps
// every supported request format valid JSON, and fail-closed on unparsable bodies.
#include "core/guard/content_scanner.h"
#include "core/guard/request_guard.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

using namespace airlock;

namespace {

GuardrailRules allDetectors(GuardAction action) {
    GuardrailRules r;
    for (const QString &d : knownDetectors()) r.detectors.insert(d, action);
    return r;
}

QStringList found(const QString &text) {
    const ContentScanner scanner(allDetectors(GuardAction::Block));
    QList<GuardMatch> m;
    scanner.scan(text, &m);
    QStringList out;
    for (const GuardMatch &g : m)
        out.append(scanner.ruleName(g) + QLatin1Char('=') + text.mid(g.start, g.length));
    return out;
}

}  // namespace

class TstGuardDetectors : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void detectsTruePositives_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("expected");
        QTest::newRow("email") << "mail me at jane.doe+x@example.co.uk please"
                               << "email=jane.doe+x@example.co.uk";
        QTest::newRow("phone-us") << "call 415-555-0132 now"
                                  << "phone=415-555-0132";
        QTest::newRow("phone-paren") << "call (415) 555-0132"
                                     << "phone=(415) 555-0132";
        QTest::newRow("phone-intl") << "tel +44 20 7946 0958."
                                    << "phone=+44 20 7946 0958";
        QTest::newRow("visa") << "card 4111 1111 1111 1111 exp"
                              << "credit_card=4111 1111 1111 1111";
        QTest::newRow("visa-dashes") << "4111-1111-1111-1111"
                                     << "credit_card=4111-1111-1111-1111";
        QTest::newRow("amex") << "amex 378282246310005"
                              << "credit_card=378282246310005";
        QTest::newRow("ssn") << "ssn 123-45-6789."
                             << "us_ssn=123-45-6789";
        QTest::newRow("iban") << "pay DE89370400440532013000 today"
                              << "iban=DE89370400440532013000";
        QTest::newRow("iban-spaced") << "IBAN GB82 WEST 1234 5698 7654 32 thanks"
                                     << "iban=GB82 WEST 1234 5698 7654 32";
        QTest::newRow("ipv4") << "host 192.168.10.254:8080"
                              << "ip_address=192.168.10.254";
        QTest::newRow("openai") << "key=sk-proj-AbC123dEf456GhI789jKl012MnO"
                                << "api_key=sk-proj-AbC123dEf456GhI789jKl012MnO";
        QTest::newRow("anthropic") << "sk-ant-api03-abcDEF1234567890abcdefGHIJ"
                                   << "api_key=sk-ant-api03-abcDEF1234567890abcdefGHIJ";
        QTest::newRow("google") << "AIzaSyD-1234567890abcdefghijklmnopqrstu"
                                << "api_key=AIzaSyD-1234567890abcdefghijklmnopqrstu";
        QTest::newRow("aws") << "AKIAIOSFODNN7EXAMPLE"
                             << "api_key=AKIAIOSFODNN7EXAMPLE";
        QTest::newRow("github") << "ghp_" + QString(36, QLatin1Char('a'))
                                << "api_key=ghp_" + QString(36, QLatin1Char('a'));
        QTest::newRow("github-pat") << "github_pat_11ABCDEFG0123456789_abcdefXYZ"
                                    << "api_key=github_pat_11ABCDEFG0123456789_abcdefXYZ";
        QTest::newRow("slack") << "xoxb-123456789012-abcdefABCDEF"
                               << "api_key=xoxb-123456789012-abcdefABCDEF";
        QTest::newRow("stripe") << "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
                                << "api_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc";
        QTest::newRow("jwt") << "Bearer "
                                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
                                "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
                             << "jwt=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
                                "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        QTest::newRow("private-key")
            << "x -----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- y"
            << "private_key=-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----";
    }
    void detectsTruePositives() {
        QFETCH(QString, text);
        QFETCH(QString, expected);
        QCOMPARE(found(text), QStringList{expected});
    }

    void ignoresNearMisses_data() {
        QTest::addColumn<QString>("text");
        QTest::newRow("16 digits failing Luhn") << "order 4111 1111 1111 1112";
        QTest::newRow("card-like inside a longer number") << "id 41111111111111112222";
        QTest::newRow("iban bad checksum") << "pay DE88370400440532013000 today";
        QTest::newRow("ssn area 000") << "000-12-3456";
        QTest::newRow("ssn area 666") << "666-12-3456";
        QTest::newRow("ssn area 9xx") << "912-12-3456";
        QTest::newRow("ssn group 00") << "123-00-4567";
        QTest::newRow("ssn serial 0000") << "123-45-0000";
        QTest::newRow("ip octet > 255") << "version 1.256.3.4";
        QTest::newRow("five part version") << "1.2.3.4.5";
        QTest::newRow("email without tld") << "user@localhost";
        QTest::newRow("date") << "on 2026-11-25 at 10:00";
        QTest::newRow("short number") << "call 555-0132";
        QTest::newRow("sk- prose") << "use sk-learn for this";
        QTest::newRow("aws too short") << "AKIAIOSFODNN7";
        QTest::newRow("jwt-like prose") << "eyJust.a.word";
        QTest::newRow("public key") << "-----BEGIN PUBLIC KEY-----\nMCow\n-----END PUBLIC KEY-----";
        QTest::newRow("word containing key prefix") << "mask-proj-abcdefghijklmnop1234567";
    }
    void ignoresNearMisses() {
        QFETCH(QString, text);
        QCOMPARE(found(text), QStringList{});
    }

    void luhnAndIbanPrimitives() {
        QVERIFY(ContentScanner::luhnValid(u"4111111111111111"));
        QVERIFY(!ContentScanner::luhnValid(u"4111111111111112"));
        QVERIFY(ContentScanner::ibanChecksumValid(u"GB82WEST12345698765432"));
        QVERIFY(!ContentScanner::ibanChecksumValid(u"GB83WEST12345698765432"));
    }

    void adminPatternMatches() {
        GuardrailRules r;
        r.patterns.append(PatternRule{QStringLiteral("project-x"),
                                      QStringLiteral("PROJECT-X-[0-9]+"), GuardAction::Block});
        const ContentScanner s(r);
        QList<GuardMatch> m;
        s.scan(u"see PROJECT-X-42 and PROJECT-Y-1", &m);
        QCOMPARE(m.size(), 1);
        QCOMPARE(s.ruleName(m[0]), QStringLiteral("project-x"));
        QCOMPARE(m[0].start, 4);
    }

    void redactionKeepsJsonValidInEveryFormat_data() {
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<int>("expectedRedactions");
        QTest::newRow("openai chat string + parts + tool")
            << QByteArray(
                   "{\"model\":\"gpt-4o\",\"messages\":["
                   "{\"role\":\"system\",\"content\":\"admin is root@corp.example.com\"},"
                   "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"mail "
                   "\\\"bob@x.io\\\" now\"}]},"
                   "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
                   "\"function\":"
                   "{\"name\":\"send\",\"arguments\":\"{\\\"to\\\":\\\"eve@y.org\\\"}\"}}]},"
                   "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"sent to "
                   "eve@y.org\"}]}")
            << 4;
        QTest::newRow("responses string input")
            << QByteArray(R"({"model":"gpt-4o","input":"write to a@b.com"})") << 1;
        QTest::newRow("responses items")
            << QByteArray(
                   R"({"model":"gpt-4o","instructions":"cc ops@z.com","input":[{"role":"user","content":[{"type":"input_text","text":"x a@b.com"}]},{"type":"function_call_output","call_id":"1","output":"c@d.net"}]})")
            << 3;
        QTest::newRow("completions prompt")
            << QByteArray(R"({"model":"gpt-3.5-turbo-instruct","prompt":["a@b.com","no"]})") << 1;
        QTest::newRow("embeddings input")
            << QByteArray(R"({"model":"text-embedding-3-small","input":"a@b.com"})") << 1;
        QTest::newRow("anthropic")
            << QByteArray(
                   R"({"model":"claude-x","system":[{"type":"text","text":"a@b.com"}],"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"c@d.com"}]},{"type":"text","text":"e@f.com"}]}]})")
            << 3;
        QTest::newRow("gemini")
            << QByteArray(
                   R"({"systemInstruction":{"parts":[{"text":"a@b.com"}]},"contents":[{"role":"user","parts":[{"text":"c@d.com"},{"inline_data":{"mime_type":"image/png","data":"YUBiLmNvbQ=="}}]}]})")
            << 2;
    }
    void redactionKeepsJsonValidInEveryFormat() {
        QFETCH(QByteArray, body);
        QFETCH(int, expectedRedactions);
        GuardrailRules r;
        r.detectors.insert(QStringLiteral("email"), GuardAction::Redact);
        const ContentScanner s(r);
        const GuardOutcome g = guardRequestBody(s, &body, true);
        QVERIFY(g.parsed);
        QVERIFY(!g.blocked);
        QVERIFY(g.bodyChanged);
        QJsonParseError pe;
        QJsonDocument::fromJson(body, &pe);
        QCOMPARE(pe.error, QJsonParseError::NoError);
        QCOMPARE(int(body.count("[REDACTED:email]")), expectedRedactions);
        QVERIFY(!body.contains("@b.com"));
        QVERIFY(!body.contains("@d.com"));
    }

    void blockNamesRuleAndPathNotContent() {
        GuardrailRules r;
        r.detectors.insert(QStringLiteral("credit_card"), GuardAction::Block);
        const ContentScanner s(r);
        QByteArray body = R"({"messages":[{"role":"user","content":"pay with 4111111111111111"}]})";
        const QByteArray before = body;
        const GuardOutcome g = guardRequestBody(s, &body, true);
        QVERIFY(g.blocked);
        QCOMPARE(g.blockRule, QStringLiteral("credit_card"));
        QCOMPARE(g.blockWhere, QStringLiteral("messages[0].content"));
        QCOMPARE(body, before);
    }

    void unparsableBodyIsReportedSoTheCallerFailsClosed() {
        const ContentScanner s(allDetectors(GuardAction::Redact));
        QByteArray body = "{\"messages\": [ not json";
        QVERIFY(!guardRequestBody(s, &body, true).parsed);
    }

    void escapedTextIsDecodedBeforeScanning() {
        GuardrailRules r;
        r.detectors.insert(QStringLiteral("email"), GuardAction::Redact);
        const ContentScanner s(r);
        QByteArray body = "{\"input\":\"mail a\\u0040b.com\\n\\\"quoted\\\"\"}";
        const GuardOutcome g = guardRequestBody(s, &body, true);
        QVERIFY(g.parsed);
        QVERIFY(g.bodyChanged);
        const QJsonObject o = QJsonDocument::fromJson(body).object();
        QCOMPARE(o.value(QLatin1String("input")).toString(),
                 QStringLiteral("mail [REDACTED:email]\n\"quoted\""));
    }

    void redactionLeavesOtherBytesExactlyAsSent() {
        GuardrailRules r;
        r.detectors.insert(QStringLiteral("email"), GuardAction::Redact);
        const ContentScanner s(r);
        QByteArray body = "{ \"z\": 1.50e3, \"input\": \"to a@b.com\",\n \"a\": [true, null] }";
        QVERIFY(guardRequestBody(s, &body, true).bodyChanged);
        QCOMPARE(
            body,
            QByteArray(
                "{ \"z\": 1.50e3, \"input\": \"to [REDACTED:email]\",\n \"a\": [true, null] }"));
    }

    void malformedJsonFailsClosed_data() {
        QTest::addColumn<QByteArray>("body");
        QTest::newRow("trailing garbage") << QByteArray("{\"a\":\"b\"} x");
        QTest::newRow("bad escape") << QByteArray("{\"a\":\"\\q\"}");
        QTest::newRow("short unicode escape") << QByteArray("{\"a\":\"\\u12\"}");
        QTest::newRow("raw control char") << QByteArray("{\"a\":\"x\ny\"}");
        QTest::newRow("unterminated") << QByteArray("{\"a\":[1,2");
        QTest::newRow("bare scalar") << QByteArray("\"text\"");
        QTest::newRow("bad number") << QByteArray("{\"a\":01}");
        QTest::newRow("missing colon") << QByteArray("{\"a\" 1}");
        QTest::newRow("invalid utf-8") << QByteArray("{\"a\":\"caf\xc3(\"}");
        QTest::newRow("too deep") << QByteArray(600, '[') + QByteArray(600, ']');
    }
    void malformedJsonFailsClosed() {
        QFETCH(QByteArray, body);
        const ContentScanner s(allDetectors(GuardAction::Redact));
        QVERIFY(!guardRequestBody(s, &body, true).parsed);
    }

    void warnLeavesBodyUntouched() {
        const ContentScanner s(allDetectors(GuardAction::Warn));
        QByteArray body = R"({"input":"server 10.0.0.1"})";
        const GuardOutcome g = guardRequestBody(s, &body, true);
        QCOMPARE(g.warnedRules, QStringList{QStringLiteral("ip_address")});
        QVERIFY(!g.bodyChanged);
    }
};

QTEST_GUILESS_MAIN(TstGuardDetectors)
#include "tst_guard_detectors.moc"
