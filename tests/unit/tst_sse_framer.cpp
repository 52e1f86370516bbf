#include "core/http/sse_framer.h"

#include <QDir>
#include <QFile>
#include <QRandomGenerator>
#include <QTest>

using namespace airlock;

namespace {

QByteArray readFixture(const QString &name) {
    QFile file(QStringLiteral(AIRLOCK_SOURCE_DIR "/tests/unit/fixtures/providers/") + name);
    if (!file.open(QIODevice::ReadOnly)) qFatal("missing fixture %s", qPrintable(name));
    return file.readAll();
}

// Feeds input in random pieces (1..maxPiece bytes), then finishes.
QList<SseEvent> feedInPieces(SseFramer &framer, const QByteArray &input, quint32 seed, int maxPiece,
                             bool finish = true) {
    QRandomGenerator rng(seed);
    QList<SseEvent> events;
    qsizetype pos = 0;
    while (pos < input.size()) {
        const qsizetype piece = qMin<qsizetype>(input.size() - pos, 1 + rng.bounded(maxPiece));
        events += framer.feed(QByteArrayView(input).sliced(pos, piece));
        pos += piece;
    }
    if (finish) events += framer.finish();
    return events;
}

QByteArray concatRaw(const QList<SseEvent> &events) {
    QByteArray all;
    for (const SseEvent &e : events) all += e.raw;
    return all;
}

}  // namespace

class TestSseFramer : public QObject {
    Q_OBJECT

private slots:
    void parsesFieldsAndJoinsDataLinesWithNewline() {
        SseFramer framer;
        const auto events = framer.feed(
            "event: message_start\nid: 7\ndata: {\"a\":1,\ndata: \"b\":2}\nretry: 10\n\n");
        QCOMPARE(events.size(), 1);
        QCOMPARE(events[0].event, QByteArray("message_start"));
        QCOMPARE(events[0].id, QByteArray("7"));
        QCOMPARE(events[0].data, QByteArray("{\"a\":1,\n\"b\":2}"));
        QVERIFY(!events[0].commentOnly);
        QVERIFY(framer.pending().isEmpty());
    }

    void acceptsLfCrLfAndBareCrLineEnds_data() {
        QTest::addColumn<QByteArray>("input");
        QTest::newRow("lf") << QByteArray("data: one\n\ndata: two\n\n");
        QTest::newRow("crlf") << QByteArray("data: one\r\n\r\ndata: two\r\n\r\n");
        QTest::newRow("cr") << QByteArray("data: one\r\rdata: two\r\r");
        QTest::newRow("mixed") << QByteArray("data: one\r\n\ndata: two\r\r\n");
    }
    void acceptsLfCrLfAndBareCrLineEnds() {
        QFETCH(QByteArray, input);
        for (quint32 seed = 1; seed <= 50; ++seed) {
            SseFramer framer;
            const auto events = feedInPieces(framer, input, seed, 4);
            QVERIFY2(events.size() >= 2, qPrintable(QString::number(seed)));
            QCOMPARE(events[0].data, QByteArray("one"));
            QCOMPARE(events[1].data, QByteArray("two"));
            QCOMPARE(concatRaw(events), input);
        }
    }

    void keepsCrLfPairTogetherWhenSplitBetweenFeeds() {
        SseFramer framer;
        QVERIFY(framer.feed("data: x\r\n\r").isEmpty());  // the CR may still get its LF
        const auto events = framer.feed("\ndata: y\r\n\r\n");
        QCOMPARE(events.size(), 2);
        QCOMPARE(events[0].raw, QByteArray("data: x\r\n\r\n"));
        QCOMPARE(events[1].raw, QByteArray("data: y\r\n\r\n"));
    }

    void marksCommentOnlyEvents() {
        SseFramer framer;
        const auto events = framer.feed(": ping\n\n:\n: more\n\n: note\ndata: d\n\n");
        QCOMPARE(events.size(), 3);
        QVERIFY(events[0].commentOnly);
        QVERIFY(events[0].data.isEmpty());
        QVERIFY(events[1].commentOnly);
        QVERIFY(!events[2].commentOnly);
        QCOMPARE(events[2].data, QByteArray("d"));
    }

    void stripsOnlyOneSpaceAfterColonAndAcceptsFieldWithoutColon() {
        SseFramer framer;
        const auto events = framer.feed("data:  two spaces\n\ndata\n\nevent:x\ndata:\ndata:\n\n");
        QCOMPARE(events.size(), 3);
        QCOMPARE(events[0].data, QByteArray(" two spaces"));
        QCOMPARE(events[1].data, QByteArray(""));
        QCOMPARE(events[2].event, QByteArray("x"));
        QCOMPARE(events[2].data, QByteArray("\n"));
    }

