#include "core/providers/price_table.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QTest>

using namespace airlock;

namespace {

TokenUsage usage(qint64 input, qint64 output, qint64 cached = 0, qint64 written = 0,
                 qint64 reasoning = 0) {
    TokenUsage u;
    u.inputTokens = input;
    u.outputTokens = output;
    u.cachedInputTokens = cached;
    u.cacheWriteTokens = written;
    u.reasoningTokens = reasoning;
    u.reported = true;
    return u;
}

bool nearlyEqual(double a, double b) {
    return qAbs(a - b) <= 1e-9 * qMax(1.0, qAbs(b));
}

}  // namespace

class TestPriceTable : public QObject {
    Q_OBJECT

private slots:
    void builtInTableLoadsFromResource() {
        const PriceTable table = PriceTable::builtIn();
        QVERIFY(table.size() >= 60);
        for (const char *model : {"gpt-4o",
                                  "gpt-4o-mini",
                                  "gpt-4.1",
                                  "gpt-4.1-mini",
                                  "gpt-4.1-nano",
                                  "o1",
                                  "o3",
                                  "o3-mini",
                                  "o4-mini",
                                  "gpt-5",
                                  "gpt-5-mini",
                                  "gpt-5-nano",
                                  "text-embedding-3-small",
                                  "text-embedding-3-large",
                                  "gpt-3.5-turbo",
                                  "claude-opus-4-1",
                                  "claude-sonnet-4-5",
                                  "claude-3-7-sonnet",
                                  "claude-3-5-sonnet",
                                  "claude-3-5-haiku",
                                  "claude-haiku-4-5",
                                  "gemini-2.5-pro",
                                  "gemini-2.5-flash",
                                  "gemini-2.5-flash-lite",
                                  "gemini-2.0-flash",
                                  "gemini-1.5-pro",
                                  "gemini-1.5-flash"}) {
            QVERIFY2(table.lookup(model).known, model);
        }
        const ModelPrice gpt4o = table.lookup("gpt-4o");
        QCOMPARE(gpt4o.inputPerMTok, 2.5);
        QCOMPARE(gpt4o.outputPerMTok, 10.0);
        QCOMPARE(gpt4o.cachedInputPerMTok, 1.25);
    }

    void builtInFileMatchesTheShippedSource() {
        QFile file(QStringLiteral(AIRLOCK_SOURCE_DIR "/resources/prices.json"));
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QJsonObject root = QJsonDocument::fromJson(file.readAll()).object();
        QVERIFY(root.contains(QLatin1String("_source")));
        QVERIFY(root.contains(QLatin1String("_updated")));
        PriceTable parsed;
        QString error;
        file.seek(0);
        QVERIFY2(PriceTable::parse(file.readAll(), &parsed, &error), qPrintable(error));
        QCOMPARE(parsed.size(), PriceTable::builtIn().size());
    }

    void anthropicEntriesFollowCacheMultipliers() {
        const PriceTable table = PriceTable::builtIn();
        for (const char *model : {"claude-opus-4-6", "claude-opus-4-1", "claude-sonnet-4-5",
                                  "claude-3-7-sonnet", "claude-3-5-haiku", "claude-haiku-4-5"}) {
            const ModelPrice p = table.lookup(model);
            QVERIFY2(nearlyEqual(p.cacheWritePerMTok, 1.25 * p.inputPerMTok), model);
            QVERIFY2(nearlyEqual(p.cachedInputPerMTok, 0.1 * p.inputPerMTok), model);
        }
    }

