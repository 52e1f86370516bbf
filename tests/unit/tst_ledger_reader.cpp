// Tests for LedgerReader: usage aggregation (incl. local-time days), request listing with
// filters and paging, missing or broken files, and the contract JSON of both.
#include "core/store/ledger_reader.h"
#include "core/store/ledger_writer.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <ctime>

using namespace airlock;

namespace {

// 2026-11-25T14:03:07.123Z
constexpr qint64 kBaseTsMs = 1795615387123;
constexpr qint64 kHourMs = qint64(3600) * 1000;

UsageRecord makeRecord(const QByteArray &id, qint64 tsMs, const QString &app,
                       const QString &provider, const QString &model, double costUsd,
                       const QString &outcome = QStringLiteral("ok")) {
    UsageRecord r;
    r.id = id;
    r.tsMs = tsMs;
    r.app = app;
    r.pid = 100;
    r.provider = provider;
    r.format = provider == QLatin1String("anthropic") ? QStringLiteral("anthropic")
                                                      : QStringLiteral("openai");
    r.endpoint = QStringLiteral("chat");
    r.model = model;
    r.status = outcome == QLatin1String("ok") ? 200 : 429;
    r.inputTokens = 100;
    r.outputTokens = 10;
    r.cachedTokens = 5;
    r.costUsd = costUsd;
    r.latencyMs = 50;
    r.outcome = outcome;
    return r;
}

UsageRecord fullRecord() {
    UsageRecord r;
    r.id = "0b7c6a1e-5d0f-4a53-9d36-1c1f0e3f9a11";
    r.tsMs = kBaseTsMs;
    r.app = QStringLiteral("claude");
    r.pid = 31337;
    r.exePath = QStringLiteral("/home/u/.local/bin/claude");
    r.userAgent = QStringLiteral("claude-cli/2.1.3 (external, cli)");
    r.provider = QStringLiteral("anthropic");
    r.format = QStringLiteral("anthropic");
    r.endpoint = QStringLiteral("messages");
    r.model = QStringLiteral("claude-sonnet-4-5");
    r.responseModel = QStringLiteral("claude-sonnet-4-5-20250929");
    r.status = 200;
    r.stream = true;
    r.inputTokens = 85000;
    r.outputTokens = 1234;
    r.cachedTokens = 80000;
    r.cacheWriteTokens = 4000;
    r.reasoningTokens = 321;
    r.costUsd = 0.0625;
    r.latencyMs = 5321.25;
    r.ttftMs = 812.5;
    r.bytesIn = 86016;
    r.bytesOut = 20480;
    r.outcome = QStringLiteral("ok");
    r.error = QString();
    r.profile = QStringLiteral("default");
    r.rule = QStringLiteral("models.allow");
    return r;
}

bool writeRecords(const QString &dbPath, const QList<UsageRecord> &records) {
    LedgerWriter writer(dbPath);
    QString error;
    if (!writer.start(&error)) {
        qWarning("start: %s", qPrintable(error));
        return false;
    }
    for (const UsageRecord &record : records) writer.append(record);
    writer.flush();
    return writer.commitErrors() == 0 && writer.writtenRows() == records.size();
}

// The usage fixture: three apps, two providers, costs chosen so the order is unambiguous.
QList<UsageRecord> usageFixture() {
    const QString openai = QStringLiteral("openai");
    const QString anthropic = QStringLiteral("anthropic");
    return {
        makeRecord("u1", kBaseTsMs, QStringLiteral("claude"), anthropic,
                   QStringLiteral("claude-sonnet"), 0.50),
        makeRecord("u2", kBaseTsMs + 1, QStringLiteral("claude"), anthropic,
                   QStringLiteral("claude-sonnet"), 0.25),
        makeRecord("u3", kBaseTsMs + 2, QStringLiteral("claude"), anthropic,
                   QStringLiteral("claude-sonnet"), 0.0, QStringLiteral("blocked")),
        makeRecord("u4", kBaseTsMs + 3, QStringLiteral("codex"), openai, QStringLiteral("gpt-5"),
                   1.00),
        makeRecord("u5", kBaseTsMs + 4, QStringLiteral("curl"), openai,
                   QStringLiteral("gpt-4o-mini"), 0.01),
        makeRecord("u6", kBaseTsMs + 5, QStringLiteral("curl"), openai,
                   QStringLiteral("gpt-4o-mini"), 0.0, QStringLiteral("rate_limited")),
        makeRecord("u7", kBaseTsMs + 6, QStringLiteral("curl"), openai,
                   QStringLiteral("gpt-4o-mini"), 0.0, QStringLiteral("upstream_error")),
        // Costs the same as curl's row (0.01) with fewer requests: ordered after it.
        makeRecord("u8", kBaseTsMs + 7, QStringLiteral("node"), openai,
                   QStringLiteral("gpt-4o-mini"), 0.005),
        makeRecord("u9", kBaseTsMs + 8, QStringLiteral("node"), openai,
                   QStringLiteral("gpt-4o-mini"), 0.005),
    };
}

void setLocalTimeZone(const QByteArray &tz) {
    qputenv("TZ", tz);
    tzset();  // SQLite's 'localtime' uses the C library, which reads TZ only in tzset()
}

}  // namespace

