// Rate limiter math on an injected clock (exact sliding windows, Retry-After, no drift) and budget
// reservations: parallel requests cannot overshoot, settle swaps the estimate for real spend.
#include "core/limits/budget_book.h"
#include "core/limits/rate_limiter.h"

#include <QtTest>
#include <atomic>
#include <thread>
#include <vector>

using namespace airlock;

class TstLimits : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void rpmRefusesInsideWindowAndFreesExactlyAfterIt();
    void tpmCountsEstimateThenRealTokens();
    void concurrencyCapReleasesOnSettle();
    void limiterDoesNotResetOrDriftOverLongRuns();
    void budgetReservationsHoldUnderParallelRequests();
    void settleReplacesEstimateWithRealSpend();
    void settleAmongManyInFlightReleasesOnlyItsOwn();
    void budgetWarnsOnceAtThresholdAndRefusesWhenExhausted();
    void budgetPeriodsFollowLocalCalendar();
    void deviceScopeAndModelGlobsNarrowBudgets();
};

void TstLimits::rpmRefusesInsideWindowAndFreesExactlyAfterIt() {
    qint64 now = 1'000'000;
    RateLimiter limiter([&] { return now; });
    RateLimitRule rule;
    rule.rpm = 3;
    const QList<RateLimiter::Slot> s{{QStringLiteral("k"), &rule}};
    for (int i = 0; i < 3; ++i) {
        QVERIFY(limiter.acquire(QByteArray::number(i), s, 0).allowed);
        limiter.release(QByteArray::number(i), 0);
        now += 10'000;
    }
    // Requests at t0, t0+10s, t0+20s; now t0+30s: the first leaves the window at t0+60s.
    RateLimiter::Check c = limiter.acquire("x", s, 0);
    QVERIFY(!c.allowed);
    QCOMPARE(c.limit, QStringLiteral("rpm"));
    QCOMPARE(c.retryAfterSeconds, 30);
    now = 1'000'000 + 59'999;
    QVERIFY(!limiter.acquire("x", s, 0).allowed);
    now = 1'000'000 + 60'000;
    QVERIFY(limiter.acquire("x", s, 0).allowed);
}

void TstLimits::tpmCountsEstimateThenRealTokens() {
    qint64 now = 0;
    RateLimiter limiter([&] { return now; });
    RateLimitRule rule;
    rule.tpm = 1000;
    const QList<RateLimiter::Slot> s{{QStringLiteral("k"), &rule}};
    QVERIFY(limiter.acquire("a", s, 800).allowed);
    QVERIFY(!limiter.acquire("b", s, 300).allowed);
    limiter.release("a", 100);  // real usage was small: room again
    QVERIFY(limiter.acquire("b", s, 300).allowed);
    const RateLimiter::Check c = limiter.acquire("c", s, 700);
    QVERIFY(!c.allowed);
    QCOMPARE(c.limit, QStringLiteral("tpm"));
    QCOMPARE(c.retryAfterSeconds, 60);
}

void TstLimits::concurrencyCapReleasesOnSettle() {
    RateLimiter limiter([] { return qint64(0); });
    RateLimitRule rule;
    rule.concurrent = 2;
    const QList<RateLimiter::Slot> s{{QStringLiteral("k"), &rule}};
    QVERIFY(limiter.acquire("a", s, 0).allowed);
    QVERIFY(limiter.acquire("b", s, 0).allowed);
    const RateLimiter::Check c = limiter.acquire("c", s, 0);
    QVERIFY(!c.allowed);
    QCOMPARE(c.limit, QStringLiteral("concurrent"));
    QVERIFY(c.retryAfterSeconds >= 1);
    limiter.release("a", 0);
    limiter.release("unknown-id", 0);  // settle of a request never evaluated: ignored
    QCOMPARE(limiter.inFlight(QStringLiteral("k")), 1);
    QVERIFY(limiter.acquire("c", s, 0).allowed);
}

