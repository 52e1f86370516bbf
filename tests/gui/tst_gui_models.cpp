// The dashboard's models and helpers without a daemon: the bounded request ring and its
// batching, filters, notification rate limiting, lenient parsers, settings files, and
// responsiveness with 100,000 rows and 50 events/s.
#include "app/airlock/app_usage_model.h"
#include "app/airlock/apps_page.h"
#include "app/airlock/notifier.h"
#include "app/airlock/policy_page.h"
#include "app/airlock/request_model.h"
#include "app/airlock/settings_page.h"
#include "platform/autostart.h"

#include <QElapsedTimer>
#include <QFile>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTextDocument>

using namespace airlock;

namespace {
RequestRow makeRow(int i, const QString &app = QStringLiteral("app"),
                   const QString &outcome = QStringLiteral("ok")) {
    RequestRow r;
    r.id = "id-" + QByteArray::number(i);
    r.tsMs = 1'700'000'000'000 + i;
    r.app = app;
    r.model = QStringLiteral("gpt-4o-mini");
    r.provider = QStringLiteral("openai");
    r.outcome = outcome;
    r.status = outcome == QLatin1String("ok") ? 200 : 429;
    r.inputTokens = i;
    return r;
}
}  // namespace

class TestGuiModels : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void pauseNoticesRaiseANotificationWithTheDaemonsMessage();
    void initTestCase();
    void ringKeepsNewestRowsWithinItsBound();
    void liveRowsArriveInOneInsertPerBatch();
    void duplicateRowsAreShownOnce();
    void parsesRequestRowsFromApiJson();
    void filterProxyMatchesAppOutcomeAndSearch();
    void usageModelAggregatesRowsPerApp();
    void refusedRequestNotificationsAreRateLimitedWithACount();
    void budgetNoticeTextNamesAppAndPercentage();
    void budgetsParseLimitsAndUseLeniently();
    void policyIsDescribedInReadableFormWithAppOverrides();
    void listenSettingKeepsOtherConfigKeys();
    void listenSettingRefusesToOverwriteMalformedConfig();
    void autostartWritesAndRemovesDesktopEntry();
    void staysResponsiveWith100kRowsAnd50EventsPerSecond();

private:
    QTemporaryDir m_home;
};

void TestGuiModels::initTestCase() {
    QVERIFY(m_home.isValid());
    qputenv("XDG_CONFIG_HOME", (m_home.path() + QStringLiteral("/config")).toUtf8());
}

void TestGuiModels::ringKeepsNewestRowsWithinItsBound() {
    RequestTableModel model(100);
    for (int i = 0; i < 250; ++i) model.enqueue(makeRow(i));
    model.flushPending();
    QCOMPARE(model.rowCount(), 100);
    QCOMPARE(model.row(0).id, QByteArray("id-249"));
    QCOMPARE(model.row(99).id, QByteArray("id-150"));
    for (int i = 250; i < 260; ++i) model.enqueue(makeRow(i));
    model.flushPending();
    QCOMPARE(model.rowCount(), 100);
    QCOMPARE(model.row(0).id, QByteArray("id-259"));
    QCOMPARE(model.row(99).id, QByteArray("id-160"));
}

void TestGuiModels::liveRowsArriveInOneInsertPerBatch() {
    RequestTableModel model;
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy arrived(&model, &RequestTableModel::rowsArrived);
    for (int i = 0; i < 20; ++i) model.enqueue(makeRow(i));
    QCOMPARE(model.rowCount(), 0);  // nothing until the batch timer fires
    QVERIFY(arrived.wait(2000));
    QCOMPARE(inserts.size(), 1);
    QCOMPARE(arrived.at(0).at(0).toInt(), 20);
    QCOMPARE(model.rowCount(), 20);
    QCOMPARE(model.row(0).id, QByteArray("id-19"));
}

void TestGuiModels::duplicateRowsAreShownOnce() {
    RequestTableModel model;
    model.resetRows({makeRow(2), makeRow(1)});
    model.enqueue(makeRow(2));
    model.enqueue(makeRow(3));
    model.enqueue(makeRow(3));
    model.flushPending();
    QCOMPARE(model.rowCount(), 3);
    model.mergeNewer({makeRow(4), makeRow(3), makeRow(2)});
    model.flushPending();
    QCOMPARE(model.rowCount(), 4);
    QCOMPARE(model.row(0).id, QByteArray("id-4"));
}