    void looksUpSnapshotsPrefixesAndGlobs_data() {
        QTest::addColumn<QByteArray>("model");
        QTest::addColumn<double>("input");
        QTest::addColumn<double>("output");
        QTest::newRow("dated openai snapshot") << QByteArray("gpt-4o-2024-08-06") << 2.5 << 10.0;
        QTest::newRow("exact entry beats stripping")
            << QByteArray("gpt-4o-2024-05-13") << 5.0 << 15.0;
        QTest::newRow("mini snapshot") << QByteArray("gpt-4o-mini-2024-07-18") << 0.15 << 0.6;
        QTest::newRow("anthropic compact date")
            << QByteArray("claude-sonnet-4-5-20250929") << 3.0 << 15.0;
        QTest::newRow("opus 4.1 snapshot")
            << QByteArray("claude-opus-4-1-20250805") << 15.0 << 75.0;
        QTest::newRow("opus 4 snapshot") << QByteArray("claude-opus-4-20250514") << 15.0 << 75.0;
        QTest::newRow("newer opus by glob") << QByteArray("claude-opus-4-7") << 5.0 << 25.0;
        QTest::newRow("latest alias") << QByteArray("claude-3-5-haiku-latest") << 0.8 << 4.0;
        QTest::newRow("vertex at-version")
            << QByteArray("claude-3-5-sonnet-v2@20241022") << 3.0 << 15.0;
        QTest::newRow("gemini numbered version") << QByteArray("gemini-1.5-pro-002") << 1.25 << 5.0;
        QTest::newRow("gemini models/ prefix")
            << QByteArray("models/gemini-2.5-flash") << 0.3 << 2.5;
        QTest::newRow("openai/ prefix") << QByteArray("openai/gpt-4.1-mini") << 0.4 << 1.6;
        QTest::newRow("longest glob wins")
            << QByteArray("gemini-2.5-flash-lite-preview-06-17") << 0.1 << 0.4;
        QTest::newRow("preview by glob")
            << QByteArray("gemini-2.5-flash-preview-05-20") << 0.3 << 2.5;
        QTest::newRow("four digit snapshot") << QByteArray("gpt-3.5-turbo-0125") << 0.5 << 1.5;
        QTest::newRow("case insensitive") << QByteArray("GPT-4o") << 2.5 << 10.0;
        QTest::newRow("o-series snapshot") << QByteArray("o3-mini-2025-01-31") << 1.1 << 4.4;
        QTest::newRow("embedding no output price")
            << QByteArray("text-embedding-3-large") << 0.13 << 0.0;
    }
    void looksUpSnapshotsPrefixesAndGlobs() {
        QFETCH(QByteArray, model);
        QFETCH(double, input);
        QFETCH(double, output);
        const ModelPrice p = PriceTable::builtIn().lookup(model);
        QVERIFY(p.known);
        QCOMPARE(p.inputPerMTok, input);
        QCOMPARE(p.outputPerMTok, output);
    }

    void unknownModelsAreUnknownAndCostNothing() {
        const PriceTable table = PriceTable::builtIn();
        QVERIFY(!table.lookup("llama-3.1-405b").known);
        QVERIFY(!table.lookup("").known);
        QVERIFY(!table.lookup("models/").known);
        QCOMPARE(table.costUsd("my-local-model", usage(1000, 1000)), 0.0);
    }

    void costsOpenAiWithCachedPromptTokens() {
        const PriceTable table = PriceTable::builtIn();
        // gpt-4o: 2.50 in, 1.25 cached, 10 out. 2006 prompt tokens of which 1920 cached.
        const double expected = (86 * 2.5 + 1920 * 1.25 + 300 * 10.0) / 1e6;
        QVERIFY(nearlyEqual(table.costUsd("gpt-4o-2024-08-06", usage(2006, 300, 1920)), expected));
        // Reasoning tokens are part of output and billed as output.
        const double o4 = (1200 - 1024) * 1.1 / 1e6 + 1024 * 0.275 / 1e6 + 410 * 4.4 / 1e6;
        QVERIFY(nearlyEqual(table.costUsd("o4-mini", usage(1200, 410, 1024, 0, 384)), o4));
    }

    void costsAnthropicCacheReadsAndWrites() {
        const PriceTable table = PriceTable::builtIn();
        // claude-sonnet-4-5: 3 in, 3.75 write, 0.30 read, 15 out.
        const TokenUsage u = usage(12 + 2048 + 30000, 150, 30000, 2048);
        const double expected = (12 * 3.0 + 2048 * 3.75 + 30000 * 0.3 + 150 * 15.0) / 1e6;
        QVERIFY(nearlyEqual(table.costUsd("claude-sonnet-4-5-20250929", u), expected));
    }

    void costsGeminiCachedContentAndThoughts() {
        const PriceTable table = PriceTable::builtIn();
        // gemini-2.5-pro: 1.25 in, 0.125 cached, 10 out; output includes 1000 thought tokens.
        const double expected = (400 * 1.25 + 8000 * 0.125 + 1120 * 10.0) / 1e6;
        QVERIFY(nearlyEqual(table.costUsd("gemini-2.5-pro", usage(8400, 1120, 8000, 0, 1000)),
                            expected));
    }

