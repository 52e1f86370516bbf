// LocalDayCache must give the same local date as a full conversion, across midnights, DST days
// and a time zone change, while converting rarely.
#include "core/limits/local_day.h"

#include <QDateTime>
#include <QTest>
#include <QTimeZone>
#include <ctime>

using namespace airlock;

namespace {

void setZone(const char *tz) {
    qputenv("TZ", tz);
    tzset();
}

QDate fullConversion(qint64 ms) { return QDateTime::fromMSecsSinceEpoch(ms).date(); }

}  // namespace

class TestLocalDay : public QObject {
    Q_OBJECT
private slots:
    void init() { setZone("Europe/Berlin"); }
    void cleanupTestCase() { setZone(""); }

    void agreesWithFullConversionEveryTenMinutesOverDstDays() {
        LocalDayCache cache;
        // 2026-03-29 (23 h) and 2026-10-25 (25 h) in Berlin, and the days around them.
        for (const QDate start : {QDate(2026, 3, 27), QDate(2026, 10, 23)}) {
            const qint64 from = start.startOfDay().toMSecsSinceEpoch();
            for (qint64 ms = from; ms < from + 4 * 86'400'000LL; ms += 10 * 60'000LL)
                QCOMPARE(cache.dayOf(ms), fullConversion(ms));
        }
    }

    void agreesOnEachSideOfMidnight() {
        LocalDayCache cache;
        const qint64 midnight = QDate(2026, 11, 26).startOfDay().toMSecsSinceEpoch();
        QCOMPARE(cache.dayOf(midnight - 1), QDate(2026, 11, 25));
        QCOMPARE(cache.dayOf(midnight), QDate(2026, 11, 26));
        QCOMPARE(cache.dayOf(midnight - 1), QDate(2026, 11, 25));  // the clock went back
    }

    void followsATimeZoneChangeWithinAMinute() {
        LocalDayCache cache;
        // 23:30 in Berlin is already the next day in Tokyo.
        const qint64 ms = QDateTime(QDate(2026, 11, 25), QTime(23, 30)).toMSecsSinceEpoch();
        QCOMPARE(cache.dayOf(ms), QDate(2026, 11, 25));
        setZone("Asia/Tokyo");
        QCOMPARE(cache.dayOf(ms + 61'000), QDate(2026, 11, 26));
    }
};

QTEST_GUILESS_MAIN(TestLocalDay)
#include "tst_local_day.moc"