void TstLimits::limiterDoesNotResetOrDriftOverLongRuns() {
    qint64 now = 0;
    RateLimiter limiter([&] { return now; });
    RateLimitRule rule;
    rule.rpm = 10;
    const QList<RateLimiter::Slot> s{{QStringLiteral("k"), &rule}};
    // One request every second for an hour: exactly rpm per rolling minute are admitted.
    int admitted = 0;
    for (int sec = 0; sec < 3600; ++sec, now += 1000) {
        const QByteArray id = QByteArray::number(sec);
        if (limiter.acquire(id, s, 0).allowed) {
            ++admitted;
            limiter.release(id, 0);
        }
    }
    QCOMPARE(admitted, 600);
}

void TstLimits::budgetReservationsHoldUnderParallelRequests() {
    BudgetBook book([] { return QDateTime(QDate(2026, 11, 25), QTime(12, 0)); });
    Profile p;
    p.name = QStringLiteral("default");
    BudgetRule r;
    r.period = QStringLiteral("day");
    r.usd = 1.0;
    p.budgets = {r};
    std::atomic<int> allowed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 100; ++i) {
                const QByteArray id = QByteArray::number(t * 1000 + i);
                if (book.reserve(id, p, QStringLiteral("app"), QStringLiteral("m"), 0.03, 10, false)
                        .allowed)
                    ++allowed;
            }
        });
    }
    for (auto &th : threads) th.join();
    // $1.00 / $0.03 = 33 reservations fit, never more, however the threads interleave.
    QCOMPARE(allowed.load(), 33);
}

void TstLimits::settleReplacesEstimateWithRealSpend() {
    BudgetBook book([] { return QDateTime(QDate(2026, 11, 25), QTime(12, 0)); });
    Profile p;
    p.name = QStringLiteral("default");
    BudgetRule r;
    r.period = QStringLiteral("day");
    r.tokens = 1000;
    p.budgets = {r};
    QVERIFY(
        book.reserve("a", p, QStringLiteral("app"), QStringLiteral("m"), 0, 900, false).allowed);
    QVERIFY(
        !book.reserve("b", p, QStringLiteral("app"), QStringLiteral("m"), 0, 200, false).allowed);
    const qint64 ts = QDateTime(QDate(2026, 11, 25), QTime(12, 0)).toMSecsSinceEpoch();
    book.settle("a", ts, QStringLiteral("app"), QStringLiteral("m"), 0, 300);
    QVERIFY(
        book.reserve("b", p, QStringLiteral("app"), QStringLiteral("m"), 0, 200, false).allowed);
    const QList<BudgetBook::Status> st = book.status(p, {QStringLiteral("app")});
    QCOMPARE(st.size(), 1);
    QCOMPARE(st[0].spentTokens, 500);  // 300 settled + 200 reserved
}

void TstLimits::settleAmongManyInFlightReleasesOnlyItsOwn() {
    BudgetBook book([] { return QDateTime(QDate(2026, 11, 25), QTime(12, 0)); });
    Profile p;
    p.name = QStringLiteral("default");
    BudgetRule r;
    r.period = QStringLiteral("day");
    r.tokens = 1000;
    p.budgets = {r};
    const QString app = QStringLiteral("app");
    const QString model = QStringLiteral("m");
    for (int i = 0; i < 10; ++i)
        QVERIFY(book.reserve("r" + QByteArray::number(i), p, app, model, 0, 10, false).allowed);
    // Decided twice under one id: still one reservation of the latest estimate.
    QVERIFY(book.reserve("r3", p, app, model, 0, 50, false).allowed);
    QCOMPARE(book.status(p, {app})[0].spentTokens, 9 * 10 + 50);
    const qint64 ts = QDateTime(QDate(2026, 11, 25), QTime(12, 0)).toMSecsSinceEpoch();
    book.settle("r3", ts, app, model, 0, 7);
    book.settle("r0", ts, app, model, 0, 1);
    book.settle("unknown", ts, app, model, 0, 2);  // never reserved: its spend still counts
    QCOMPARE(book.status(p, {app})[0].spentTokens, 8 * 10 + 7 + 1 + 2);
    for (int i = 1; i < 10; ++i) book.settle("r" + QByteArray::number(i), ts, app, model, 0, 0);
    QCOMPARE(book.status(p, {app})[0].spentTokens, 7 + 1 + 2);
}

