// The dashboard against a real airlockd: seeded ledger numbers on screen, live requests,
// budget notifications from the events stream, and surviving a daemon restart.
#include "app/airlock/apps_page.h"
#include "app/airlock/client_session.h"
#include "app/airlock/dashboard_window.h"
#include "app/airlock/overview_page.h"
#include "app/airlock/policy_page.h"
#include "app/airlock/providers_page.h"
#include "app/airlock/requests_page.h"
#include "core/store/ledger_reader.h"
#include "core/store/ledger_writer.h"

#include <QDate>
#include <QDeadlineTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QNetworkAccessManager>
#include <QNetworkProxy>
#include <QNetworkReply>
#include <QPointer>
#include <QProcess>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <memory>

using namespace airlock;

namespace {

constexpr int kDeadlineMs = 15'000;

// Answers every HTTP request with an OpenAI chat completion carrying usage.
class FakeUpstream : public QTcpServer {
public:
    FakeUpstream() { listen(QHostAddress::LocalHost, 0); }

protected:
    void incomingConnection(qintptr fd) override {
        auto *s = new QTcpSocket(this);
        s->setSocketDescriptor(fd);
        auto buffer = std::make_shared<QByteArray>();
        connect(s, &QTcpSocket::readyRead, s, [s, buffer] {
            buffer->append(s->readAll());
            for (;;) {
                const qsizetype end = buffer->indexOf("\r\n\r\n");
                if (end < 0) return;
                qsizetype length = 0;
                for (const QByteArray &line : buffer->left(end).split('\n'))
                    if (line.toLower().startsWith("content-length:"))
                        length = line.mid(15).trimmed().toLongLong();
                if (buffer->size() < end + 4 + length) return;
                buffer->remove(0, end + 4 + length);
                const QByteArray json =
                    R"({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}})";
                s->write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                         QByteArray::number(json.size()) + "\r\n\r\n" + json);
            }
        });
    }
};

// Plays a daemon's local API just enough for one events stream with a budget notice.
class FakeEventsDaemon : public QTcpServer {
public:
    QByteArray events;
    FakeEventsDaemon() { listen(QHostAddress::LocalHost, 0); }

protected:
    void incomingConnection(qintptr fd) override {
        auto *s = new QTcpSocket(this);
        s->setSocketDescriptor(fd);
        connect(s, &QTcpSocket::readyRead, s, [this, s] {
            const QByteArray head = s->readAll();
            if (head.startsWith("GET /airlock/v1/events")) {
                s->write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n: hello\n\n");
                // Split across writes to exercise the stream parser's buffering.
                s->write(events.left(10));
                s->flush();
                s->write(events.mid(10));
            } else if (head.startsWith("GET /healthz")) {
                s->write("HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}");
            } else {
                s->write("HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}");
            }
        });
    }
};

// Serves one file body for every GET (the signed policy bundle).
class FileServer : public QTcpServer {
public:
    QByteArray body;
    FileServer() { listen(QHostAddress::LocalHost, 0); }

protected:
    void incomingConnection(qintptr fd) override {
        auto *s = new QTcpSocket(this);
        s->setSocketDescriptor(fd);
        connect(s, &QTcpSocket::readyRead, s, [this, s] {
            s->readAll();
            s->write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                     QByteArray::number(body.size()) + "\r\n\r\n" + body);
        });
    }
};

