#include "core/providers/json_scan.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace airlock;
namespace js = airlock::json_scan;

namespace {

bool qtAccepts(const QByteArray &text) {
    QJsonParseError error;
    QJsonDocument::fromJson(text, &error);
    return error.error == QJsonParseError::NoError;
}

QByteArray nested(int depth) {
    return QByteArray(depth, '[') + QByteArray(depth, ']');
}

// The value of the only element of a one-element array, as QJsonValue gives it.
QJsonValue qtElement(const QByteArray &token) {
    return QJsonDocument::fromJson("[" + token + "]").array().at(0);
}

}  // namespace

class TestJsonScan : public QObject {
    Q_OBJECT

private slots:
    void acceptsValidDocumentsLikeQJsonDocument_data() {
        QTest::addColumn<QByteArray>("text");
        QTest::newRow("empty object") << QByteArray("{}");
        QTest::newRow("empty array with spaces") << QByteArray(" \t\r\n[ ] \n");
        QTest::newRow("bom") << QByteArray("\xEF\xBB\xBF{\"a\":1}");
        QTest::newRow("all scalars") << QByteArray("[true,false,null,\"s\",0,-0,1.5,-2e-3,3E+2]");
        QTest::newRow("negative zero forms") << QByteArray("[-0,-0.0,-0e0,0e999]");
        QTest::newRow("escapes") << QByteArray(
            "[\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000 \\u00e9\"]");
        QTest::newRow("surrogate pair") << QByteArray("[\"\\ud83d\\ude00\"]");
        QTest::newRow("lone surrogates (RFC 8259 8.2)")
            << QByteArray("[\"\\ud800\", \"\\udc00x\"]");
        QTest::newRow("utf-8 of every length")
            << QByteArray("[\"A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF\"]");
        QTest::newRow("non-character U+FFFE") << QByteArray("[\"\xEF\xBF\xBE\"]");
        QTest::newRow("nested") << QByteArray(
            "{\"a\":{\"b\":[{\"c\":[[],{}]}]},\"d\":[1,[2,[3]]]}");
        QTest::newRow("depth limit") << nested(js::kMaxNestingDepth);
        QTest::newRow("denormal") << QByteArray("[4.9e-324,1e-310]");
        QTest::newRow("largest double") << QByteArray("[1.7976931348623157e308]");
        QTest::newRow("long mantissa") << QByteArray("[" + QByteArray(300, '1') + "e-250]");
        QTest::newRow("duplicate keys") << QByteArray("{\"a\":1,\"a\":2}");
    }
    void acceptsValidDocumentsLikeQJsonDocument() {
        QFETCH(QByteArray, text);
        const js::Validation v = js::validate(text);
        QVERIFY2(v.ok(), js::errorText(v.error));
        QVERIFY(qtAccepts(text));
    }

