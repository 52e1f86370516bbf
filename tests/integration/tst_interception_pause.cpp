// Pausing TLS interception through the real daemon: what the policy allows (nothing, a cap, an
// hour without policy), the status fields the GUI reads, CONNECT to an AI host as a blind tunnel
// while paused (the client sees the origin's own certificate), resume, and expiry by the timer.
#include "core/daemon/daemon.h"
#include "core/policy/policy_bundle.h"
#include "core/policy/policy_signature.h"
#include "core/proxy/interception_pause.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSslCertificate>
#include <QSslKey>
#include <QSslServer>
#include <QSslSocket>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

using namespace airlock;

namespace {

constexpr int kWaitMs = 10'000;

// A throwaway self-signed certificate for "localhost", so the test can tell the origin's own
// certificate from one Airlock minted.
bool makeSelfSigned(QSslCertificate *cert, QSslKey *key) {
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    bool ok = pkey && x;
    if (ok) {
        ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
        X509_gmtime_adj(X509_getm_notBefore(x), -3600);
        X509_gmtime_adj(X509_getm_notAfter(x), 3600);
        X509_set_pubkey(x, pkey);
        X509_NAME *name = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char *>("pause-test-origin"), -1,
                                   -1, 0);
        X509_set_issuer_name(x, name);
        ok = X509_sign(x, pkey, EVP_sha256()) > 0;
    }
    QByteArray certPem, keyPem;
    if (ok) {
        BIO *b = BIO_new(BIO_s_mem());
        PEM_write_bio_X509(b, x);
        PEM_write_bio_PrivateKey(b, pkey, nullptr, nullptr, 0, nullptr, nullptr);
        char *data = nullptr;
        const long n = BIO_get_mem_data(b, &data);
        const QByteArray both(data, int(n));
        BIO_free(b);
        const qsizetype split = both.indexOf("-----BEGIN PRIVATE KEY-----");
        certPem = both.left(split);
        keyPem = both.mid(split);
    }
    X509_free(x);
    EVP_PKEY_free(pkey);
    if (!ok) return false;
    *cert = QSslCertificate(certPem);
    *key = QSslKey(keyPem, QSsl::Ec);
    return !cert->isNull() && !key->isNull();
}

// Serves one signed bundle at any path (enough for the daemon's policy sync).
class BundleServer : public QTcpServer {
public:
    QByteArray body;
    BundleServer() { listen(QHostAddress::LocalHost, 0); }

protected:
    void incomingConnection(qintptr fd) override {
        auto *s = new QTcpSocket(this);
        s->setSocketDescriptor(fd);
        connect(s, &QTcpSocket::readyRead, s, [this, s] {
            if (!s->readAll().contains("\r\n\r\n")) return;
            s->write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                     QByteArray::number(body.size()) + "\r\n\r\n" + body);
        });
    }
};

QByteArray bundleJson(const QJsonObject &profile) {
    return QJsonDocument(
               QJsonObject{
                   {QStringLiteral("version"), 1},
                   {QStringLiteral("issued_at"), QStringLiteral("2026-01-01T00:00:00Z")},
                   {QStringLiteral("expires_at"), QStringLiteral("2099-01-01T00:00:00Z")},
                   {QStringLiteral("profiles"), QJsonObject{{QStringLiteral("default"), profile}}}})
        .toJson(QJsonDocument::Compact);
}

struct Reply {
    int status = 0;
    QJsonObject json;
    QByteArray raw;
};

// One in-process daemon with "localhost" on its AI host list, in its own data dir.
class TestDaemon {
public:
    bool start(const QByteArray &managedJson, QString *error) {
        const QString user = m_dir.filePath(QStringLiteral("config.json"));
        QFile u(user);
        u.open(QIODevice::WriteOnly);
        u.write(R"({"intercept_hosts":["localhost"]})");
        u.close();
        if (!managedJson.isEmpty()) {
            const QString managed = m_dir.filePath(QStringLiteral("managed.json"));
            QFile m(managed);
            m.open(QIODevice::WriteOnly);
            m.write(managedJson);
            m.close();
            qputenv("AIRLOCK_MANAGED_CONFIG", managed.toUtf8());
        } else {
            qputenv("AIRLOCK_MANAGED_CONFIG", m_dir.filePath(QStringLiteral("none.json")).toUtf8());
        }
        DaemonOptions o;
        o.configPath = user;
        o.dataDir = m_dir.filePath(QStringLiteral("data"));
        o.listen = QStringLiteral("127.0.0.1:0");
        o.upstreams = {QStringLiteral("openai=http://127.0.0.1:1")};
        const bool ok = m_daemon.start(o, error);
        qunsetenv("AIRLOCK_MANAGED_CONFIG");
        if (!ok) return false;
        QFile t(o.dataDir + QStringLiteral("/api-token"));
        if (!t.open(QIODevice::ReadOnly)) {
            *error = QStringLiteral("no api-token");
            return false;
        }
        m_token = t.readAll().trimmed();
        return true;
    }
    ~TestDaemon() { m_daemon.stop(); }
    quint16 port() const { return m_daemon.port(); }