void TestGuiModels::parsesRequestRowsFromApiJson() {
    const QJsonObject o =
        QJsonDocument::fromJson(
            R"({"id":"req_1","ts":"2026-11-25T10:00:00.000Z","app":"claude","pid":42,"provider":"anthropic",
            "model":"claude-sonnet-4-5","status":429,"input_tokens":12,"output_tokens":0,"cost_usd":null,
            "latency_ms":3.5,"ttft_ms":null,"outcome":"budget_exceeded","error":"daily budget spent"})")
            .object();
    const RequestRow r = RequestRow::fromJson(o);
    QCOMPARE(r.id, QByteArray("req_1"));
    QCOMPARE(r.tsMs,
             QDateTime::fromString(QStringLiteral("2026-11-25T10:00:00.000Z"), Qt::ISODateWithMs)
                 .toMSecsSinceEpoch());
    QCOMPARE(r.app, QStringLiteral("claude"));
    QCOMPARE(r.pid, 42);
    QCOMPARE(r.costUsd, 0.0);
    QCOMPARE(r.ttftMs, -1.0);
    QVERIFY(r.isRefusal());
    // Garbage does not crash and yields an empty, non-refused row with a synthetic id.
    const RequestRow junk =
        RequestRow::fromJson(QJsonObject{{QStringLiteral("status"), QStringLiteral("x")}});
    QVERIFY(!junk.id.isEmpty());
    QVERIFY(!junk.isRefusal());
}

void TestGuiModels::filterProxyMatchesAppOutcomeAndSearch() {
    RequestTableModel model;
    QList<RequestRow> rows{makeRow(1, QStringLiteral("claude")),
                           makeRow(2, QStringLiteral("codex"), QStringLiteral("blocked")),
                           makeRow(3, QStringLiteral("codex"), QStringLiteral("upstream_error")),
                           makeRow(4, QStringLiteral("curl"), QStringLiteral("rate_limited"))};
    rows[0].model = QStringLiteral("claude-haiku-4-5");
    model.resetRows(rows);
    RequestFilterProxy proxy;
    proxy.setSourceModel(&model);
    QCOMPARE(proxy.rowCount(), 4);
    proxy.setAppFilter(QStringLiteral("codex"));
    QCOMPARE(proxy.rowCount(), 2);
    proxy.setOutcomeFilter(RequestFilterProxy::OutcomeFilter::Refused);
    QCOMPARE(proxy.rowCount(), 1);
    proxy.setAppFilter(QString());
    QCOMPARE(proxy.rowCount(), 2);
    proxy.setOutcomeFilter(RequestFilterProxy::OutcomeFilter::Errors);
    QCOMPARE(proxy.rowCount(), 1);
    proxy.setOutcomeFilter(RequestFilterProxy::OutcomeFilter::All);
    proxy.setSearchText(QStringLiteral("HAIKU"));
    QCOMPARE(proxy.rowCount(), 1);
    QCOMPARE(proxy.data(proxy.index(0, RequestTableModel::App)).toString(),
             QStringLiteral("claude"));
}

void TestGuiModels::usageModelAggregatesRowsPerApp() {
    AppUsageModel model;
    model.setUsageRows(QJsonDocument::fromJson(R"([
        {"app":"a","model":"m1","requests":2,"input_tokens":10,"output_tokens":5,"cost_usd":0.5,"blocked":1},
        {"app":"a","model":"m2","requests":1,"input_tokens":1,"output_tokens":1,"cost_usd":0.25},
        {"app":"b","model":"m1","requests":9,"input_tokens":100,"output_tokens":50,"cost_usd":0.1},
        "junk", {"requests":"x"}])")
                           .array());
    QCOMPARE(model.rowCount(), 3);  // a, b and an "unknown" row for the object without an app
    QCOMPARE(model.apps().at(0).app, QStringLiteral("a"));
    QCOMPARE(model.apps().at(0).requests, 3);
    QCOMPARE(model.apps().at(0).models, (QStringList{QStringLiteral("m1"), QStringLiteral("m2")}));
    QCOMPARE(model.apps().at(0).blocked, 1);
    QCOMPARE(model.totals().requests, 12);
    QCOMPARE(model.totals().costUsd, 0.85);
    model.setLastSeen(QStringLiteral("b"), 1234);
    QCOMPARE(model.apps().at(1).lastSeenMs, 1234);
}

void TestGuiModels::refusedRequestNotificationsAreRateLimitedWithACount() {
    Notifier notifier;
    notifier.setBlockedWindowMs(300);
    QSignalSpy spy(&notifier, &Notifier::notificationRaised);
    notifier.onRequest(makeRow(1));  // ok: no notification
    QCOMPARE(spy.size(), 0);
    notifier.onRequest(makeRow(2, QStringLiteral("codex"), QStringLiteral("blocked")));
    notifier.onRequest(makeRow(3, QStringLiteral("codex"), QStringLiteral("rate_limited")));
    notifier.onRequest(makeRow(4, QStringLiteral("curl"), QStringLiteral("budget_exceeded")));
    QCOMPARE(spy.size(), 1);
    QVERIFY(spy.at(0).at(1).toString().contains(QStringLiteral("codex")));
    QVERIFY(spy.wait(2000));
    QCOMPARE(spy.size(), 2);
    QVERIFY2(spy.at(1).at(1).toString().contains(QStringLiteral("2 more")),
             qPrintable(spy.at(1).at(1).toString()));
    QVERIFY(spy.at(1).at(2).toString().contains(QStringLiteral("curl")));
}

