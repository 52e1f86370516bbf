// Policy sync against a real loopback HTTP server serving real signed bundles: first sync and
// cache, ETag 304, bad signature, rollback, expiry, offline start-up from the cache, and
// fail-closed vs fail-open through the real daemon when no bundle was ever fetched.
#include "core/daemon/daemon.h"
#include "core/policy/policy_enforcer.h"
#include "core/policy/policy_signature.h"
#include "core/policy/policy_sync.h"
#include "core/store/ledger_reader.h"
#include "core/store/policy_store.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>

using namespace airlock;

namespace {

// Serves one body at any path with an ETag, answering 304 to a matching If-None-Match.
class BundleServer : public QTcpServer {
public:
    QByteArray body;
    QByteArray etag = "\"v1\"";
    QList<QByteArray> heads;

    BundleServer() { listen(QHostAddress::LocalHost, 0); }
    QUrl url() const {
        return QUrl(QStringLiteral("http://127.0.0.1:%1/policy.json").arg(serverPort()));
    }

protected:
    void incomingConnection(qintptr fd) override {
        auto *s = new QTcpSocket(this);
        s->setSocketDescriptor(fd);
        auto buffer = std::make_shared<QByteArray>();
        connect(s, &QTcpSocket::readyRead, s, [this, s, buffer] {
            buffer->append(s->readAll());
            const qsizetype end = buffer->indexOf("\r\n\r\n");
            if (end < 0) return;
            const QByteArray head = buffer->left(end + 4);
            buffer->remove(0, end + 4);
            heads.append(head);
            const bool notModified = head.toLower().contains("if-none-match: " + etag.toLower());
            if (notModified)
                s->write("HTTP/1.1 304 Not Modified\r\nETag: " + etag +
                         "\r\nContent-Length: 0\r\n\r\n");
            else
                s->write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nETag: " + etag +
                         "\r\nContent-Length: " + QByteArray::number(body.size()) + "\r\n\r\n" +
                         body);
        });
    }
};