    void uncachedInputNeverGoesNegative() {
        PriceTable table;
        table.merge(QJsonObject{
            {"m",
             QJsonObject{{"input", 10}, {"output", 0}, {"cached_input", 1}, {"cache_write", 20}}}});
        // Bogus report: more cached than input. Cached and written are still charged, nothing
        // is credited back.
        const double cost = table.costUsd("m", usage(100, 0, 80, 50));
        QVERIFY(nearlyEqual(cost, (80 * 1.0 + 50 * 20.0) / 1e6));
    }

    void missingCachePricesFallBackToInputPrice() {
        PriceTable table;
        table.merge(QJsonObject{{"plain", QJsonObject{{"input", 4}, {"output", 8}}}});
        const double cost = table.costUsd("plain", usage(1000, 500, 300, 200));
        QVERIFY(nearlyEqual(cost, (1000 * 4.0 + 500 * 8.0) / 1e6));
    }

    void mergeReplacesAndAddsEntriesAndSkipsInvalidOnes() {
        PriceTable table = PriceTable::builtIn();
        const qsizetype before = table.size();
        QTest::ignoreMessage(
            QtWarningMsg,
            QRegularExpression(QStringLiteral("ignoring price override for \"broken\"")));
        QTest::ignoreMessage(
            QtWarningMsg,
            QRegularExpression(QStringLiteral("ignoring price override for \"negative\"")));
        table.merge(QJsonObject{
            {"gpt-4o", QJsonObject{{"input", 1.0}, {"output", 2.0}}},
            {"corp-model*", QJsonObject{{"input", 0.5}, {"output", 0.5}}},
            {"broken", QJsonObject{{"input", "cheap"}}},
            {"negative", QJsonObject{{"input", -1}, {"output", 1}}},
            {"_comment", "ignored"},
        });
        QCOMPARE(table.size(), before + 1);
        QCOMPARE(table.lookup("gpt-4o").inputPerMTok, 1.0);
        QCOMPARE(table.lookup("gpt-4o").cachedInputPerMTok, -1.0);  // replaced, not mixed
        QCOMPARE(table.lookup("corp-model-v2").outputPerMTok, 0.5);
        QVERIFY(!table.lookup("broken").known);

        PriceTable wrapped;
        wrapped.merge(
            QJsonObject{{"models", QJsonObject{{"x", QJsonObject{{"input", 1}, {"output", 1}}}}}});
        QVERIFY(wrapped.lookup("x").known);
    }

    void parseRejectsBadTables_data() {
        QTest::addColumn<QByteArray>("json");
        QTest::newRow("not json") << QByteArray("{");
        QTest::newRow("no models") << QByteArray("{\"gpt-4o\":{\"input\":1}}");
        QTest::newRow("models not object") << QByteArray("{\"models\":[]}");
        QTest::newRow("entry not object") << QByteArray("{\"models\":{\"a\":1}}");
        QTest::newRow("missing input") << QByteArray("{\"models\":{\"a\":{\"output\":1}}}");
        QTest::newRow("negative") << QByteArray("{\"models\":{\"a\":{\"input\":-2}}}");
        QTest::newRow("string price") << QByteArray("{\"models\":{\"a\":{\"input\":\"1\"}}}");
    }
    void parseRejectsBadTables() {
        QFETCH(QByteArray, json);
        PriceTable table;
        table.merge(QJsonObject{{"keep", QJsonObject{{"input", 1}}}});
        QString error;
        QVERIFY(!PriceTable::parse(json, &table, &error));
        QVERIFY(!error.isEmpty());
        QVERIFY(table.lookup("keep").known);  // untouched on failure
    }

    void parseAcceptsNotesAndOptionalFields() {
        PriceTable table;
        QString error;
        QVERIFY2(PriceTable::parse("{\"_source\":\"x\",\"models\":{\"_note\":\"y\","
                                   "\"m\":{\"input\":1,\"output\":2,\"cached_input\":0.1,"
                                   "\"cache_write\":1.25}}}",
                                   &table, &error),
                 qPrintable(error));
        QCOMPARE(table.size(), 1);
        const ModelPrice p = table.lookup("m");
        QCOMPARE(p.cachedInputPerMTok, 0.1);
        QCOMPARE(p.cacheWritePerMTok, 1.25);
    }
};

QTEST_GUILESS_MAIN(TestPriceTable)
#include "tst_price_table.moc"