void TestGuiModels::pauseNoticesRaiseANotificationWithTheDaemonsMessage() {
    Notifier notifier;
    QSignalSpy spy(&notifier, &Notifier::notificationRaised);
    notifier.onNotice(QStringLiteral("pause"),
                      QJsonObject{{QStringLiteral("state"), QStringLiteral("paused")},
                                  {QStringLiteral("message"), QStringLiteral("paused for 10 minutes")}});
    notifier.onNotice(QStringLiteral("pause"), QJsonObject{{QStringLiteral("state"), QStringLiteral("resumed")}});
    QCOMPARE(spy.size(), 2);
    QCOMPARE(spy.at(0).at(1).toString(), QStringLiteral("Interception paused"));
    QCOMPARE(spy.at(0).at(2).toString(), QStringLiteral("paused for 10 minutes"));
    QCOMPARE(spy.at(1).at(1).toString(), QStringLiteral("Interception resumed"));
}

void TestGuiModels::budgetNoticeTextNamesAppAndPercentage() {
    const QString text =
        Notifier::describeBudget(QJsonObject{{QStringLiteral("app"), QStringLiteral("claude")},
                                             {QStringLiteral("period"), QStringLiteral("month")},
                                             {QStringLiteral("used_usd"), 9.0},
                                             {QStringLiteral("limit_usd"), 10.0}});
    QVERIFY2(text.contains(QStringLiteral("claude")) && text.contains(QStringLiteral("90%")) &&
                 text.contains(QStringLiteral("month")),
             qPrintable(text));
    QCOMPARE(Notifier::describeBudget(
                 QJsonObject{{QStringLiteral("message"), QStringLiteral("custom")}}),
             QStringLiteral("custom"));
    QVERIFY(!Notifier::describeBudget(QJsonObject{}).isEmpty());
}

void TestGuiModels::budgetsParseLimitsAndUseLeniently() {
    const QList<BudgetGauge> gauges = parseBudgets(QJsonDocument::fromJson(R"({"budgets":[
        {"period":"day","usd":5.0,"used_usd":4.0,"app":"claude"},
        {"period":"month","tokens":2000000,"used_tokens":500000,"scope":"device"},
        {"period":"day","usd":0},
        "junk"]})")
                                                       .object());
    QCOMPARE(gauges.size(), 2);
    QCOMPARE(gauges[0].fraction(), 0.8);
    QVERIFY(gauges[0].usd);
    QVERIFY(gauges[0].label.contains(QStringLiteral("claude")));
    QCOMPARE(gauges[1].fraction(), 0.25);
    QVERIFY(!gauges[1].usd);
    QVERIFY(parseBudgets(QJsonObject{}).isEmpty());
}

void TestGuiModels::policyIsDescribedInReadableFormWithAppOverrides() {
    const QJsonObject bundle =
        QJsonDocument::fromJson(R"({"version": 3, "expires_at": "2026-12-25T00:00:00Z",
        "profiles": {"default": {"mode": "enforce", "fail_mode": "closed",
          "models": {"allow": ["gpt-4o*", "claude-*"], "deny": ["*-preview"], "aliases": {"gpt-4o": "gpt-4o-mini"}},
          "budgets": [{"period": "day", "usd": 5.0, "warn_at": 0.8}],
          "rate_limits": [{"rpm": 60, "concurrent": 4}],
          "guardrails": {"detectors": {"credit_card": "block"}},
          "apps": {"curl": {"models": {"allow": ["gpt-4o-mini"]}, "rate_limits": [{"rpm": 5}]}}}}})")
            .object();
    QJsonObject answer{{QStringLiteral("bundle"), bundle},
                       {QStringLiteral("source"), QStringLiteral("https://policy.example")},
                       {QStringLiteral("profile"), QStringLiteral("default")}};
    QTextDocument doc;
    doc.setHtml(describePolicy(answer));
    const QString text = doc.toPlainText();
    for (const char *expected :
         {"Version", "3", "https://policy.example", "gpt-4o*, claude-*", "*-preview",
          "served by gpt-4o-mini", "$5 per day", "warns at 80%", "60 requests/min", "4 at once",
          "credit_card", "curl", "5 requests/min", "refused"})
        QVERIFY2(
            text.contains(QLatin1String(expected)),
            qPrintable(QStringLiteral("missing '%1' in:\n%2").arg(QLatin1String(expected), text)));
}