void TstLimits::budgetWarnsOnceAtThresholdAndRefusesWhenExhausted() {
    BudgetBook book([] { return QDateTime(QDate(2026, 11, 25), QTime(12, 0)); });
    Profile p;
    p.name = QStringLiteral("default");
    BudgetRule r;
    r.period = QStringLiteral("day");
    r.usd = 1.0;
    r.warnAt = 0.5;
    p.budgets = {r};
    const qint64 ts = QDateTime(QDate(2026, 11, 25), QTime(12, 0)).toMSecsSinceEpoch();
    BudgetBook::Decision d =
        book.reserve("a", p, QStringLiteral("app"), QStringLiteral("m"), 0.2, 0, false);
    QVERIFY(d.allowed && d.warnings.isEmpty());
    book.settle("a", ts, QStringLiteral("app"), QStringLiteral("m"), 0.4, 0);
    d = book.reserve("b", p, QStringLiteral("app"), QStringLiteral("m"), 0.2, 0, false);
    QVERIFY(d.allowed);
    QCOMPARE(d.warnings.size(), 1);
    QCOMPARE(d.newWarnings.size(), 1);
    book.settle("b", ts, QStringLiteral("app"), QStringLiteral("m"), 0.55, 0);
    d = book.reserve("c", p, QStringLiteral("app"), QStringLiteral("m"), 0.02, 0, false);
    QVERIFY(d.allowed);
    QCOMPARE(d.newWarnings.size(), 0);  // the event is sent once per period
    book.settle("c", ts, QStringLiteral("app"), QStringLiteral("m"), 0.05, 0);
    d = book.reserve("d", p, QStringLiteral("app"), QStringLiteral("m"), 0.01, 0, false);
    QVERIFY(!d.allowed);
    QCOMPARE(d.rule, QStringLiteral("budget:day:usd"));
    QCOMPARE(d.retryAfterSeconds, 12 * 3600);
    QVERIFY(book.reserve("e", p, QStringLiteral("app"), QStringLiteral("m"), 0.01, 0, true)
                .allowed);  // monitor
    QVERIFY(book.reserve("f", p, QStringLiteral("other"), QStringLiteral("m"), 0.01, 0, false)
                .allowed);  // per app
}

void TstLimits::budgetPeriodsFollowLocalCalendar() {
    const QDate wed(2026, 11, 25);
    QCOMPARE(BudgetBook::periodStart(QStringLiteral("day"), wed), wed);
    QCOMPARE(BudgetBook::periodStart(QStringLiteral("week"), wed), QDate(2026, 11, 23));
    QCOMPARE(BudgetBook::periodStart(QStringLiteral("month"), wed), QDate(2026, 11, 1));
    QCOMPARE(BudgetBook::periodEnd(QStringLiteral("month"), QDate(2026, 12, 31)),
             QDate(2027, 1, 1));
    QDate today(2026, 11, 25);
    BudgetBook book([&] { return QDateTime(today, QTime(23, 0)); });
    Profile p;
    BudgetRule r;
    r.period = QStringLiteral("day");
    r.tokens = 100;
    p.budgets = {r};
    book.addHistory(today, QStringLiteral("app"), QStringLiteral("m"), 0, 100);
    QVERIFY(!book.reserve("a", p, QStringLiteral("app"), QStringLiteral("m"), 0, 1, false).allowed);
    today = today.addDays(1);  // midnight passed: a new day's budget
    QVERIFY(book.reserve("a", p, QStringLiteral("app"), QStringLiteral("m"), 0, 1, false).allowed);
}

void TstLimits::deviceScopeAndModelGlobsNarrowBudgets() {
    BudgetBook book([] { return QDateTime(QDate(2026, 11, 25), QTime(12, 0)); });
    Profile p;
    BudgetRule r;
    r.period = QStringLiteral("month");
    r.tokens = 100;
    r.deviceScope = true;
    r.models = {QStringLiteral("claude-opus-*")};
    p.budgets = {r};
    book.addHistory(QDate(2026, 11, 2), QStringLiteral("a"), QStringLiteral("claude-opus-4"), 0,
                    90);
    QVERIFY(
        !book.reserve("1", p, QStringLiteral("b"), QStringLiteral("claude-opus-4"), 0, 20, false)
             .allowed);
    QVERIFY(
        book.reserve("2", p, QStringLiteral("b"), QStringLiteral("gpt-4o"), 0, 20, false).allowed);
}

QTEST_GUILESS_MAIN(TstLimits)
#include "tst_limits.moc"