    // The daemon runs on this thread: every wait spins the event loop (qWaitFor), none blocks.
    Reply api(const QByteArray &verb, const QByteArray &path, const QByteArray &body = {}) {
        QTcpSocket s;
        QByteArray raw;
        QObject::connect(&s, &QTcpSocket::readyRead, &s, [&] { raw += s.readAll(); });
        s.connectToHost(QHostAddress::LocalHost, port());
        Reply r;
        if (!QTest::qWaitFor([&] { return s.state() == QAbstractSocket::ConnectedState; }, kWaitMs))
            return r;
        s.write(verb + ' ' + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                m_token + "\r\nContent-Type: application/json\r\n" +
                "Content-Length: " + QByteArray::number(body.size()) + "\r\n\r\n" + body);
        qsizetype end = -1;
        qint64 length = -1;
        const bool complete = QTest::qWaitFor(
            [&] {
                end = raw.indexOf("\r\n\r\n");
                if (end < 0) return false;
                const QByteArray head = raw.left(end).toLower();
                const qsizetype at = head.indexOf("content-length:");
                if (at < 0) return false;
                length =
                    head.mid(at + 15, head.indexOf("\r\n", at) - at - 15).trimmed().toLongLong();
                return raw.size() - end - 4 >= length;
            },
            kWaitMs);
        if (!complete || !raw.startsWith("HTTP/1.1 ")) return r;
        r.raw = raw;
        r.status = raw.mid(9, 3).toInt();
        r.json = QJsonDocument::fromJson(raw.mid(end + 4, length)).object();
        return r;
    }

    bool waitForPolicyActive() {
        return QTest::qWaitFor(
            [this] {
                return api("GET", "/airlock/v1/policy").json.value(QLatin1String("state")) ==
                       QLatin1String("active");
            },
            kWaitMs);
    }

    // Opens an SSE subscription to /airlock/v1/events; its bytes collect in `events`.
    void subscribeEvents() {
        m_events = std::make_unique<QTcpSocket>();
        m_events->connectToHost(QHostAddress::LocalHost, port());
        QVERIFY(m_events->waitForConnected(kWaitMs));
        m_events->write(
            "GET /airlock/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
            "Bearer " +
            m_token + "\r\n\r\n");
        QObject::connect(m_events.get(), &QTcpSocket::readyRead, m_events.get(),
                         [this] { events += m_events->readAll(); });
        QVERIFY(
            QTest::qWaitFor([this] { return events.contains("airlock live events"); }, kWaitMs));
    }
    QByteArray events;

private:
    QTemporaryDir m_dir;
    Daemon m_daemon;
    QByteArray m_token;
    std::unique_ptr<QTcpSocket> m_events;
};

}  // namespace

class TstInterceptionPause : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void cleanup();
    void bundleValidatesAllowPauseMinutes();
    void withoutPolicyPausingIsAllowedUpToAnHour();
    void policyWithoutAllowPauseForbidsPausing();
    void policyCapsPauseToAllowPauseMinutes();
    void rejectsMalformedPauseRequests();
    void pausedConnectToAiHostIsBlindTunnelAndResumeRestoresInterception();
    void timerEndsThePause();

private:
    QByteArray managedPolicy(const QJsonObject &profile);
    // CONNECT localhost:<origin> through the daemon, TLS handshake; the certificate shown.
    QSslCertificate certificateThroughProxy(quint16 proxyPort);

    Ed25519KeyPair m_keys;
    BundleServer m_bundles;
    QSslServer m_origin;
    QSslCertificate m_originCert;
};