QByteArray bundleJson(qint64 version,
                      const QString &expires = QStringLiteral("2099-01-01T00:00:00Z"),
                      const QString &failMode = QStringLiteral("closed")) {
    const QJsonObject o{
        {QStringLiteral("version"), version},
        {QStringLiteral("issued_at"), QStringLiteral("2026-01-01T00:00:00Z")},
        {QStringLiteral("expires_at"), expires},
        {QStringLiteral("profiles"),
         QJsonObject{{QStringLiteral("default"),
                      QJsonObject{{QStringLiteral("fail_mode"), failMode},
                                  {QStringLiteral("models"),
                                   QJsonObject{{QStringLiteral("deny"),
                                                QJsonArray{QStringLiteral("*-preview")}}}}}}}}};
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

struct SyncResult {
    bool ok = false;
    qint64 version = -1;
    QString error;
};

SyncResult syncAndWait(PolicySync &sync) {
    SyncResult r;
    bool done = false;
    sync.syncNow([&](bool ok, qint64 version, const QString &error) {
        r = {ok, version, error};
        done = true;
    });
    if (!QTest::qWaitFor([&] { return done; }, 10'000)) r.error = QStringLiteral("timeout");
    return r;
}

}  // namespace

class TstPolicySync : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void syncFetchesVerifiesCachesAndSendsDeviceToken();
    void etagAnswersNotModifiedAndKeepsBundle();
    void badSignatureIsRejectedAndCurrentBundleStays();
    void rollbackToOlderVersionIsRejected();
    void expiredBundleIsRejectedAndExpiryIsReported();
    void offlineStartUpEnforcesCachedBundle();
    void tamperedCacheIsNotEnforced();
    void failsClosedWhenNeverFetched();
    void failsOpenWhenManagedConfigSaysSo();

private:
    SyncResult requestThroughDaemon(const QByteArray &managedJson, int *status, QByteArray *body);
    Ed25519KeyPair m_keys, m_otherKeys;
    QTemporaryDir m_dir;
    BundleServer m_server;
    PolicyConfig m_config;
};

void TstPolicySync::initTestCase() {
    QString e;
    QVERIFY(generateEd25519KeyPair(&m_keys, &e));
    QVERIFY(generateEd25519KeyPair(&m_otherKeys, &e));
    QVERIFY(m_server.isListening());
    m_config.configured = true;
    m_config.url = m_server.url();
    m_config.trustedKeys = {m_keys.publicPem};
    m_config.tokenEnv = QStringLiteral("AIRLOCK_TEST_DEVICE_TOKEN");
    qputenv("AIRLOCK_TEST_DEVICE_TOKEN", "dev-token-123");
    m_server.body = signPolicyBundle(bundleJson(1), m_keys.privatePem, &e);
}

void TstPolicySync::syncFetchesVerifiesCachesAndSendsDeviceToken() {
    PolicyEnforcer enforcer(m_config, PriceTable::builtIn());
    PolicyStore store(m_dir.filePath(QStringLiteral("policy.db")));
    PolicySync sync(m_config, &enforcer, &store);
    const SyncResult r = syncAndWait(sync);
    QVERIFY2(r.ok, qPrintable(r.error));
    QCOMPARE(r.version, 1);
    QCOMPARE(enforcer.state(), QStringLiteral("active"));
    QVERIFY(m_server.heads.last().contains("Authorization: Bearer dev-token-123"));
    CachedPolicy cached;
    bool found = false;
    QString e;
    QVERIFY(store.load(&cached, &found, &e) && found);
    QCOMPARE(cached.version, 1);
    QCOMPARE(cached.etag, QByteArray("\"v1\""));
    QCOMPARE(cached.source, m_server.url().toString());
}

void TstPolicySync::etagAnswersNotModifiedAndKeepsBundle() {
    PolicyEnforcer enforcer(m_config, PriceTable::builtIn());
    PolicyStore store(m_dir.filePath(QStringLiteral("policy.db")));
    PolicySync sync(m_config, &enforcer, &store);
    sync.start();  // the cache from the previous test, with its ETag
    QCOMPARE(enforcer.version(), 1);
    const SyncResult r = syncAndWait(sync);
    QVERIFY2(r.ok, qPrintable(r.error));
    QVERIFY(m_server.heads.last().toLower().contains("if-none-match: \"v1\""));
    QCOMPARE(r.version, 1);
    QCOMPARE(enforcer.state(), QStringLiteral("active"));
}

void TstPolicySync::badSignatureIsRejectedAndCurrentBundleStays() {
    PolicyEnforcer enforcer(m_config, PriceTable::builtIn());
    PolicyStore store(m_dir.filePath(QStringLiteral("policy.db")));
    PolicySync sync(m_config, &enforcer, &store);
    sync.start();
    QString e;
    const QByteArray good = m_server.body;
    m_server.body = signPolicyBundle(bundleJson(2), m_otherKeys.privatePem, &e);
    m_server.etag = "\"v2-forged\"";
    const SyncResult r = syncAndWait(sync);
    m_server.body = good;
    m_server.etag = "\"v1\"";
    QVERIFY(!r.ok);
    QVERIFY2(r.error.contains(QStringLiteral("bad signature")), qPrintable(r.error));
    QCOMPARE(enforcer.version(), 1);
    QCOMPARE(enforcer.state(), QStringLiteral("rejected"));
    CachedPolicy cached;
    bool found = false;
    QVERIFY(store.load(&cached, &found, &e) && found);
    QCOMPARE(cached.version, 1);  // the refused bundle never reaches the cache
}

void TstPolicySync::rollbackToOlderVersionIsRejected() {
    QString e;
    PolicyEnforcer enforcer(m_config, PriceTable::builtIn());
    QVERIFY(enforcer.acceptEnvelope(signPolicyBundle(bundleJson(7), m_keys.privatePem, &e),
                                    QStringLiteral("t"), &e));
    QTemporaryDir dir;
    PolicyStore store(dir.filePath(QStringLiteral("policy.db")));
    PolicySync sync(m_config, &enforcer, &store);
    const SyncResult r = syncAndWait(sync);  // the server still serves version 1
    QVERIFY(!r.ok);
    QVERIFY2(r.error.contains(QStringLiteral("rollback")), qPrintable(r.error));
    QCOMPARE(enforcer.version(), 7);
}

void TstPolicySync::expiredBundleIsRejectedAndExpiryIsReported() {
    QString e;
    PolicyEnforcer enforcer(m_config, PriceTable::builtIn());
    const QByteArray expired = signPolicyBundle(
        bundleJson(3, QStringLiteral("2026-01-02T00:00:00Z")), m_keys.privatePem, &e);
    QVERIFY(!enforcer.acceptEnvelope(expired, QStringLiteral("t"), &e));
    QVERIFY2(e.contains(QStringLiteral("expired")), qPrintable(e));
    QVERIFY(enforcer.acceptEnvelope(m_server.body, QStringLiteral("t"), &e));
    enforcer.setNow([] { return QDateTime(QDate(2100, 1, 1), QTime(0, 0), Qt::UTC); });
    QCOMPARE(enforcer.state(), QStringLiteral("expired"));
    QCOMPARE(enforcer.statusJson().value(QStringLiteral("state")).toString(),
             QStringLiteral("expired"));
}

void TstPolicySync::offlineStartUpEnforcesCachedBundle() {
    PolicyConfig offline = m_config;
    QTcpServer closed;
    QVERIFY(closed.listen(QHostAddress::LocalHost, 0));
    offline.url = QUrl(QStringLiteral("http://127.0.0.1:%1/policy.json").arg(closed.serverPort()));
    closed.close();  // nothing listens there now
    PolicyEnforcer enforcer(offline, PriceTable::builtIn());
    PolicyStore store(m_dir.filePath(QStringLiteral("policy.db")));
    PolicySync sync(offline, &enforcer, &store);
    sync.start();
    QCOMPARE(enforcer.version(), 1);
    PolicyInput in;
    QByteArray body = R"({"model":"o1-preview","messages":[]})";
    in.requestId = "x";
    in.format = WireFormat::OpenAI;
    in.kind = EndpointKind::ChatCompletions;
    in.model = "o1-preview";
    in.body = &body;
    bool refused = false;
    enforcer.evaluate(in, [&](PolicyVerdict v) { refused = !v.allow; });
    QVERIFY(refused);  // the cached rules apply with no network
    const SyncResult r = syncAndWait(sync);
    QVERIFY(!r.ok);
    QCOMPARE(enforcer.state(), QStringLiteral("stale"));
    QCOMPARE(enforcer.version(), 1);
}

void TstPolicySync::tamperedCacheIsNotEnforced() {
    QTemporaryDir dir;
    PolicyStore store(dir.filePath(QStringLiteral("policy.db")));
    QString e;
    CachedPolicy c;
    c.envelope = signPolicyBundle(bundleJson(9), m_keys.privatePem, &e);
    c.envelope.replace("\"signature\": \"", "\"signature\": \"AAAA");
    c.version = 9;
    QVERIFY(store.save(c, &e));
    PolicyConfig noUrl = m_config;
    noUrl.url = QUrl();
    PolicyEnforcer enforcer(noUrl, PriceTable::builtIn());
    PolicySync sync(noUrl, &enforcer, &store);
    sync.start();
    QVERIFY(!enforcer.hasBundle());
}

SyncResult TstPolicySync::requestThroughDaemon(const QByteArray &managedJson, int *status,
                                               QByteArray *body) {
    QTemporaryDir dir;
    const QString managed = dir.filePath(QStringLiteral("managed.json"));
    const QString user = dir.filePath(QStringLiteral("config.json"));
    QFile m(managed), u(user);
    m.open(QIODevice::WriteOnly);
    m.write(managedJson);
    m.close();
    u.open(QIODevice::WriteOnly);
    u.write("{}");
    u.close();
    qputenv("AIRLOCK_MANAGED_CONFIG", managed.toUtf8());
    // An upstream that answers every chat request, to tell fail-open from fail-closed.
    QTcpServer upstream;
    upstream.listen(QHostAddress::LocalHost, 0);
    connect(&upstream, &QTcpServer::newConnection, &upstream, [&upstream] {
        QTcpSocket *s = upstream.nextPendingConnection();
        connect(s, &QTcpSocket::readyRead, s, [s] {
            s->readAll();
            const QByteArray json =
                R"({"id":"c","object":"chat.completion","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}})";
            s->write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                     QByteArray::number(json.size()) + "\r\n\r\n" + json);
        });
    });
    DaemonOptions o;
    o.configPath = user;
    o.dataDir = dir.filePath(QStringLiteral("data"));
    o.listen = QStringLiteral("127.0.0.1:0");
    o.upstreams = {QStringLiteral("openai=http://127.0.0.1:%1").arg(upstream.serverPort())};
    Daemon daemon;
    QString error;
    SyncResult r;
    if (!daemon.start(o, &error)) {
        qunsetenv("AIRLOCK_MANAGED_CONFIG");
        r.error = error;
        return r;
    }
    QNetworkAccessManager nam;
    QNetworkRequest req(
        QUrl(QStringLiteral("http://127.0.0.1:%1/v1/chat/completions").arg(daemon.port())));
    req.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
    req.setRawHeader("Authorization", "Bearer sk-test");
    QNetworkReply *reply = nam.post(
        req, QByteArray(R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})"));
    if (!QTest::qWaitFor([&] { return reply->isFinished(); }, 10000))
        r.error = QStringLiteral("no answer");
    *status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    *body = reply->readAll();
    delete reply;
    daemon.stop();
    qunsetenv("AIRLOCK_MANAGED_CONFIG");
    r.ok = r.error.isEmpty();
    return r;
}