    void refusesInvalidDocuments_data() {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<int>("error");
        QTest::addColumn<qsizetype>("offset");
        QTest::addColumn<bool>("qtAlsoRefuses");
        const auto e = [](js::JsonError error) { return int(error); };
        using E = js::JsonError;
        QTest::newRow("empty") << QByteArray() << e(E::NotAContainer) << qsizetype(0) << true;
        QTest::newRow("bom only") << QByteArray("\xEF\xBB\xBF") << e(E::NotAContainer)
                                  << qsizetype(0) << true;
        QTest::newRow("top-level scalar")
            << QByteArray("\"s\"") << e(E::NotAContainer) << qsizetype(0) << true;
        QTest::newRow("trailing garbage")
            << QByteArray("{} {}") << e(E::GarbageAtEnd) << qsizetype(3) << true;
        QTest::newRow("nul after document")
            << QByteArray("[1]\0", 4) << e(E::GarbageAtEnd) << qsizetype(3) << true;
        QTest::newRow("unterminated array")
            << QByteArray("[1,2") << e(E::UnexpectedEnd) << qsizetype(4) << true;
        QTest::newRow("unterminated string")
            << QByteArray("[\"abc") << e(E::UnterminatedString) << qsizetype(5) << true;
        QTest::newRow("missing colon")
            << QByteArray("{\"a\" 1}") << e(E::MissingNameSeparator) << qsizetype(5) << true;
        QTest::newRow("missing comma")
            << QByteArray("[1 2]") << e(E::MissingValueSeparator) << qsizetype(3) << true;
        QTest::newRow("trailing comma in array")
            << QByteArray("[1,]") << e(E::IllegalValue) << qsizetype(3) << true;
        QTest::newRow("trailing comma in object")
            << QByteArray("{\"a\":1,}") << e(E::ExpectedKey) << qsizetype(7) << true;
        QTest::newRow("non-string key")
            << QByteArray("{1:2}") << e(E::ExpectedKey) << qsizetype(1) << true;
        QTest::newRow("mismatched bracket")
            << QByteArray("[1}") << e(E::MissingValueSeparator) << qsizetype(2) << true;
        QTest::newRow("bad literal")
            << QByteArray("[nul]") << e(E::IllegalValue) << qsizetype(1) << true;
        QTest::newRow("leading zero")
            << QByteArray("[01]") << e(E::IllegalNumber) << qsizetype(2) << true;
        QTest::newRow("lone minus")
            << QByteArray("[-]") << e(E::IllegalNumber) << qsizetype(2) << true;
        QTest::newRow("plus sign")
            << QByteArray("[+1]") << e(E::IllegalValue) << qsizetype(1) << true;
        QTest::newRow("exponent without digits")
            << QByteArray("[1e]") << e(E::IllegalNumber) << qsizetype(3) << true;
        QTest::newRow("overflow") << QByteArray("[1e400]") << e(E::NumberOutOfRange) << qsizetype(1)
                                  << true;
        QTest::newRow("underflow")
            << QByteArray("[-1e-400]") << e(E::NumberOutOfRange) << qsizetype(1) << true;
        QTest::newRow("huge integer spelled out") << QByteArray("[" + QByteArray(400, '9') + "]")
                                                  << e(E::NumberOutOfRange) << qsizetype(1) << true;
        QTest::newRow("bad \\u") << QByteArray("[\"\\u12G4\"]") << e(E::InvalidEscape)
                                 << qsizetype(2) << true;
        QTest::newRow("overlong utf-8")
            << QByteArray("[\"\xC0\xAF\"]") << e(E::InvalidUtf8) << qsizetype(2) << true;
        QTest::newRow("utf-8 surrogate")
            << QByteArray("[\"\xED\xA0\x80\"]") << e(E::InvalidUtf8) << qsizetype(2) << true;
        QTest::newRow("beyond U+10FFFF")
            << QByteArray("[\"\xF4\x90\x80\x80\"]") << e(E::InvalidUtf8) << qsizetype(2) << true;
        QTest::newRow("cut-off utf-8")
            << QByteArray("[\"\xE2\x82\"]") << e(E::InvalidUtf8) << qsizetype(2) << true;
        QTest::newRow("too deep") << nested(js::kMaxNestingDepth + 1) << e(E::DeepNesting)
                                  << qsizetype(js::kMaxNestingDepth) << true;
        // QJsonDocument is laxer here; RFC 8259 (and strict upstream parsers) refuse these.
        QTest::newRow("raw control char")
            << QByteArray("[\"a\tb\"]") << e(E::ControlCharInString) << qsizetype(3) << false;
        QTest::newRow("raw nul in string")
            << QByteArray("[\"a\0b\"]", 7) << e(E::ControlCharInString) << qsizetype(3) << false;
        QTest::newRow("unknown escape")
            << QByteArray("[\"\\a\"]") << e(E::InvalidEscape) << qsizetype(2) << false;
        QTest::newRow("bare fraction")
            << QByteArray("[.5]") << e(E::IllegalValue) << qsizetype(1) << false;
        QTest::newRow("trailing dot")
            << QByteArray("[1.]") << e(E::IllegalNumber) << qsizetype(3) << false;
    }
    void refusesInvalidDocuments() {
        QFETCH(QByteArray, text);
        QFETCH(int, error);
        QFETCH(qsizetype, offset);
        QFETCH(bool, qtAlsoRefuses);
        const js::Validation v = js::validate(text);
        QCOMPARE(int(v.error), error);
        QCOMPARE(v.offset, offset);
        QCOMPARE(!qtAccepts(text), qtAlsoRefuses);
    }

    void reportsTopLevelMembersOnlyWithTheirSpans() {
        const QByteArray text = " {\"a\" : [1,{\"x\":2}], \"b\\\"c\":\"v\", \"d\":{}} ";
        QList<QByteArray> keys;
        QList<QByteArray> values;
        QList<bool> escaped;
        const js::Validation v = js::validate(text, [&](const js::MemberSpan &m) {
            keys.append(m.rawKey.toByteArray());
            values.append(text.sliced(m.valueBegin, m.valueEnd - m.valueBegin));
            escaped.append(m.keyEscaped);
            QCOMPARE(text.at(m.keyBegin), '"');
        });
        QVERIFY(v.ok());
        QCOMPARE(keys, (QList<QByteArray>{"a", "b\\\"c", "d"}));
        QCOMPARE(values, (QList<QByteArray>{"[1,{\"x\":2}]", "\"v\"", "{}"}));
        QCOMPARE(escaped, (QList<bool>{false, true, false}));

        int calls = 0;
        QVERIFY(js::validate("[{\"a\":1}]", [&calls](const js::MemberSpan &) { ++calls; }).ok());
        QCOMPARE(calls, 0);  // members of an array's objects are not top-level
    }