void TestGuiModels::listenSettingKeepsOtherConfigKeys() {
    const QString path = m_home.path() + QStringLiteral("/cfg/config.json");
    QString error;
    QVERIFY2(writeListenSetting(path, QStringLiteral("127.0.0.1:9000"), &error), qPrintable(error));
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadWrite | QIODevice::Truncate));
    f.write(R"({"providers":[{"name":"x"}],"listen":"127.0.0.1:1"})");
    f.close();
    QVERIFY2(writeListenSetting(path, QStringLiteral("127.0.0.1:9001"), &error), qPrintable(error));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QJsonObject o = QJsonDocument::fromJson(f.readAll()).object();
    QCOMPARE(o.value(QStringLiteral("listen")).toString(), QStringLiteral("127.0.0.1:9001"));
    QCOMPARE(o.value(QStringLiteral("providers")).toArray().size(), 1);
}

void TestGuiModels::listenSettingRefusesToOverwriteMalformedConfig() {
    const QString path = m_home.path() + QStringLiteral("/bad.json");
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("{ not json");
    f.close();
    QString error;
    QVERIFY(!writeListenSetting(path, QStringLiteral("127.0.0.1:9000"), &error));
    QVERIFY(!error.isEmpty());
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll(), QByteArray("{ not json"));
}

void TestGuiModels::autostartWritesAndRemovesDesktopEntry() {
    const QString id = QStringLiteral("airlock-test");
    QVERIFY(autostartLocation(id).startsWith(m_home.path()));
    QVERIFY(!isAutostartEnabled(id));
    QString error;
    QVERIFY2(enableAutostart({id,
                              QStringLiteral("Airlock"),
                              QStringLiteral("/opt/air lock/airlock"),
                              {QStringLiteral("--minimized"), QStringLiteral("100%")},
                              QStringLiteral("test")},
                             &error),
             qPrintable(error));
    QVERIFY(isAutostartEnabled(id));
    QFile f(autostartLocation(id));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray text = f.readAll();
    QVERIFY2(text.contains("Exec=\"/opt/air lock/airlock\" --minimized 100%%"), text.constData());
    QVERIFY(text.startsWith("[Desktop Entry]\n"));
    QVERIFY2(disableAutostart(id, &error), qPrintable(error));
    QVERIFY(!isAutostartEnabled(id));
    QVERIFY(!QFile::exists(autostartLocation(id)));
}

void TestGuiModels::staysResponsiveWith100kRowsAnd50EventsPerSecond() {
    constexpr int kRows = 100'000;
    constexpr int kEventsPerSecond = 50;
    constexpr int kRunMs = 3000;
    constexpr int kPingMs = 10;
    constexpr qint64 kMaxLoopLatencyMs = 250;  // loose: shared CI machines
    RequestTableModel model;
    QList<RequestRow> rows;
    rows.reserve(kRows);
    for (int i = kRows; i > 0; --i) rows.append(makeRow(i, QStringLiteral("app%1").arg(i % 7)));
    model.resetRows(rows);
    RequestFilterProxy proxy;
    proxy.setSourceModel(&model);
    proxy.setSearchText(QStringLiteral("app3"));  // a live filter over the full ring
    QTableView view;
    view.verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    view.setModel(&proxy);
    view.resize(1200, 800);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));

    int next = kRows + 1;
    QTimer feeder;
    feeder.setInterval(1000 / kEventsPerSecond);
    connect(&feeder, &QTimer::timeout, &model, [&] {
        const int i = next++;
        model.enqueue(makeRow(i, QStringLiteral("app%1").arg(i % 7)));
    });
    qint64 worst = 0;
    QElapsedTimer sincePing;
    QTimer ping;
    ping.setInterval(kPingMs);
    connect(&ping, &QTimer::timeout, &model, [&] {
        worst = std::max(worst, sincePing.restart() - kPingMs);
        view.viewport()->update();
    });
    QElapsedTimer run;
    run.start();
    sincePing.start();
    feeder.start();
    ping.start();
    while (run.elapsed() < kRunMs) QTest::qWait(20);
    feeder.stop();
    ping.stop();
    model.flushPending();
    QCOMPARE(model.rowCount(), kRows);  // the ring stays at its bound: oldest rows evicted
    QCOMPARE(model.row(0).id, "id-" + QByteArray::number(next - 1));
    QVERIFY(next - kRows - 1 >= kEventsPerSecond * kRunMs / 1000 / 2);
    QVERIFY2(worst <= kMaxLoopLatencyMs,
             qPrintable(QStringLiteral("event loop stalled %1 ms").arg(worst)));
    qInfo("worst event loop delay: %lld ms over %d events", worst, next - kRows - 1);
}

QTEST_MAIN(TestGuiModels)
#include "tst_gui_models.moc"