QByteArray runCtl(const QStringList &args) {
    QProcess ctl;
    ctl.start(QStringLiteral(AIRLOCKCTL_PATH), args);
    if (!ctl.waitForFinished(30'000) || ctl.exitCode() != 0) {
        qWarning("airlockctl %s failed: %s", qPrintable(args.join(QLatin1Char(' '))),
                 ctl.readAllStandardError().constData());
        return {};
    }
    return ctl.readAllStandardOutput();
}

quint16 freePort() {
    QTcpServer probe;
    probe.listen(QHostAddress::LocalHost, 0);
    return probe.serverPort();
}

UsageRecord seedRow(const QByteArray &id, const QString &app, const QString &model, qint64 in,
                    qint64 out, double cost, const QString &outcome = QStringLiteral("ok")) {
    UsageRecord r;
    r.id = id;
    // Inside today even when the test starts just after midnight.
    r.tsMs = std::max(QDateTime::currentMSecsSinceEpoch() - 2000,
                      QDate::currentDate().startOfDay().toMSecsSinceEpoch());
    r.app = app;
    r.provider = QStringLiteral("openai");
    r.format = QStringLiteral("openai");
    r.endpoint = QStringLiteral("chat");
    r.model = model;
    r.status = outcome == QLatin1String("ok") ? 200 : 403;
    r.inputTokens = in;
    r.outputTokens = out;
    r.costUsd = cost;
    r.latencyMs = 12;
    r.outcome = outcome;
    if (outcome != QLatin1String("ok")) r.error = QStringLiteral("model not allowed by policy");
    return r;
}

}  // namespace

class TestDashboard : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void overviewAndAppsShowTheLedgersNumbers();
    void liveRequestAppearsInRequestsTable();
    void pagesExplainEndpointsTheDaemonDoesNotServe();
    void budgetCrossingOnRealDaemonRaisesNotification();
    void noticesOnEventsStreamRaiseRateLimitedNotifications();
    void keepsWorkingWhenDaemonIsKilledAndRestarted();
    void cleanupTestCase();

private:
    bool sendChat(const QByteArray &model);
    QTemporaryDir m_dir;
    FakeUpstream m_upstream;
    FileServer m_policyServer;
    quint16 m_port = 0;
    std::unique_ptr<QProcess> m_daemon;
    std::unique_ptr<ClientSession> m_session;
    std::unique_ptr<DashboardWindow> m_window;
    QNetworkAccessManager m_nam;
};