class TestLedgerReader : public QObject {
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void missingFileOpensAndGivesEmptyResults();
    void seesADatabaseCreatedAfterOpen();
    void refusesAFileThatIsNotADatabase();
    void groupsUsageByAppProviderModelOrderedByCostThenRequests();
    void countsErrorsAndBlockedOutcomes();
    void groupsByDayInLocalTime();
    void groupsByOutcomeAndFormatOrNothing();
    void filtersUsageByTimeRangeAndApp();
    void billableUsageLeavesOutResponseCacheHits();
    void rejectsUnknownOrRepeatedGroupByKeys();
    void listsRequestsNewestFirstWithPaging();
    void filtersRequestsByAppOutcomeAndTime();
    void roundTripsEveryFieldOfARecord();
    void usageJsonCarriesGroupKeysAndTotals();
    void requestJsonCarriesContractFieldsWithTypes();

private:
    QTemporaryDir dir_;
    QString dbPath_;
    QByteArray savedTz_;
    bool hadTz_ = false;
};

void TestLedgerReader::init() {
    static int counter = 0;
    dbPath_ = dir_.filePath(QStringLiteral("usage-%1.db").arg(++counter));
    hadTz_ = qEnvironmentVariableIsSet("TZ");
    savedTz_ = qgetenv("TZ");
}

void TestLedgerReader::cleanup() {
    if (hadTz_)
        qputenv("TZ", savedTz_);
    else
        qunsetenv("TZ");
    tzset();
}

void TestLedgerReader::missingFileOpensAndGivesEmptyResults() {
    LedgerReader reader(dbPath_);
    QString error;
    QVERIFY2(reader.open(&error), qPrintable(error));
    QVERIFY(reader.usage({}, &error).isEmpty());
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QVERIFY(reader.requests({}, &error).isEmpty());
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(reader.count(), 0);
    QVERIFY2(!QFile::exists(dbPath_), "a reader must not create the database");
}

void TestLedgerReader::seesADatabaseCreatedAfterOpen() {
    LedgerReader reader(dbPath_);
    QString error;
    QVERIFY2(reader.open(&error), qPrintable(error));
    QCOMPARE(reader.count(), 0);
    QVERIFY(writeRecords(dbPath_, usageFixture()));
    QCOMPARE(reader.count(), usageFixture().size());
    QCOMPARE(reader.requests({}).size(), usageFixture().size());
}

void TestLedgerReader::refusesAFileThatIsNotADatabase() {
    QFile file(dbPath_);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QByteArray(4096, '\x7f'));
    file.close();
    LedgerReader reader(dbPath_);
    QString error;
    QVERIFY(!reader.open(&error));
    QVERIFY2(error.contains(QStringLiteral("not a database")), qPrintable(error));
    QCOMPARE(reader.count(), -1);
}