void TstInterceptionPause::initTestCase() {
    QString e;
    QVERIFY2(generateEd25519KeyPair(&m_keys, &e), qPrintable(e));
    QVERIFY(m_bundles.isListening());
    QSslKey key;
    QVERIFY(makeSelfSigned(&m_originCert, &key));
    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setLocalCertificate(m_originCert);
    tls.setPrivateKey(key);
    tls.setPeerVerifyMode(QSslSocket::VerifyNone);
    m_origin.setSslConfiguration(tls);
    // Accepted sockets stay with the server (its children); the test only looks at handshakes.
    connect(&m_origin, &QSslServer::pendingConnectionAvailable, this, [this] {
        while (m_origin.hasPendingConnections()) m_origin.nextPendingConnection();
    });
    QVERIFY(m_origin.listen(QHostAddress::LocalHost, 0));
    qputenv("AIRLOCK_TEST_DEVICE_TOKEN", "dev-token");
}

void TstInterceptionPause::cleanup() {
    InterceptionPause::setMillisecondsPerMinuteForTests(0);
}

QByteArray TstInterceptionPause::managedPolicy(const QJsonObject &profile) {
    QString e;
    m_bundles.body = signPolicyBundle(bundleJson(profile), m_keys.privatePem, &e);
    return QJsonDocument(QJsonObject{{QStringLiteral("policy"),
                                      QJsonObject{{QStringLiteral("url"),
                                                   QStringLiteral("http://127.0.0.1:%1/policy.json")
                                                       .arg(m_bundles.serverPort())},
                                                  {QStringLiteral("trusted_keys"),
                                                   QJsonArray{QString::fromUtf8(m_keys.publicPem)}},
                                                  {QStringLiteral("token_env"),
                                                   QStringLiteral("AIRLOCK_TEST_DEVICE_TOKEN")}}}})
        .toJson(QJsonDocument::Compact);
}

QSslCertificate TstInterceptionPause::certificateThroughProxy(quint16 proxyPort) {
    QSslSocket s;
    QByteArray head;
    const QMetaObject::Connection reading =
        connect(&s, &QSslSocket::readyRead, &s, [&] { head += s.readAll(); });
    s.connectToHost(QHostAddress::LocalHost, proxyPort);
    if (!QTest::qWaitFor([&] { return s.state() == QAbstractSocket::ConnectedState; }, kWaitMs))
        return QSslCertificate();
    const QByteArray target = "localhost:" + QByteArray::number(m_origin.serverPort());
    s.write("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n");
    const bool answered = QTest::qWaitFor([&] { return head.contains("\r\n\r\n"); }, kWaitMs);
    disconnect(reading);
    if (!answered || !head.startsWith("HTTP/1.1 200")) {
        qWarning("CONNECT answered: %s", head.constData());
        return QSslCertificate();
    }
    s.setPeerVerifyMode(QSslSocket::VerifyNone);
    s.setPeerVerifyName(QStringLiteral("localhost"));
    s.startClientEncryption();
    if (!QTest::qWaitFor(
            [&] { return s.isEncrypted() || s.state() != QAbstractSocket::ConnectedState; },
            kWaitMs) ||
        !s.isEncrypted()) {
        qWarning("TLS handshake failed: %s", qPrintable(s.errorString()));
        return QSslCertificate();
    }
    return s.peerCertificate();
}

void TstInterceptionPause::bundleValidatesAllowPauseMinutes() {
    PolicyBundle b;
    QString e;
    QVERIFY2(parsePolicyBundle(
                 bundleJson(QJsonObject{{QStringLiteral("allow_pause_minutes"), 1440}}), &b, &e),
             qPrintable(e));
    QCOMPARE(b.profiles.value(QStringLiteral("default")).allowPauseMinutes, 1440);
    QVERIFY(parsePolicyBundle(bundleJson(QJsonObject{}), &b, &e));
    QCOMPARE(b.profiles.value(QStringLiteral("default")).allowPauseMinutes, 0);
    for (const QJsonValue &bad : {QJsonValue(1441), QJsonValue(-1), QJsonValue(2.5),
                                  QJsonValue(QStringLiteral("30")), QJsonValue(1e300)}) {
        e.clear();
        QVERIFY(!parsePolicyBundle(
            bundleJson(QJsonObject{{QStringLiteral("allow_pause_minutes"), bad}}), &b, &e));
        QVERIFY2(e.contains(QLatin1String("profiles.default.allow_pause_minutes")), qPrintable(e));
    }
    // `airlockctl policy example` shows the key and stays valid.
    QVERIFY2(parsePolicyBundle(examplePolicyBundle(), &b, &e), qPrintable(e));
    QCOMPARE(b.profiles.value(QStringLiteral("default")).allowPauseMinutes, 30);
}