void TestDashboard::initTestCase() {
    QVERIFY(m_dir.isValid());
    QVERIFY(m_upstream.isListening());
    m_nam.setProxy(QNetworkProxy::NoProxy);
    {
        LedgerWriter writer(m_dir.path() + QStringLiteral("/usage.db"));
        QString error;
        QVERIFY2(writer.start(&error), qPrintable(error));
        writer.append(seedRow("seed-1", QStringLiteral("alpha"), QStringLiteral("gpt-4o"), 1000,
                              200, 0.0125));
        writer.append(seedRow("seed-2", QStringLiteral("alpha"), QStringLiteral("gpt-4o-mini"),
                              3000, 500, 0.5));
        writer.append(
            seedRow("seed-3", QStringLiteral("alpha"), QStringLiteral("gpt-4o"), 10, 20, 0.25));
        writer.append(seedRow("seed-4", QStringLiteral("beta"), QStringLiteral("claude-sonnet-4-5"),
                              777, 333, 1.75));
        writer.append(seedRow("seed-5", QStringLiteral("beta"), QStringLiteral("o3"), 5, 0, 0,
                              QStringLiteral("blocked")));
        writer.flush();
        QCOMPARE(writer.writtenRows(), 5);
    }
    // A signed policy whose only rule is a day budget on "gpt-budget-*" models, warning at once.
    const QString keys = m_dir.path() + QStringLiteral("/keys");
    QVERIFY(
        !runCtl({QStringLiteral("policy"), QStringLiteral("keygen"), QStringLiteral("--out"), keys})
             .isNull());
    QFile bundle(m_dir.path() + QStringLiteral("/bundle.json"));
    QVERIFY(bundle.open(QIODevice::WriteOnly));
    const QDate today = QDate::currentDate();
    bundle.write(
        QStringLiteral(R"({"version": 9, "issued_at": "%1T00:00:00Z", "expires_at": "%2T00:00:00Z",
        "profiles": {"default": {"mode": "enforce", "fail_mode": "open",
          "budgets": [{"period": "day", "tokens": 1000000, "warn_at": 0.000001, "models": ["gpt-budget-*"]}]}}})")
            .arg(today.addDays(-1).toString(Qt::ISODate), today.addDays(30).toString(Qt::ISODate))
            .toUtf8());
    bundle.close();
    m_policyServer.body =
        runCtl({QStringLiteral("policy"), QStringLiteral("sign"), QStringLiteral("--key"),
                keys + QStringLiteral("/policy-signing.key"), bundle.fileName()});
    QVERIFY(!m_policyServer.body.isEmpty());
    QFile config(m_dir.path() + QStringLiteral("/config.json"));
    QVERIFY(config.open(QIODevice::WriteOnly));
    const QJsonObject policy{
        {QStringLiteral("url"),
         QStringLiteral("http://127.0.0.1:%1/bundle.json").arg(m_policyServer.serverPort())},
        {QStringLiteral("trusted_keys"), QJsonArray{keys + QStringLiteral("/policy-signing.pub")}},
        {QStringLiteral("poll_seconds"), 300},
        // Requests pass while the bundle is being fetched (a restarted daemon fetches it again).
        {QStringLiteral("fail_mode"), QStringLiteral("open")}};
    config.write(QJsonDocument(QJsonObject{{QStringLiteral("policy"), policy}}).toJson());
    config.close();

    m_port = freePort();
    const QStringList daemonArgs{
        QStringLiteral("--config"),
        config.fileName(),
        QStringLiteral("--listen"),
        QStringLiteral("127.0.0.1:%1").arg(m_port),
        QStringLiteral("--upstream"),
        QStringLiteral("openai=http://127.0.0.1:%1").arg(m_upstream.serverPort())};
    m_daemon = std::make_unique<QProcess>();
    m_daemon->setProcessChannelMode(QProcess::ForwardedErrorChannel);
    m_daemon->start(QStringLiteral(AIRLOCKD_PATH),
                    QStringList{QStringLiteral("--data-dir"), m_dir.path()} + daemonArgs);
    QVERIFY2(m_daemon->waitForStarted(), qPrintable(m_daemon->errorString()));
    // airlockd writes its runtime file once it listens; only then is "none answers" meaningful.
    QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(m_dir.path() + QStringLiteral("/airlockd.json")),
                             kDeadlineMs);

    SessionOptions options;
    options.dataDir = m_dir.path();
    options.airlockdPath = QStringLiteral(AIRLOCKD_PATH);
    options.daemonArgs = daemonArgs;
    m_session = std::make_unique<ClientSession>(options);
    m_window = std::make_unique<DashboardWindow>(m_session.get());
    m_window->show();
    m_session->start();
    QTRY_VERIFY_WITH_TIMEOUT(m_session->daemonUp(), kDeadlineMs);
    QTRY_VERIFY_WITH_TIMEOUT(m_session->client()->eventsConnected(), kDeadlineMs);
    // The GUI found the daemon we started; it did not start a second one.
    QCOMPARE(m_session->supervisor()->startsDone(), 0);
}

void TestDashboard::budgetCrossingOnRealDaemonRaisesNotification() {
    // The daemon fetches the policy at start; wait until it is in force.
    bool active = false;
    const QDeadlineTimer deadline(kDeadlineMs);
    while (!active && !deadline.hasExpired()) {
        bool answered = false;
        m_session->client()->get(
            QStringLiteral("/airlock/v1/policy"), this, [&](const ApiReply &r) {
                active =
                    r.json.value(QStringLiteral("state")).toString() == QLatin1String("active");
                answered = true;
            });
        QTRY_VERIFY_WITH_TIMEOUT(answered, kDeadlineMs);
        if (!active) QTest::qWait(100);
    }
    QVERIFY2(active, "the signed policy did not come into force");
    QSignalSpy spy(m_session->notifier(), &Notifier::notificationRaised);
    QVERIFY(sendChat("gpt-budget-probe"));
    QTRY_VERIFY_WITH_TIMEOUT(!spy.isEmpty(), kDeadlineMs);
    QCOMPARE(spy.at(0).at(0).value<Notifier::Kind>(), Notifier::Kind::Budget);
    QVERIFY2(spy.at(0).at(2).toString().contains(QStringLiteral("tst_dashboard")),
             qPrintable(spy.at(0).at(2).toString()));
    // The Policy page shows that policy in readable form.
    PolicyPage *policyPage = m_window->policy();
    const int before = policyPage->loadsCompleted();
    m_window->showPage(DashboardWindow::Policy);
    QTRY_VERIFY_WITH_TIMEOUT(policyPage->loadsCompleted() > before, kDeadlineMs);
    QVERIFY2(policyPage->shownText().contains(QStringLiteral("1000000 tokens per day")),
             qPrintable(policyPage->shownText()));
}