    void ignoresIdContainingNul() {
        SseFramer framer;
        const auto events = framer.feed(QByteArray("id: a\0b\ndata: z\n\n", 18));
        QCOMPARE(events.size(), 1);
        QVERIFY(events[0].id.isEmpty());
        QCOMPARE(events[0].data, QByteArray("z"));
    }

    void skipsByteOrderMarkAtStreamStartOnly() {
        SseFramer framer;
        const QByteArray input(
            "\xEF\xBB\xBF"
            "data: a\n\n\xEF\xBB\xBF"
            "data: b\n\n");
        const auto events = framer.feed(input);
        QCOMPARE(events.size(), 2);
        QCOMPARE(events[0].data, QByteArray("a"));
        QVERIFY(events[1].data.isEmpty());  // not a field name "data" any more
        QCOMPARE(concatRaw(events), input);
    }

    void emitsStrayBlankLineAsEmptyEventSoNoByteIsLost() {
        SseFramer framer;
        const auto events = framer.feed("\ndata: a\n\n\n");
        QCOMPARE(events.size(), 3);
        QCOMPARE(events[0].raw, QByteArray("\n"));
        QVERIFY(events[0].data.isEmpty() && !events[0].commentOnly);
        QCOMPARE(events[1].data, QByteArray("a"));
        QCOMPARE(events[2].raw, QByteArray("\n"));
    }

    void holdsUnfinishedEventAsPendingAndReturnsItOnFinish() {
        SseFramer framer;
        QCOMPARE(framer.feed("data: done\n\ndata: {\"usage\":1}").size(), 1);
        QCOMPARE(framer.pending(), QByteArray("data: {\"usage\":1}"));
        const auto rest = framer.finish();
        QCOMPARE(rest.size(), 1);
        QCOMPARE(rest[0].data, QByteArray("{\"usage\":1}"));
        QCOMPARE(rest[0].raw, QByteArray("data: {\"usage\":1}"));
        QVERIFY(framer.pending().isEmpty());
        QVERIFY(framer.finish().isEmpty());
    }

    void rawBytesConcatenateToInputForRandomSplits_data() {
        QTest::addColumn<QString>("fixture");
        const QDir dir(QStringLiteral(AIRLOCK_SOURCE_DIR "/tests/unit/fixtures/providers"));
        const QStringList names = dir.entryList({QStringLiteral("*.sse")}, QDir::Files);
        QVERIFY(names.size() >= 8);
        for (const QString &name : names) QTest::newRow(qPrintable(name)) << name;
    }
    void rawBytesConcatenateToInputForRandomSplits() {
        QFETCH(QString, fixture);
        const QByteArray input = readFixture(fixture);
        SseFramer whole;
        const auto reference = whole.feed(input);
        QVERIFY(!reference.isEmpty());
        QVERIFY(whole.pending().isEmpty());
        for (quint32 seed = 1; seed <= 40; ++seed) {
            SseFramer framer;
            const auto events = feedInPieces(framer, input, seed, seed % 2 ? 3 : 97);
            QCOMPARE(concatRaw(events), input);
            QCOMPARE(events.size(), reference.size());
            for (qsizetype i = 0; i < events.size(); ++i) {
                QCOMPARE(events[i].data, reference[i].data);
                QCOMPARE(events[i].event, reference[i].event);
            }
        }
    }

    void passesOversizedEventThroughAndResynchronises() {
        constexpr qint64 maxEventBytes = 64;
        const QByteArray huge =
            "data: " + QByteArray(500, 'x') + "\r\ndata: " + QByteArray(300, 'y') + "\r\n\r\n";
        const QByteArray input = "data: small\n\n" + huge + "event: after\ndata: ok\n\n";
        for (quint32 seed = 1; seed <= 30; ++seed) {
            SseFramer framer(maxEventBytes);
            const auto events = feedInPieces(framer, input, seed, 50, false);
            QVERIFY(framer.overflowed());
            QVERIFY(framer.pending().isEmpty());
            QCOMPARE(concatRaw(events), input);
            QCOMPARE(events.first().data, QByteArray("small"));
            QCOMPARE(events.last().event, QByteArray("after"));
            QCOMPARE(events.last().data, QByteArray("ok"));
            for (const SseEvent &e : events)
                QVERIFY(e.raw.size() <= qMax<qsizetype>(huge.size(), 200));
        }
    }

    void neverHoldsMoreThanTheLimitPlusOneFeed() {
        SseFramer framer(1024);
        const QByteArray chunk(100, 'z');
        QVERIFY(framer.feed("data: ").size() == 0);
        for (int i = 0; i < 1000; ++i) {
            framer.feed(chunk);
            QVERIFY(framer.pending().size() <= 1024 + chunk.size());
        }
        QVERIFY(framer.overflowed());
    }
};

QTEST_GUILESS_MAIN(TestSseFramer)
#include "tst_sse_framer.moc"