void TstInterceptionPause::withoutPolicyPausingIsAllowedUpToAnHour() {
    TestDaemon d;
    QString e;
    QVERIFY2(d.start({}, &e), qPrintable(e));
    Reply r = d.api("GET", "/airlock/v1/pause");
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json.value(QLatin1String("max_minutes")).toInt(),
             InterceptionPause::kUnmanagedMaxMinutes);
    QCOMPARE(r.json.value(QLatin1String("paused")).toBool(), false);

    r = d.api("POST", "/airlock/v1/pause", R"({"minutes":90})");
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json.value(QLatin1String("minutes")).toInt(), 60);
    QCOMPARE(r.json.value(QLatin1String("capped")).toBool(), true);

    r = d.api("GET", "/airlock/v1/status");
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json.value(QLatin1String("paused")).toBool(), true);
    const QString until = r.json.value(QLatin1String("paused_until")).toString();
    QVERIFY2(until.endsWith(QLatin1Char('Z')) && until.contains(QLatin1Char('.')),
             qPrintable(until));  // ISO 8601 UTC with ms, as the GUI parses it
    const qint64 untilMs = QDateTime::fromString(until, Qt::ISODateWithMs).toMSecsSinceEpoch();
    const qint64 expected = QDateTime::currentMSecsSinceEpoch() + 60 * 60'000;
    QVERIFY2(qAbs(untilMs - expected) < 30'000, qPrintable(until));

    r = d.api("POST", "/airlock/v1/pause", R"({"minutes":0})");
    QCOMPARE(r.status, 200);
    r = d.api("GET", "/airlock/v1/status");
    QCOMPARE(r.json.value(QLatin1String("paused")).toBool(), false);
    QVERIFY(r.json.value(QLatin1String("paused_until")).isNull());
}

void TstInterceptionPause::policyWithoutAllowPauseForbidsPausing() {
    TestDaemon d;
    QString e;
    QVERIFY2(
        d.start(managedPolicy(QJsonObject{{QStringLiteral("mode"), QStringLiteral("enforce")}}),
                &e),
        qPrintable(e));
    QVERIFY(d.waitForPolicyActive());
    Reply r = d.api("GET", "/airlock/v1/pause");
    QCOMPARE(r.status, 403);
    const QString message =
        r.json.value(QLatin1String("error")).toObject().value(QLatin1String("message")).toString();
    QVERIFY2(message.contains(QLatin1String("allow_pause_minutes")), qPrintable(message));

    r = d.api("POST", "/airlock/v1/pause", R"({"minutes":5})");
    QCOMPARE(r.status, 403);
    r = d.api("GET", "/airlock/v1/status");
    QCOMPARE(r.json.value(QLatin1String("paused")).toBool(), false);
    // Still intercepting: the client sees Airlock's certificate, not the origin's.
    const QSslCertificate seen = certificateThroughProxy(d.port());
    QVERIFY(!seen.isNull());
    QVERIFY(seen != m_originCert);
}