bool TestDashboard::sendChat(const QByteArray &model) {
    QNetworkRequest req(
        QUrl(QStringLiteral("http://127.0.0.1:%1/v1/chat/completions").arg(m_port)));
    req.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
    req.setRawHeader("Authorization", "Bearer sk-test");
    QNetworkReply *reply = m_nam.post(
        req, R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}]})");
    QSignalSpy done(reply, &QNetworkReply::finished);
    const bool ok = done.wait(kDeadlineMs) &&
                    reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt() == 200;
    reply->deleteLater();
    return ok;
}

void TestDashboard::overviewAndAppsShowTheLedgersNumbers() {
    // What the ledger says, read directly.
    LedgerReader reader(m_dir.path() + QStringLiteral("/usage.db"));
    QString error;
    QVERIFY2(reader.open(&error), qPrintable(error));
    UsageQuery q;
    q.fromMs = QDate::currentDate().startOfDay().toMSecsSinceEpoch();
    q.groupBy = {QStringLiteral("app")};
    const QList<UsageRow> rows = reader.usage(q, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QVERIFY(rows.size() >= 2);
    qint64 requests = 0, tokens = 0;
    double cost = 0;
    QHash<QString, UsageRow> byApp;
    for (const UsageRow &r : rows) {
        requests += r.requests;
        tokens += r.inputTokens + r.outputTokens;
        cost += r.costUsd;
        byApp.insert(r.keys.value(0), r);
    }

    OverviewPage *overview = m_window->overview();
    const int before = overview->loadsCompleted();
    m_window->showPage(DashboardWindow::Overview);
    overview->refresh();
    QTRY_VERIFY_WITH_TIMEOUT(overview->loadsCompleted() > before, kDeadlineMs);
    const auto label = [overview](const char *name) {
        auto *l = overview->findChild<QLabel *>(QLatin1String(name));
        return l ? l->text() : QStringLiteral("(missing)");
    };
    QCOMPARE(label("requestsToday"), formatTokens(requests));
    QCOMPARE(label("tokensToday"), formatTokens(tokens));
    QCOMPARE(label("spendToday"), formatUsd(cost));
    QCOMPARE(label("spendToday"), QStringLiteral("$2.51"));  // 0.0125 + 0.5 + 0.25 + 1.75
    QCOMPARE(label("requestsMonth"), formatTokens(requests));

    AppsPage *apps = m_window->apps();
    const int appsBefore = apps->loadsCompleted();
    m_window->showPage(DashboardWindow::Apps);
    QTRY_VERIFY_WITH_TIMEOUT(apps->loadsCompleted() > appsBefore, kDeadlineMs);
    const AppUsageModel *model = apps->model();
    QCOMPARE(model->rowCount(), rows.size());
    for (const AppUsage &a : model->apps()) {
        QVERIFY2(byApp.contains(a.app), qPrintable(a.app));
        const UsageRow &r = byApp[a.app];
        QCOMPARE(a.requests, r.requests);
        QCOMPARE(a.inputTokens, r.inputTokens);
        QCOMPARE(a.outputTokens, r.outputTokens);
        QVERIFY(qAbs(a.costUsd - r.costUsd) < 1e-9);
        QCOMPARE(a.blocked, r.blocked);
    }
    // Sorted by spend: beta ($1.75) before alpha ($0.7625); models listed per app.
    QCOMPARE(model->apps().first().app, QStringLiteral("beta"));
    const AppUsage &alpha = model->apps().at(1);
    QCOMPARE(alpha.models, (QStringList{QStringLiteral("gpt-4o"), QStringLiteral("gpt-4o-mini")}));
    QCOMPARE(model->data(model->index(1, AppUsageModel::Requests)).toString(), QStringLiteral("3"));
    QTRY_VERIFY_WITH_TIMEOUT(alpha.lastSeenMs > 0, kDeadlineMs);
}

void TestDashboard::liveRequestAppearsInRequestsTable() {
    // The initial page has the seeded rows.
    RequestTableModel *table = m_session->requests();
    QTRY_VERIFY_WITH_TIMEOUT(table->rowCount() >= 5, kDeadlineMs);
    const int before = table->rowCount();
    QVERIFY(sendChat("gpt-live-probe"));
    QTRY_VERIFY_WITH_TIMEOUT(table->rowCount() == before + 1, kDeadlineMs);
    const RequestRow &row = table->row(0);
    QCOMPARE(row.model, QStringLiteral("gpt-live-probe"));
    QCOMPARE(row.app, QStringLiteral("tst_dashboard"));
    QCOMPARE(row.inputTokens, 11);
    QCOMPARE(row.outputTokens, 7);
    QCOMPARE(row.status, 200);

    RequestsPage *page = m_window->requests();
    m_window->showPage(DashboardWindow::Requests);
    page->proxy()->setSearchText(QStringLiteral("live-probe"));
    QCOMPARE(page->proxy()->rowCount(), 1);
    page->selectRow(0);
    QVERIFY(page->detailText().contains(QStringLiteral("gpt-live-probe")));
    QVERIFY(page->detailText().contains(QStringLiteral("not recorded by policy")));
    page->proxy()->setSearchText(QString());
    page->proxy()->setOutcomeFilter(RequestFilterProxy::OutcomeFilter::Refused);
    QCOMPARE(page->proxy()->rowCount(), 1);  // the seeded blocked row
    page->proxy()->setOutcomeFilter(RequestFilterProxy::OutcomeFilter::All);
}

void TestDashboard::pagesExplainEndpointsTheDaemonDoesNotServe() {
    // Budgets and provider health may be absent: explained, never broken.
    ProvidersPage *providers = m_window->providers();
    const int pBefore = providers->loadsCompleted();
    m_window->showPage(DashboardWindow::Providers);
    QTRY_VERIFY_WITH_TIMEOUT(providers->loadsCompleted() > pBefore, kDeadlineMs);
    // The openai upstream, from /providers targets or the /status provider list.
    QVERIFY(providers->model()->rowCount() >= 1);
    QTRY_VERIFY_WITH_TIMEOUT(!m_window->apps()->budgetsText().trimmed().isEmpty(), kDeadlineMs);
}

void TestDashboard::noticesOnEventsStreamRaiseRateLimitedNotifications() {
    // The budget notice comes over the same SSE path airlockd uses; a stand-in daemon sends it
    // so the test does not depend on a policy with a budget being crossed.
    QTemporaryDir dir;
    FakeEventsDaemon fake;
    fake.events =
        "event: budget\r\ndata: {\"app\":\"alpha\",\"period\":\"day\",\"fraction\":0.8,"
        "\"used_usd\":4,\"limit_usd\":5}\r\n\r\nevent: request\ndata: "
        "{\"id\":\"r1\",\"app\":\"beta\","
        "\"outcome\":\"blocked\",\"error\":\"model denied\",\"model\":\"o3\"}\n\n"
        "event: request\ndata: {\"id\":\"r2\",\"app\":\"beta\",\"outcome\":\"rate_limited\"}\n\n"
        "event: policy\ndata: {\"version\":7}\n\n";
    QFile runtime(dir.path() + QStringLiteral("/airlockd.json"));
    QVERIFY(runtime.open(QIODevice::WriteOnly));
    runtime.write(QStringLiteral(R"({"host":"127.0.0.1","port":%1,"pid":1})")
                      .arg(fake.serverPort())
                      .toUtf8());
    runtime.close();
    SessionOptions options;
    options.dataDir = dir.path();
    options.supervise = false;
    ClientSession session(options);
    QSignalSpy spy(session.notifier(), &Notifier::notificationRaised);
    session.client()->startEvents();
    QTRY_VERIFY_WITH_TIMEOUT(spy.size() >= 3, kDeadlineMs);
    QCOMPARE(spy.at(0).at(0).value<Notifier::Kind>(), Notifier::Kind::Budget);
    QVERIFY2(spy.at(0).at(2).toString().contains(QStringLiteral("80%")),
             qPrintable(spy.at(0).at(2).toString()));
    QVERIFY(spy.at(0).at(2).toString().contains(QStringLiteral("alpha")));
    // Two refusals in a row: one notification now, the second is held back and counted.
    QCOMPARE(spy.at(1).at(0).value<Notifier::Kind>(), Notifier::Kind::Blocked);
    QCOMPARE(spy.at(2).at(0).value<Notifier::Kind>(), Notifier::Kind::Policy);
    QVERIFY(spy.at(2).at(2).toString().contains(QStringLiteral("7")));
    QCOMPARE(spy.size(), 3);

    // This stand-in serves no /policy (404): the Policy page explains instead of breaking.
    session.supervisor()->start();
    QTRY_VERIFY_WITH_TIMEOUT(session.daemonUp(), kDeadlineMs);
    PolicyPage page(&session);
    page.refresh();
    QTRY_VERIFY_WITH_TIMEOUT(page.loadsCompleted() > 0, kDeadlineMs);
    QVERIFY2(page.shownText().contains(QStringLiteral("No policy is configured")),
             qPrintable(page.shownText()));
}

void TestDashboard::keepsWorkingWhenDaemonIsKilledAndRestarted() {
    QSignalSpy started(m_session->supervisor(), &DaemonSupervisor::daemonStarted);
    m_daemon->kill();
    QVERIFY(m_daemon->waitForFinished(kDeadlineMs));
    QTRY_VERIFY_WITH_TIMEOUT(!m_session->client()->eventsConnected(), kDeadlineMs);
    // The supervisor notices and starts a new daemon; the events stream reconnects.
    QTRY_VERIFY_WITH_TIMEOUT(started.size() >= 1, kDeadlineMs);
    QTRY_VERIFY_WITH_TIMEOUT(m_session->daemonUp(), kDeadlineMs);
    QTRY_VERIFY_WITH_TIMEOUT(m_session->client()->eventsConnected(), kDeadlineMs);
    const int before = m_session->requests()->rowCount();
    QVERIFY(sendChat("gpt-after-restart"));
    QTRY_VERIFY_WITH_TIMEOUT(m_session->requests()->rowCount() == before + 1, kDeadlineMs);
    QCOMPARE(m_session->requests()->row(0).model, QStringLiteral("gpt-after-restart"));
    // And the pages still load from the new daemon.
    OverviewPage *overview = m_window->overview();
    const int loads = overview->loadsCompleted();
    overview->refresh();
    QTRY_VERIFY_WITH_TIMEOUT(overview->loadsCompleted() > loads, kDeadlineMs);
    QCOMPARE(overview->findChild<QLabel *>(QStringLiteral("requestsToday"))->text(),
             QStringLiteral("8"));  // 5 seeded + 3 sent
}

void TestDashboard::cleanupTestCase() {
    m_window.reset();
    m_session.reset();
    if (m_daemon && m_daemon->state() != QProcess::NotRunning) {
        m_daemon->terminate();
        m_daemon->waitForFinished(5000);
    }
    // A daemon the supervisor started is detached on purpose; stop it by the pid it wrote.
    QString error;
    const DaemonAddress a = readDaemonAddress(m_dir.path(), &error);
    if (a.pid > 1 && (!m_daemon || a.pid != m_daemon->processId())) ::kill(pid_t(a.pid), SIGTERM);
}

QTEST_MAIN(TestDashboard)
#include "tst_dashboard.moc"