    void comparesKeysWithEscapesDecoded() {
        QVERIFY(js::keyEquals("model", "model"));
        QVERIFY(js::keyEquals("mod\\u0065l", "model"));
        QVERIFY(js::keyEquals("a\\\"b", "a\"b"));
        QVERIFY(js::keyEquals("\\u00e9", "\xC3\xA9"));
        QVERIFY(!js::keyEquals("models", "model"));
        QVERIFY(!js::keyEquals("mode", "model"));
        QVERIFY(!js::keyEquals("mod\\u0065", "model"));
        QVERIFY(!js::keyEquals("a\\\\b", "a\\\\b"));  // raw bytes equal, decoded not
        QVERIFY(js::keyEquals("a\\\\b", "a\\b"));
    }

    void decodesStringsAsQJsonValueToUtf8_data() {
        QTest::addColumn<QByteArray>("token");
        QTest::newRow("plain") << QByteArray("\"gpt-4o\"");
        QTest::newRow("empty") << QByteArray("\"\"");
        QTest::newRow("short escapes") << QByteArray("\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"");
        QTest::newRow("nul escape") << QByteArray("\"a\\u0000b\"");
        QTest::newRow("bmp escapes") << QByteArray("\"\\u00e9\\u20AC\\uFFFF\"");
        QTest::newRow("pair") << QByteArray("\"x\\ud83d\\ude00y\"");
        QTest::newRow("lone high") << QByteArray("\"\\ud800\"");
        QTest::newRow("lone low") << QByteArray("\"\\udc00x\"");
        QTest::newRow("high then non-low") << QByteArray("\"\\ud800\\u0041\"");
        QTest::newRow("two highs then low") << QByteArray("\"\\ud800\\ud83d\\ude00\"");
        QTest::newRow("raw utf-8") << QByteArray("\"\xC3\xA9\xF0\x9F\x98\x80\"");
        QTest::newRow("lax unknown escape") << QByteArray("\"\\q\\U0041\"");
        QTest::newRow("lax raw tab") << QByteArray("\"a\tb\"");
        QTest::newRow("leading raw BOM dropped") << QByteArray("\"\xEF\xBB\xBFgpt\xEF\xBB\xBF\"");
        QTest::newRow("escaped BOM kept") << QByteArray("\"\\ufeffgpt\"");
        QTest::newRow("raw BOM kept when escapes follow") << QByteArray(
            "\"\xEF\xBB\xBF"
            "a\\n\"");
    }
    void decodesStringsAsQJsonValueToUtf8() {
        QFETCH(QByteArray, token);
        const QJsonValue expected = qtElement(token);
        QVERIFY(expected.isString());
        QCOMPARE(js::decodeString(token), expected.toString().toUtf8());
        QVERIFY(js::stringEquals(token, expected.toString().toUtf8()));
        QVERIFY(!js::stringEquals(token, expected.toString().toUtf8() + "x"));
    }

    void readsNumbersAsQJsonValue_data() {
        QTest::addColumn<QByteArray>("token");
        for (const char *t : {"0", "-0", "1", "-17", "1.5", "12.9", "1e3", "2E-2", "-0.0",
                              "9007199254740993", "9223372036854775807", "-9223372036854775808",
                              "9223372036854775808", "123456789012345678901234567890", "4.9e-324",
                              "1e-310", "1.7976931348623157e308", "0.1", "1.000"})
            QTest::newRow(t) << QByteArray(t);
    }
    void readsNumbersAsQJsonValue() {
        QFETCH(QByteArray, token);
        const QJsonValue expected = qtElement(token);
        QVERIFY(expected.isDouble());
        double d = 0;
        QVERIFY(js::readDouble(token, &d));
        QCOMPARE(d, expected.toDouble());
        QCOMPARE(std::signbit(d), std::signbit(expected.toDouble()));
        qint64 i = 0;
        const qint64 sentinel = -12345;
        const qint64 qtInteger = expected.toInteger(sentinel);
        QCOMPARE(js::readInteger(token, &i) ? i : sentinel, qtInteger);
    }

    void looksUpMembersLikeQJsonObject() {
        const QByteArray text =
            "{\"model\":\"a\",\"usage\":{\"prompt_tokens\":3,\"details\":{\"cached\":1}},\"model\":"
            "\"b\","
            "\"choices\":[{\"finish_reason\":\"stop\"},{\"finish_reason\":\"length\"}],\"n\":null,"
            "\"e\":{},\"s\\u0074op\":true}";
        const js::ObjectView obj(text, 0);
        QVERIFY(obj.isValid());
        QCOMPARE(obj.value("model").toString(), QByteArray("b"));  // last duplicate wins
        QVERIFY(obj.value("model").stringEquals("b"));
        QCOMPARE(obj.value("usage").toObject().value("prompt_tokens").toDouble(), 3.0);
        QCOMPARE(
            obj.value("usage").toObject().value("details").toObject().value("cached").toDouble(),
            1.0);
        QCOMPARE(obj.value("choices").arrayAt(1).toObject().value("finish_reason").toString(),
                 QByteArray("length"));
        QVERIFY(!obj.value("choices").arrayAt(2).isPresent());
        QVERIFY(obj.value("n").isPresent() && obj.value("n").isNull());
        QVERIFY(obj.contains("e") && obj.value("e").toObject().isEmpty());
        QVERIFY(obj.value("e").toObject().isValid());
        QVERIFY(obj.value("stop").isTrue());
        QVERIFY(!obj.contains("missing"));
        QCOMPARE(obj.value("missing").toDouble(7), 7.0);
        QVERIFY(obj.value("model").toObject().isEmpty());       // not an object
        QCOMPARE(obj.value("usage").toString(), QByteArray());  // not a string

        js::ArrayIterator it = obj.value("choices").elements();
        int count = 0;
        for (js::ValueView v = it.next(); v.isPresent(); v = it.next()) ++count;
        QCOMPARE(count, 2);
    }

    void looksUpBeyondTheIndexedMembers() {
        QByteArray text = "{";
        for (int i = 0; i < 3 * js::ObjectView::kIndexedMembers; ++i)
            text += "\"k" + QByteArray::number(i % 40) + "\":" + QByteArray::number(i) + ",";
        text += "\"last\":\"x\"}";
        const QJsonObject expected = QJsonDocument::fromJson(text).object();
        QVERIFY(!expected.isEmpty());
        const js::ObjectView byScan(text, 0);
        js::ObjectView byValidation(text);
        QVERIFY(js::validate(text, [&byValidation](const js::MemberSpan &m) {
                    byValidation.append(m);
                }).ok());
        for (const QString &key : expected.keys()) {
            const QByteArray k = key.toUtf8();
            QCOMPARE(byScan.value(k).toDouble(-1), expected.value(key).toDouble(-1));
            QCOMPARE(byValidation.value(k).toDouble(-1), expected.value(key).toDouble(-1));
        }
        QCOMPARE(byScan.value("last").toString(), QByteArray("x"));
        QCOMPARE(byValidation.value("last").toString(), QByteArray("x"));
    }

    void cutOffObjectsReadAsEmpty() {
        const QByteArray text = "{\"model\":\"a\",\"usage\":{\"prompt_tokens\":3";
        QVERIFY(!js::ObjectView(text, 0).isValid());
        QVERIFY(!js::ObjectView(text, 0).contains("model"));
        QVERIFY(!js::ObjectView(text, 1).isValid());  // not at a '{'
        QVERIFY(!js::ObjectView(text, -1).isValid());
        js::ArrayIterator it("[{\"a\":1},{\"b\"", 0);
        QVERIFY(it.next().isObject());
        QVERIFY(!it.next().isPresent());
    }

    // The list-based walk used for byte edits decodes keys exactly as QJsonDocument does.
    void objectMembersDecodeEscapedKeysLikeQJsonDocument() {
        // Plain literals: moc misreads a raw string holding \".
        const QByteArray text =
            "{\"mo\\u0064el\":\"a\",\"q\\\"uote\\\\d\":1,\"sl\\/ash\\n\":2,\"\\ud83d\\ude00\":3,"
            "\"\\u00e9t\\u00e9\":4,\"lone\\ud800\":5,\"plain\":6}";
        QList<js::Member> members;
        QVERIFY(js::objectMembers(text, 0, &members));
        const QJsonObject expected = QJsonDocument::fromJson(text).object();
        QCOMPARE(members.size(), expected.size());
        QList<QByteArray> keys;
        for (const js::Member &m : members) keys.append(m.key);
        QList<QByteArray> expectedKeys;
        for (const QString &k : expected.keys()) expectedKeys.append(k.toUtf8());
        std::sort(keys.begin(), keys.end());
        std::sort(expectedKeys.begin(), expectedKeys.end());
        QCOMPARE(keys, expectedKeys);
        const js::Member *model = js::findMember(members, "model");
        QVERIFY(model);
        QCOMPARE(text.mid(model->valueBegin, model->valueEnd - model->valueBegin),
                 QByteArray("\"a\""));
    }
};

QTEST_GUILESS_MAIN(TestJsonScan)
#include "tst_json_scan.moc"