void TstInterceptionPause::policyCapsPauseToAllowPauseMinutes() {
    TestDaemon d;
    QString e;
    QVERIFY2(d.start(managedPolicy(QJsonObject{{QStringLiteral("allow_pause_minutes"), 10}}), &e),
             qPrintable(e));
    QVERIFY(d.waitForPolicyActive());
    Reply r = d.api("GET", "/airlock/v1/pause");
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json.value(QLatin1String("max_minutes")).toInt(), 10);

    r = d.api("POST", "/airlock/v1/pause", R"({"minutes":30})");
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json.value(QLatin1String("minutes")).toInt(), 10);
    QCOMPARE(r.json.value(QLatin1String("capped")).toBool(), true);
    r = d.api("GET", "/airlock/v1/status");
    const qint64 untilMs =
        QDateTime::fromString(r.json.value(QLatin1String("paused_until")).toString(),
                              Qt::ISODateWithMs)
            .toMSecsSinceEpoch();
    QVERIFY(qAbs(untilMs - (QDateTime::currentMSecsSinceEpoch() + 10 * 60'000)) < 30'000);

    r = d.api("POST", "/airlock/v1/pause", R"({"minutes":4})");
    QCOMPARE(r.json.value(QLatin1String("minutes")).toInt(), 4);
    QCOMPARE(r.json.value(QLatin1String("capped")).toBool(), false);
}

void TstInterceptionPause::rejectsMalformedPauseRequests() {
    TestDaemon d;
    QString e;
    QVERIFY2(d.start({}, &e), qPrintable(e));
    for (const QByteArray &body :
         {QByteArray("not json"), QByteArray("{}"), QByteArray(R"({"minutes":-1})"),
          QByteArray(R"({"minutes":2.5})"), QByteArray(R"({"minutes":"10"})"),
          QByteArray(R"({"minutes":1e300})"), QByteArray(R"([5])")}) {
        const Reply r = d.api("POST", "/airlock/v1/pause", body);
        QVERIFY2(r.status == 400, body.constData());
        QVERIFY(r.json.value(QLatin1String("error")).toObject().contains(QLatin1String("message")));
    }
    QCOMPARE(d.api("DELETE", "/airlock/v1/pause").status, 405);
    QCOMPARE(d.api("GET", "/airlock/v1/status").json.value(QLatin1String("paused")).toBool(),
             false);
}

void TstInterceptionPause::pausedConnectToAiHostIsBlindTunnelAndResumeRestoresInterception() {
    TestDaemon d;
    QString e;
    QVERIFY2(d.start({}, &e), qPrintable(e));
    d.subscribeEvents();

    const QSslCertificate before = certificateThroughProxy(d.port());
    QVERIFY2(!before.isNull(), "CONNECT to an AI host before the pause");
    QVERIFY(before != m_originCert);  // intercepted: a leaf Airlock minted

    QCOMPARE(d.api("POST", "/airlock/v1/pause", R"({"minutes":5})").status, 200);
    QVERIFY(QTest::qWaitFor([&] { return d.events.contains("event: pause"); }, kWaitMs));
    QVERIFY(d.events.contains("\"state\":\"paused\""));
    const QSslCertificate paused = certificateThroughProxy(d.port());
    QVERIFY2(!paused.isNull(), "CONNECT to an AI host while paused");
    QCOMPARE(paused, m_originCert);  // blind tunnel: the origin's own certificate

    QCOMPARE(d.api("POST", "/airlock/v1/pause", R"({"minutes":0})").status, 200);
    QVERIFY(QTest::qWaitFor([&] { return d.events.contains("\"state\":\"resumed\""); }, kWaitMs));
    const QSslCertificate after = certificateThroughProxy(d.port());
    QVERIFY(!after.isNull());
    QVERIFY(after != m_originCert);
    QCOMPARE(after.issuerInfo(QSslCertificate::CommonName),
             before.issuerInfo(QSslCertificate::CommonName));
}

void TstInterceptionPause::timerEndsThePause() {
    InterceptionPause::setMillisecondsPerMinuteForTests(300);
    TestDaemon d;
    QString e;
    QVERIFY2(d.start({}, &e), qPrintable(e));
    d.subscribeEvents();
    QCOMPARE(d.api("POST", "/airlock/v1/pause", R"({"minutes":1})").status, 200);
    QCOMPARE(d.api("GET", "/airlock/v1/status").json.value(QLatin1String("paused")).toBool(), true);
    QVERIFY(QTest::qWaitFor([&] { return d.events.contains("\"state\":\"resumed\""); }, kWaitMs));
    QVERIFY(d.events.contains("ran out"));
    QCOMPARE(d.api("GET", "/airlock/v1/status").json.value(QLatin1String("paused")).toBool(),
             false);
    const QSslCertificate after = certificateThroughProxy(d.port());
    QVERIFY(!after.isNull());
    QVERIFY(after != m_originCert);
}

QTEST_GUILESS_MAIN(TstInterceptionPause)
#include "tst_interception_pause.moc"
