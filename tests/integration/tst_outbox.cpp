// The usage outbox against a real loopback collector: records queued while the collector is down
// survive a restart and are all delivered exactly once (by id) when it comes back.
#include "core/policy/usage_uploader.h"
#include "core/store/outbox.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>

using namespace airlock;

namespace {

// Accepts POSTed batches when up; when down it drops the connection without an answer.
class Collector : public QTcpServer {
public:
    bool up = false;
    int failedAttempts = 0;
    QMap<QString, int> delivered;  // record id -> times accepted
    int batches = 0;

    Collector() { listen(QHostAddress::LocalHost, 0); }
    QUrl url() const {
        return QUrl(QStringLiteral("http://127.0.0.1:%1/v1/usage").arg(serverPort()));
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
            qsizetype length = 0;
            for (const QByteArray &line : buffer->left(end).split('\n'))
                if (line.toLower().startsWith("content-length:"))
                    length = line.mid(15).trimmed().toLongLong();
            if (buffer->size() < end + 4 + length) return;
            const QByteArray body = buffer->mid(end + 4, length);
            buffer->remove(0, end + 4 + length);
            if (!up) {
                ++failedAttempts;
                s->abort();
                return;
            }
            ++batches;
            for (const QJsonValue &v :
                 QJsonDocument::fromJson(body).object().value(QLatin1String("records")).toArray())
                delivered[v.toObject().value(QLatin1String("id")).toString()] += 1;
            s->write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
        });
    }
};

QByteArray record(const QString &id) {
    return QJsonDocument(QJsonObject{{QStringLiteral("id"), id},
                                     {QStringLiteral("app"), QStringLiteral("curl")},
                                     {QStringLiteral("input_tokens"), 10}})
        .toJson(QJsonDocument::Compact);
}

}  // namespace

class TstOutbox : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void duplicateIdsAreStoredOnce();
    void deliversEveryRecordExactlyOnceAcrossCollectorOutageAndRestart();
};

void TstOutbox::duplicateIdsAreStoredOnce() {
    QTemporaryDir dir;
    Outbox box(dir.filePath(QStringLiteral("outbox.db")));
    QString e;
    QVERIFY2(box.open(&e), qPrintable(e));
    QVERIFY(box.enqueue("a", record(QStringLiteral("a"))));
    QVERIFY(box.enqueue("a", record(QStringLiteral("a"))));
    QVERIFY(box.enqueue("b", record(QStringLiteral("b"))));
    QCOMPARE(box.count(), 2);
    const auto first = box.peek(1);
    QCOMPARE(first.size(), 1);
    QCOMPARE(first[0].first, QByteArray("a"));
    QVERIFY(box.remove({"a"}));
    QCOMPARE(box.count(), 1);
}

void TstOutbox::deliversEveryRecordExactlyOnceAcrossCollectorOutageAndRestart() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("outbox.db"));
    Collector collector;
    QVERIFY(collector.isListening());
    constexpr int kRecords = 250;
    QString e;
    {
        Outbox box(path);
        QVERIFY2(box.open(&e), qPrintable(e));
        UsageUploader uploader(&box, collector.url(), 100);
        QSignalSpy failed(&uploader, &UsageUploader::batchFailed);
        for (int i = 0; i < kRecords; ++i) {
            const QString id = QStringLiteral("rec-%1").arg(i);
            QVERIFY(box.enqueue(id.toUtf8(), record(id)));
            uploader.poke();
        }
        // Down for a while: attempts fail and back off, nothing is dropped. Count failures as
        // the uploader saw them: QNetworkAccessManager may itself resend a POST whose connection
        // was closed before any answer, so the collector can see more attempts than that.
        QTRY_VERIFY_WITH_TIMEOUT(failed.size() >= 2, 15'000);
        QVERIFY(collector.failedAttempts >= 2);
        QVERIFY(uploader.currentBackoffMs() >= UsageUploader::kFirstRetryMs);
        QCOMPARE(box.count(), kRecords);
    }  // the daemon stops here
    collector.up = true;
    {
        Outbox box(path);
        QVERIFY2(box.open(&e), qPrintable(e));
        QCOMPARE(box.count(), kRecords);  // survived the restart
        UsageUploader uploader(&box, collector.url(), 100);
        QSignalSpy delivered(&uploader, &UsageUploader::batchDelivered);
        uploader.poke();
        QTRY_COMPARE_WITH_TIMEOUT(box.count(), 0, 15'000);
        QCOMPARE(delivered.size(), 3);  // 100 + 100 + 50
    }
    QCOMPARE(collector.delivered.size(), kRecords);
    for (auto it = collector.delivered.cbegin(); it != collector.delivered.cend(); ++it)
        QCOMPARE(it.value(), 1);
    QCOMPARE(collector.batches, 3);
}

QTEST_GUILESS_MAIN(TstOutbox)
#include "tst_outbox.moc"