void TestLedgerReader::groupsUsageByAppProviderModelOrderedByCostThenRequests() {
    QVERIFY(writeRecords(dbPath_, usageFixture()));
    LedgerReader reader(dbPath_);
    QString error;
    QVERIFY2(reader.open(&error), qPrintable(error));
    const QList<UsageRow> rows = reader.usage({}, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(rows.size(), 4);

    QCOMPARE(rows[0].keys, QStringList({"codex", "openai", "gpt-5"}));
    QCOMPARE(rows[0].requests, 1);
    QCOMPARE(rows[0].costUsd, 1.0);

    QCOMPARE(rows[1].keys, QStringList({"claude", "anthropic", "claude-sonnet"}));
    QCOMPARE(rows[1].requests, 3);
    QCOMPARE(rows[1].inputTokens, 300);
    QCOMPARE(rows[1].outputTokens, 30);
    QCOMPARE(rows[1].cachedTokens, 15);
    QCOMPARE(rows[1].costUsd, 0.75);

    // curl and node both cost 0.01: the one with more requests comes first.
    QCOMPARE(rows[2].keys, QStringList({"curl", "openai", "gpt-4o-mini"}));
    QCOMPARE(rows[2].requests, 3);
    QCOMPARE(rows[3].keys, QStringList({"node", "openai", "gpt-4o-mini"}));
    QCOMPARE(rows[3].requests, 2);
    QCOMPARE(rows[3].costUsd, 0.01);
}

void TestLedgerReader::countsErrorsAndBlockedOutcomes() {
    QVERIFY(writeRecords(dbPath_, usageFixture()));
    LedgerReader reader(dbPath_);
    QString error;
    QVERIFY2(reader.open(&error), qPrintable(error));
    UsageQuery query;
    query.groupBy = {QStringLiteral("app")};
    const QList<UsageRow> rows = reader.usage(query, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QHash<QString, UsageRow> byApp;
    for (const UsageRow &row : rows) byApp.insert(row.keys.value(0), row);
    QCOMPARE(byApp.size(), 4);
    QCOMPARE(byApp[QStringLiteral("claude")].errors, 1);  // blocked
    QCOMPARE(byApp[QStringLiteral("claude")].blocked, 1);
    QCOMPARE(byApp[QStringLiteral("curl")].errors, 2);   // rate_limited + upstream_error
    QCOMPARE(byApp[QStringLiteral("curl")].blocked, 1);  // rate_limited only
    QCOMPARE(byApp[QStringLiteral("codex")].errors, 0);
    QCOMPARE(byApp[QStringLiteral("codex")].blocked, 0);
}

void TestLedgerReader::groupsByDayInLocalTime() {
    const qint64 t10 = 1795600800000;  // 2026-11-25T10:00:00Z
    const qint64 t20 = 1795636800000;  // 2026-11-25T20:00:00Z
    const qint64 t03 = 1795575600000;  // 2026-11-25T03:00:00Z
    QVERIFY(writeRecords(dbPath_, {
                                      makeRecord("d1", t10, "a", "openai", "m", 1.0),
                                      makeRecord("d2", t20, "a", "openai", "m", 1.0),
                                      makeRecord("d3", t03, "a", "openai", "m", 1.0),
                                  }));
    LedgerReader reader(dbPath_);
    QString error;
    QVERIFY2(reader.open(&error), qPrintable(error));
    UsageQuery query;
    query.groupBy = {QStringLiteral("day")};

    setLocalTimeZone("AIRLOCKEAST-10");  // UTC+10: 20:00Z is already the next day
    QList<UsageRow> rows = reader.usage(query, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(rows.size(), 2);
    QCOMPARE(rows[0].keys, QStringList({"2026-11-25"}));
    QCOMPARE(rows[0].requests, 2);
    QCOMPARE(rows[1].keys, QStringList({"2026-11-26"}));
    QCOMPARE(rows[1].requests, 1);

    setLocalTimeZone("AIRLOCKWEST+08");  // UTC-8: 03:00Z is still the day before
    rows = reader.usage(query, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(rows.size(), 2);
    QCOMPARE(rows[0].keys, QStringList({"2026-11-25"}));
    QCOMPARE(rows[0].requests, 2);
    QCOMPARE(rows[1].keys, QStringList({"2026-11-24"}));
    QCOMPARE(rows[1].requests, 1);

    query.groupBy = {QStringLiteral("day"), QStringLiteral("app")};
    rows = reader.usage(query, &error);
    QCOMPARE(rows.size(), 2);
    QCOMPARE(rows[1].keys, QStringList({"2026-11-24", "a"}));
}

void TestLedgerReader::groupsByOutcomeAndFormatOrNothing() {
    QVERIFY(writeRecords(dbPath_, usageFixture()));
    LedgerReader reader(dbPath_);
    QString error;
    QVERIFY2(reader.open(&error), qPrintable(error));

    UsageQuery query;
    query.groupBy = {QStringLiteral("outcome"), QStringLiteral("format")};
    const QList<UsageRow> rows = reader.usage(query, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QHash<QStringList, qint64> requests;
    for (const UsageRow &row : rows) requests.insert(row.keys, row.requests);
    QCOMPARE(requests.size(), 5);
    QCOMPARE(requests.value({"ok", "openai"}), 4);
    QCOMPARE(requests.value({"ok", "anthropic"}), 2);
    QCOMPARE(requests.value({"blocked", "anthropic"}), 1);
    QCOMPARE(requests.value({"rate_limited", "openai"}), 1);
    QCOMPARE(requests.value({"upstream_error", "openai"}), 1);

    query.groupBy.clear();  // a single total row
    const QList<UsageRow> total = reader.usage(query, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(total.size(), 1);
    QVERIFY(total[0].keys.isEmpty());
    QCOMPARE(total[0].requests, 9);
    QCOMPARE(total[0].inputTokens, 900);
    QCOMPARE(total[0].errors, 3);
    QCOMPARE(total[0].blocked, 2);

    query.fromMs = kBaseTsMs + kHourMs;  // no rows: no total row either
    QVERIFY(reader.usage(query, &error).isEmpty());
}

void TestLedgerReader::filtersUsageByTimeRangeAndApp() {
    QVERIFY(writeRecords(dbPath_, usageFixture()));
    LedgerReader reader(dbPath_);
    QString error;
    QVERIFY2(reader.open(&error), qPrintable(error));

    UsageQuery query;
    query.groupBy = {QStringLiteral("app")};
    query.fromMs = kBaseTsMs + 3;  // inclusive: u4..u9
    query.toMs = kBaseTsMs + 7;    // exclusive: u4..u7
    QList<UsageRow> rows = reader.usage(query, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(rows.size(), 2);
    QCOMPARE(rows[0].keys, QStringList({"codex"}));
    QCOMPARE(rows[1].keys, QStringList({"curl"}));
    QCOMPARE(rows[1].requests, 3);

    query = UsageQuery();
    query.app = QStringLiteral("node");
    rows = reader.usage(query, &error);
    QCOMPARE(rows.size(), 1);
    QCOMPARE(rows[0].keys, QStringList({"node", "openai", "gpt-4o-mini"}));
    QCOMPARE(rows[0].requests, 2);

    query.app = QStringLiteral("node' OR '1'='1");  // bound as a value, matches nothing
    QVERIFY(reader.usage(query, &error).isEmpty());
    QVERIFY2(error.isEmpty(), qPrintable(error));
}

void TestLedgerReader::billableUsageLeavesOutResponseCacheHits() {
    QList<UsageRecord> records;
    records << makeRecord("b1", kBaseTsMs, "claude", "anthropic", "m", 0.5);
    UsageRecord hit = makeRecord("b2", kBaseTsMs + 1, "claude", "anthropic", "m", 0.0);
    hit.rule = QStringLiteral("models:m;cache:hit");  // appended to another rule, as the cache does
    records << hit;
    QVERIFY(writeRecords(dbPath_, records));
    LedgerReader reader(dbPath_);
    QString error;
    QVERIFY2(reader.open(&error), qPrintable(error));
    UsageQuery query;
    query.groupBy = {QStringLiteral("app")};
    QCOMPARE(reader.usage(query, &error).value(0).requests, 2);
    query.billableOnly = true;
    const QList<UsageRow> rows = reader.usage(query, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(rows.size(), 1);
    QCOMPARE(rows[0].requests, 1);
    QCOMPARE(rows[0].inputTokens, 100);
}

void TestLedgerReader::rejectsUnknownOrRepeatedGroupByKeys() {
    QVERIFY(writeRecords(dbPath_, usageFixture()));
    LedgerReader reader(dbPath_);
    QString error;
    QVERIFY2(reader.open(&error), qPrintable(error));
    const QList<QStringList> invalid = {
        {QStringLiteral("user")},
        {QStringLiteral("app"), QStringLiteral("model; DROP TABLE requests")},
        {QStringLiteral("APP")},
        {QStringLiteral("app"), QStringLiteral("app")},
    };
    for (const QStringList &groupBy : invalid) {
        UsageQuery query;
        query.groupBy = groupBy;
        error.clear();
        QVERIFY(reader.usage(query, &error).isEmpty());
        QVERIFY2(!error.isEmpty(), qPrintable(groupBy.join(',')));
    }
    QCOMPARE(reader.count(), usageFixture().size());
}

void TestLedgerReader::listsRequestsNewestFirstWithPaging() {
    QList<UsageRecord> records;
    for (int i = 0; i < 25; ++i) {
        records << makeRecord("p" + QByteArray::number(i), kBaseTsMs + qint64(i) * 1000, "curl",
                              "openai", "m", 0.001);
    }
    // Same timestamp as p24: ties go to the row stored last.
    records << makeRecord("p24-twin", kBaseTsMs + qint64(24) * 1000, "curl", "openai", "m", 0.001);
    QVERIFY(writeRecords(dbPath_, records));
    LedgerReader reader(dbPath_);
    QString error;
    QVERIFY2(reader.open(&error), qPrintable(error));

    RequestsQuery query;
    query.limit = 10;
    QList<UsageRecord> page = reader.requests(query, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(page.size(), 10);
    QCOMPARE(page[0].id, QByteArray("p24-twin"));
    QCOMPARE(page[1].id, QByteArray("p24"));
    for (int i = 1; i < page.size(); ++i) QVERIFY(page[i - 1].tsMs >= page[i].tsMs);

    query.offset = 20;
    page = reader.requests(query, &error);
    QCOMPARE(page.size(), 6);
    QCOMPARE(page.last().id, QByteArray("p0"));

    query.offset = 26;
    QVERIFY(reader.requests(query, &error).isEmpty());
    query.offset = -5;  // treated as 0
    QCOMPARE(reader.requests(query, &error).value(0).id, QByteArray("p24-twin"));
    query.limit = 0;
    QVERIFY(reader.requests(query, &error).isEmpty());
    query.limit = 1000000;  // capped, still everything here
    QCOMPARE(reader.requests(query, &error).size(), 26);
}

void TestLedgerReader::filtersRequestsByAppOutcomeAndTime() {
    QVERIFY(writeRecords(dbPath_, usageFixture()));
    LedgerReader reader(dbPath_);
    QString error;
    QVERIFY2(reader.open(&error), qPrintable(error));

    RequestsQuery query;
    query.app = QStringLiteral("curl");
    QList<UsageRecord> rows = reader.requests(query, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(rows.size(), 3);
    QCOMPARE(rows[0].id, QByteArray("u7"));

    query.outcome = QStringLiteral("rate_limited");
    rows = reader.requests(query, &error);
    QCOMPARE(rows.size(), 1);
    QCOMPARE(rows[0].id, QByteArray("u6"));

    query = RequestsQuery();
    query.outcome = QStringLiteral("ok");
    query.fromMs = kBaseTsMs + 1;
    query.toMs = kBaseTsMs + 5;
    rows = reader.requests(query, &error);
    QList<QByteArray> ids;
    for (const UsageRecord &row : rows) ids << row.id;
    QCOMPARE(ids, QList<QByteArray>({"u5", "u4", "u2"}));
}

void TestLedgerReader::roundTripsEveryFieldOfARecord() {
    UsageRecord noTtft = makeRecord("no-ttft", kBaseTsMs - 1, "curl", "openai", "m", 0.0);
    QCOMPARE(noTtft.ttftMs, -1.0);
    QVERIFY(writeRecords(dbPath_, {fullRecord(), noTtft}));
    LedgerReader reader(dbPath_);
    QString error;
    QVERIFY2(reader.open(&error), qPrintable(error));
    const QList<UsageRecord> rows = reader.requests({}, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(rows.size(), 2);

    const UsageRecord expected = fullRecord();
    const UsageRecord &r = rows[0];
    QCOMPARE(r.id, expected.id);
    QCOMPARE(r.tsMs, expected.tsMs);
    QCOMPARE(r.app, expected.app);
    QCOMPARE(r.pid, expected.pid);
    QCOMPARE(r.exePath, expected.exePath);
    QCOMPARE(r.userAgent, expected.userAgent);
    QCOMPARE(r.provider, expected.provider);
    QCOMPARE(r.format, expected.format);
    QCOMPARE(r.endpoint, expected.endpoint);
    QCOMPARE(r.model, expected.model);
    QCOMPARE(r.responseModel, expected.responseModel);
    QCOMPARE(r.status, expected.status);
    QCOMPARE(r.stream, expected.stream);
    QCOMPARE(r.inputTokens, expected.inputTokens);
    QCOMPARE(r.outputTokens, expected.outputTokens);
    QCOMPARE(r.cachedTokens, expected.cachedTokens);
    QCOMPARE(r.cacheWriteTokens, expected.cacheWriteTokens);
    QCOMPARE(r.reasoningTokens, expected.reasoningTokens);
    QCOMPARE(r.costUsd, expected.costUsd);
    QCOMPARE(r.latencyMs, expected.latencyMs);
    QCOMPARE(r.ttftMs, expected.ttftMs);
    QCOMPARE(r.bytesIn, expected.bytesIn);
    QCOMPARE(r.bytesOut, expected.bytesOut);
    QCOMPARE(r.outcome, expected.outcome);
    QCOMPARE(r.error, expected.error);
    QCOMPARE(r.profile, expected.profile);
    QCOMPARE(r.rule, expected.rule);

    QCOMPARE(rows[1].id, QByteArray("no-ttft"));
    QCOMPARE(rows[1].ttftMs, -1.0);
    QCOMPARE(rows[1].stream, false);
}

void TestLedgerReader::usageJsonCarriesGroupKeysAndTotals() {
    QVERIFY(writeRecords(dbPath_, usageFixture()));
    LedgerReader reader(dbPath_);
    QString error;
    QVERIFY2(reader.open(&error), qPrintable(error));
    const UsageQuery query;
    const QJsonArray array = usageRowsToJson(query.groupBy, reader.usage(query, &error));
    QCOMPARE(array.size(), 4);

    const QJsonObject claude = array.at(1).toObject();
    QStringList keys = claude.keys();
    keys.sort();
    QStringList expected = {"app",          "provider",      "model",         "requests",
                            "input_tokens", "output_tokens", "cached_tokens", "cost_usd",
                            "errors",       "blocked"};
    expected.sort();
    QCOMPARE(keys, expected);
    QCOMPARE(claude.value("app").toString(), QStringLiteral("claude"));
    QCOMPARE(claude.value("provider").toString(), QStringLiteral("anthropic"));
    QCOMPARE(claude.value("model").toString(), QStringLiteral("claude-sonnet"));
    for (const char *number : {"requests", "input_tokens", "output_tokens", "cached_tokens",
                               "cost_usd", "errors", "blocked"})
        QVERIFY2(claude.value(QLatin1String(number)).isDouble(), number);
    QCOMPARE(claude.value("requests").toInteger(), 3);
    QCOMPARE(claude.value("input_tokens").toInteger(), 300);
    QCOMPARE(claude.value("cost_usd").toDouble(), 0.75);
    QCOMPARE(claude.value("blocked").toInteger(), 1);

    // Integers serialise without a fraction (the CLI contract prints "requests":N).
    const QByteArray text = QJsonDocument(claude).toJson(QJsonDocument::Compact);
    QVERIFY2(text.contains("\"requests\":3"), text.constData());
    QVERIFY2(text.contains("\"input_tokens\":300"), text.constData());

    const QJsonArray byDay =
        usageRowsToJson({QStringLiteral("day")}, {UsageRow{{"2026-11-25"}, 2}});
    QCOMPARE(byDay.at(0).toObject().value("day").toString(), QStringLiteral("2026-11-25"));
    QCOMPARE(byDay.at(0).toObject().value("requests").toInteger(), 2);
}

void TestLedgerReader::requestJsonCarriesContractFieldsWithTypes() {
    const QJsonObject o = usageRecordToJson(fullRecord());
    QStringList keys = o.keys();
    keys.sort();
    QStringList expected = {"id",
                            "ts",
                            "ts_ms",
                            "app",
                            "pid",
                            "exe",
                            "user_agent",
                            "provider",
                            "format",
                            "endpoint",
                            "model",
                            "response_model",
                            "status",
                            "stream",
                            "input_tokens",
                            "output_tokens",
                            "cached_tokens",
                            "cache_write_tokens",
                            "reasoning_tokens",
                            "cost_usd",
                            "latency_ms",
                            "ttft_ms",
                            "bytes_in",
                            "bytes_out",
                            "outcome",
                            "error",
                            "profile",
                            "rule"};
    expected.sort();
    QCOMPARE(keys, expected);

    QCOMPARE(o.value("id").toString(), QStringLiteral("0b7c6a1e-5d0f-4a53-9d36-1c1f0e3f9a11"));
    QCOMPARE(o.value("ts").toString(), QStringLiteral("2026-11-25T14:03:07.123Z"));
    QCOMPARE(o.value("ts_ms").toInteger(), kBaseTsMs);
    QCOMPARE(o.value("app").toString(), QStringLiteral("claude"));
    QVERIFY(o.value("pid").isDouble());
    QCOMPARE(o.value("pid").toInteger(), 31337);
    QCOMPARE(o.value("exe").toString(), QStringLiteral("/home/u/.local/bin/claude"));
    QCOMPARE(o.value("user_agent").toString(), QStringLiteral("claude-cli/2.1.3 (external, cli)"));
    QCOMPARE(o.value("response_model").toString(), QStringLiteral("claude-sonnet-4-5-20250929"));
    QVERIFY(o.value("status").isDouble());
    QCOMPARE(o.value("status").toInt(), 200);
    QVERIFY(o.value("stream").isBool());
    QCOMPARE(o.value("stream").toBool(), true);
    QCOMPARE(o.value("input_tokens").toInteger(), 85000);
    QCOMPARE(o.value("cached_tokens").toInteger(), 80000);
    QCOMPARE(o.value("cache_write_tokens").toInteger(), 4000);
    QCOMPARE(o.value("reasoning_tokens").toInteger(), 321);
    QCOMPARE(o.value("cost_usd").toDouble(), 0.0625);
    QCOMPARE(o.value("latency_ms").toDouble(), 5321.25);
    QCOMPARE(o.value("ttft_ms").toDouble(), 812.5);
    QCOMPARE(o.value("bytes_in").toInteger(), 86016);
    QCOMPARE(o.value("bytes_out").toInteger(), 20480);
    QCOMPARE(o.value("outcome").toString(), QStringLiteral("ok"));
    QVERIFY(o.value("error").isString());
    QCOMPARE(o.value("profile").toString(), QStringLiteral("default"));
    QCOMPARE(o.value("rule").toString(), QStringLiteral("models.allow"));

    UsageRecord unknownTtft = fullRecord();
    unknownTtft.ttftMs = -1;
    QVERIFY(usageRecordToJson(unknownTtft).value("ttft_ms").isNull());
    UsageRecord atEpoch = fullRecord();
    atEpoch.tsMs = 0;
    QCOMPARE(usageRecordToJson(atEpoch).value("ts").toString(),
             QStringLiteral("1970-01-01T00:00:00.000Z"));
}

QTEST_GUILESS_MAIN(TestLedgerReader)
#include "tst_ledger_reader.moc"