void TstPolicySync::failsClosedWhenNeverFetched() {
    // A policy URL where nothing listens, no cache: closed is the default for a managed install.
    const QByteArray managed =
        R"({"policy":{"url":"http://127.0.0.1:1/policy.json","token_env":"AIRLOCK_TEST_DEVICE_TOKEN"}})";
    int status = 0;
    QByteArray body;
    const SyncResult r = requestThroughDaemon(managed, &status, &body);
    QVERIFY2(r.ok, qPrintable(r.error));
    QCOMPARE(status, 503);
    const QJsonObject err =
        QJsonDocument::fromJson(body).object().value(QLatin1String("error")).toObject();
    QCOMPARE(err.value(QLatin1String("code")).toString(), QStringLiteral("policy_unavailable"));
    QVERIFY(
        err.value(QLatin1String("message")).toString().contains(QStringLiteral("fails closed")));
}

void TstPolicySync::failsOpenWhenManagedConfigSaysSo() {
    const QByteArray managed =
        R"({"policy":{"url":"http://127.0.0.1:1/policy.json","fail_mode":"open","token_env":"AIRLOCK_TEST_DEVICE_TOKEN"}})";
    int status = 0;
    QByteArray body;
    const SyncResult r = requestThroughDaemon(managed, &status, &body);
    QVERIFY2(r.ok, qPrintable(r.error));
    QCOMPARE(status, 200);
}

QTEST_GUILESS_MAIN(TstPolicySync)
#include "tst_policy_sync.moc"
