// Routing strategies, the circuit breaker and retry backoff, driven directly (no sockets): each
// strategy's distribution over many picks, latency shifting away from a slowed target and back,
// rendezvous hashing stability, and the breaker's closed -> open -> half-open -> closed cycle.
#include "core/api/event_bus.h"
#include "core/config/config.h"
#include "core/providers/price_table.h"
#include "core/routing/router.h"

#include <QJsonDocument>
#include <QtTest>

using namespace airlock;

namespace {

RouteConfig makeRoute(RouteStrategy strategy, const QList<QPair<QString, int>> &targets) {
    RouteConfig r;
    r.name = QStringLiteral("logical");
    r.strategy = strategy;
    for (const auto &[model, weight] : targets) {
        RouteTarget t;
        t.provider = QStringLiteral("p");
        t.model = model;
        t.weight = weight;
        r.targets.append(t);
    }
    return r;
}

// One complete request on the picked target with the given latency.
int serve(Router &router, Router::RouteState &route, qint64 now, double latencyMs,
          QByteArrayView key = {}) {
    const int i = router.pick(route, 0, key, now);
    if (i < 0) return i;
    router.begin(route, i, now);
    router.succeed(route, i, latencyMs, latencyMs, now);
    return i;
}

}  // namespace

class TestRouter : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void weightedSpreadsTrafficByWeight() {
        Router router({makeRoute(RouteStrategy::Weighted, {{"a", 5}, {"b", 3}, {"c", 2}})},
                      nullptr);
        auto *route = router.routeFor("logical");
        QVERIFY(route);
        int counts[3] = {};
        constexpr int kN = 10000;
        for (int n = 0; n < kN; ++n) ++counts[serve(router, *route, 0, 10)];
        // Smooth WRR is exact per cycle of 10: allow only the rounding of the last partial cycle.
        QVERIFY(qAbs(counts[0] - kN * 5 / 10) <= 5);
        QVERIFY(qAbs(counts[1] - kN * 3 / 10) <= 3);
        QVERIFY(qAbs(counts[2] - kN * 2 / 10) <= 2);
    }

    void weightedInterleavesInsteadOfBursting() {
        Router router({makeRoute(RouteStrategy::Weighted, {{"a", 2}, {"b", 1}})}, nullptr);
        auto *route = router.routeFor("logical");
        QList<int> seq;
        for (int n = 0; n < 6; ++n) seq.append(serve(router, *route, 0, 10));
        QCOMPARE(seq, (QList<int>{0, 1, 0, 0, 1, 0}));
    }

    void fallbackUsesFirstHealthyTargetInOrder() {
        Router router({makeRoute(RouteStrategy::Fallback, {{"a", 1}, {"b", 1}, {"c", 1}})},
                      nullptr);
        auto *route = router.routeFor("logical");
        QCOMPARE(router.pick(*route, 0, {}, 0), 0);
        QCOMPARE(router.pick(*route, 0b001, {}, 0), 1);  // retry after a tried first target
        QCOMPARE(router.pick(*route, 0b011, {}, 0), 2);
        QCOMPARE(router.pick(*route, 0b111, {}, 0), 0);  // all tried: start over
        // Excluded targets (cannot serve this request) are never chosen, even as a retry.
        QCOMPARE(router.pick(*route, 0b010, {}, 0, 0b001), 2);
        QCOMPARE(router.pick(*route, 0b110, {}, 0, 0b001), 1);
        QCOMPARE(router.pick(*route, 0, {}, 0, 0b111), -1);
        // Open the first one's circuit: traffic starts at the second.
        for (int n = 0; n < route->config.circuit.failureThreshold; ++n) {
            router.begin(*route, 0, 0);
            router.fail(*route, 0, 0);
        }
        QCOMPARE(router.pick(*route, 0, {}, 1), 1);
    }

    void unroutedModelHasNoRoute() {
        Router router({makeRoute(RouteStrategy::Fallback, {{"a", 1}})}, nullptr);
        QVERIFY(!router.routeFor("gpt-4o"));
        QVERIFY(!router.routeFor(""));
    }

    void latencyPrefersFastestAfterWarmup() {
        Router router({makeRoute(RouteStrategy::Latency, {{"a", 1}, {"b", 1}, {"c", 1}})}, nullptr);
        auto *route = router.routeFor("logical");
        const double latency[3] = {50, 10, 30};
        int counts[3] = {};
        for (int n = 0; n < 1000; ++n) {
            const int i = router.pick(*route, 0, {}, 0);
            router.begin(*route, i, 0);
            router.succeed(*route, i, latency[i], latency[i], 0);
            ++counts[i];
        }
        // Every target got its warm-up and its probes; the fast one carries the load.
        QVERIFY(counts[0] >= Router::kWarmupSamples && counts[2] >= Router::kWarmupSamples);
        QVERIFY2(counts[1] >= 850, qPrintable(QString::number(counts[1])));
        // Probes keep the others sampled: at least one per kProbeEveryPicks+1 picks each.
        QVERIFY(counts[0] >= 1000 / (Router::kProbeEveryPicks + 1) / 2);
    }

    void latencyShiftsAwayFromSlowedTargetAndReturnsAfterRecovery() {
        Router router({makeRoute(RouteStrategy::Latency, {{"a", 1}, {"b", 1}})}, nullptr);
        auto *route = router.routeFor("logical");
        double latency[2] = {10, 40};
        auto one = [&] {
            const int i = router.pick(*route, 0, {}, 0);
            router.begin(*route, i, 0);
            router.succeed(*route, i, latency[i], latency[i], 0);
            return i;
        };
        for (int n = 0; n < 100; ++n) one();
        QCOMPARE(one(), 0);
        latency[0] = 200;  // a slows down
        // Bounded: a few slow answers on a move the average past b; then b takes the traffic.
        constexpr int kShiftBound = 5;
        int shiftedAfter = -1;
        for (int n = 0; n < 50 && shiftedAfter < 0; ++n) {
            int run = 0;
            while (run < 10 && one() == 1) ++run;
            if (run == 10) shiftedAfter = n;
        }
        QVERIFY2(shiftedAfter >= 0 && shiftedAfter <= kShiftBound,
                 qPrintable(QString::number(shiftedAfter)));
        int toA = 0;
        for (int n = 0; n < 200; ++n) toA += one() == 0 ? 1 : 0;
        QVERIFY2(toA <= 200 / Router::kProbeEveryPicks + 1, qPrintable(QString::number(toA)));
        QVERIFY(toA >= 1);  // still probed
        latency[0] = 10;    // a recovers: probes notice and traffic comes back
        // Each probe moves a's average 30% of the way back; eight probes bring 200 ms below 40.
        constexpr int kRecoveryBoundPicks = 8 * (Router::kProbeEveryPicks + 1) + 3;
        int picks = 0, run = 0;
        while (run < 3 && picks < 10 * kRecoveryBoundPicks) {
            run = one() == 0 ? run + 1 : 0;
            ++picks;
        }
        QVERIFY2(picks <= kRecoveryBoundPicks, qPrintable(QString::number(picks)));
        int back = 0;
        for (int n = 0; n < 100; ++n) back += one() == 0 ? 1 : 0;
        QVERIFY(back >= 90);
    }

    void leastInFlightPicksIdlestAndRotatesTies() {
        Router router({makeRoute(RouteStrategy::LeastInFlight, {{"a", 1}, {"b", 1}, {"c", 1}})},
                      nullptr);
        auto *route = router.routeFor("logical");
        int counts[3] = {};
        // 30 concurrent requests, none finishing: they spread evenly.
        for (int n = 0; n < 30; ++n) {
            const int i = router.pick(*route, 0, {}, 0);
            router.begin(*route, i, 0);
            ++counts[i];
        }
        QCOMPARE(counts[0], 10);
        QCOMPARE(counts[1], 10);
        QCOMPARE(counts[2], 10);
        // Finish five on b: the next five go to b.
        for (int n = 0; n < 5; ++n) router.succeed(*route, 1, 1, 1, 0);
        for (int n = 0; n < 5; ++n) {
            const int i = router.pick(*route, 0, {}, 0);
            QCOMPARE(i, 1);
            router.begin(*route, i, 0);
        }
    }

    void cheapestPicksLowestPriceThenFallsBack() {
        PriceTable prices;
        prices.merge(QJsonDocument::fromJson(R"({"pricey":{"input":10,"output":30},
            "cheap":{"input":0.1,"output":0.4},"mid":{"input":1,"output":2}})")
                         .object());
        Router router({makeRoute(RouteStrategy::Cheapest,
                                 {{"pricey", 1}, {"unknown-model", 1}, {"cheap", 1}, {"mid", 1}})},
                      &prices);
        auto *route = router.routeFor("logical");
        for (int n = 0; n < 100; ++n) QCOMPARE(serve(router, *route, 0, 10), 2);
        QCOMPARE(router.pick(*route, 1u << 2, {}, 0), 3);                // retry: next cheapest
        QCOMPARE(router.pick(*route, (1u << 2) | (1u << 3), {}, 0), 0);  // then the priced one
        QCOMPARE(router.pick(*route, 0b1101, {}, 0), 1);                 // unknown price last
    }

    void hashIsStickyBalancedAndMovesOnlyLeavingKeys() {
        Router router({makeRoute(RouteStrategy::Hash, {{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}})},
                      nullptr);
        auto *route = router.routeFor("logical");
        constexpr int kKeys = 4000;
        QList<int> first;
        int counts[4] = {};
        for (int k = 0; k < kKeys; ++k) {
            const QByteArray key = "session-" + QByteArray::number(k);
            const int i = router.pick(*route, 0, key, 0);
            first.append(i);
            ++counts[i];
            QCOMPARE(router.pick(*route, 0, key, 0), i);  // sticky
        }
        for (int c : counts)
            QVERIFY2(qAbs(c - kKeys / 4) < kKeys / 4 / 5, qPrintable(QString::number(c)));
        // Target b leaves (circuit open): only b's keys move; nobody else's.
        for (int n = 0; n < route->config.circuit.failureThreshold; ++n) {
            router.begin(*route, 1, 0);
            router.fail(*route, 1, 0);
        }
        for (int k = 0; k < kKeys; ++k) {
            const int i = router.pick(*route, 0, "session-" + QByteArray::number(k), 1);
            QVERIFY(i != 1);
            if (first[k] != 1) QCOMPARE(i, first[k]);
        }
    }

    void hashIsStableAcrossInstances() {
        QCOMPARE(Router::stableHash("abc", "p/m"), Router::stableHash("abc", "p/m"));
        QVERIFY(Router::stableHash("abc", "p/m") != Router::stableHash("abd", "p/m"));
        QVERIFY(Router::stableHash("ab", "cp/m") != Router::stableHash("abc", "p/m"));
    }

    void circuitOpensAfterThresholdAndRecoversThroughHalfOpenTrial() {
        TargetHealth h;
        constexpr int kThreshold = 3, kCooldownMs = 1000;
        for (int n = 0; n < kThreshold - 1; ++n) {
            h.begin(0);
            QVERIFY(!h.fail(0, kThreshold, kCooldownMs).changed);
        }
        QCOMPARE(h.state(0), CircuitState::Closed);
        h.begin(0);
        const auto t = h.fail(0, kThreshold, kCooldownMs);
        QVERIFY(t.changed);
        QCOMPARE(t.to, CircuitState::Open);
        QVERIFY(!h.available(500));
        QCOMPARE(h.state(1000), CircuitState::HalfOpen);
        QVERIFY(h.available(1000));
        h.begin(1000);                          // the trial
        QVERIFY(!h.available(1001));            // only one trial at a time
        h.fail(1001, kThreshold, kCooldownMs);  // trial fails: open again for a full cooldown
        QCOMPARE(h.state(1500), CircuitState::Open);
        QCOMPARE(h.state(2001), CircuitState::HalfOpen);
        h.begin(2001);
        const auto closed = h.succeed(5, 5, 2002);
        QVERIFY(closed.changed);
        QCOMPARE(closed.to, CircuitState::Closed);
        QVERIFY(h.available(2002));
        QCOMPARE(h.inFlight(), 0);
        QCOMPARE(h.failures(), qint64(kThreshold + 1));
    }

    void successResetsConsecutiveFailures() {
        TargetHealth h;
        for (int n = 0; n < 10; ++n) {
            h.begin(0);
            h.fail(0, 3, 1000);
            h.begin(0);
            h.fail(0, 3, 1000);
            h.begin(0);
            h.succeed(1, 1, 0);
        }
        QCOMPARE(h.state(0), CircuitState::Closed);
        QVERIFY(h.errorRate() > 0.3);
    }

    void retryAfterCoolsTargetDownWithoutOpeningCircuit() {
        TargetHealth h;
        h.begin(0);
        h.fail(0, 5, 30000, 2000);
        QCOMPARE(h.state(0), CircuitState::Closed);
        QVERIFY(!h.available(1999));
        QVERIFY(h.available(2000));
        QCOMPARE(h.cooldownUntilMs(), qint64(2000));
    }

    void allTargetsCoolingDownGivesNoPickAndNextTime() {
        Router router({makeRoute(RouteStrategy::Fallback, {{"a", 1}, {"b", 1}})}, nullptr);
        auto *route = router.routeFor("logical");
        router.begin(*route, 0, 0);
        router.fail(*route, 0, 0, 3000);
        router.begin(*route, 1, 0);
        router.fail(*route, 1, 0, 1000);
        QCOMPARE(router.pick(*route, 0, {}, 10), -1);
        QCOMPARE(router.nextAvailableMs(*route, 10), qint64(1000));
        QCOMPARE(router.pick(*route, 0, {}, 1000), 1);
    }

    void circuitTransitionsAreAnnouncedOnTheEventBus() {
        EventBus bus;
        QList<QJsonObject> notices;
        connect(&bus, &EventBus::notice, this, [&](const QByteArray &type, const QJsonObject &o) {
            if (type == "health") notices.append(o);
        });
        RouteConfig r = makeRoute(RouteStrategy::Fallback, {{"a", 1}});
        r.circuit.failureThreshold = 2;
        r.circuit.cooldownMs = 100;
        Router router({r}, nullptr, &bus);
        auto *route = router.routeFor("logical");
        for (int n = 0; n < 2; ++n) {
            router.begin(*route, 0, 0);
            router.fail(*route, 0, 0);
        }
        QCOMPARE(notices.size(), 1);
        QCOMPARE(notices[0].value("circuit").toString(), QStringLiteral("open"));
        router.begin(*route, 0, 100);
        router.succeed(*route, 0, 1, 1, 101);
        QCOMPARE(notices.size(), 2);
        QCOMPARE(notices[1].value("circuit").toString(), QStringLiteral("closed"));
        const QJsonArray targets = router.targetsJson(101);
        QCOMPARE(targets.size(), 1);
        QCOMPARE(targets[0].toObject().value("circuit").toString(), QStringLiteral("closed"));
        QCOMPARE(targets[0].toObject().value("failures").toInt(), 2);
    }

    void backoffGrowsExponentiallyWithBoundedJitter() {
        RetryPolicy p;
        p.backoffMs = 100;
        p.maxBackoffMs = 1000;
        QCOMPARE(Router::backoffDelayMs(p, 1, 12345), 0);  // the first attempt never waits
        for (quint32 r : {0u, 1u, 77u, 0xffffffffu}) {
            const int d2 = Router::backoffDelayMs(p, 2, r);
            const int d3 = Router::backoffDelayMs(p, 3, r);
            const int d9 = Router::backoffDelayMs(p, 9, r);
            QVERIFY(d2 >= 50 && d2 <= 100);
            QVERIFY(d3 >= 100 && d3 <= 200);
            QVERIFY(d9 >= 500 && d9 <= 1000);  // capped
        }
        QVERIFY(Router::backoffDelayMs(p, 2, 0) != Router::backoffDelayMs(p, 2, 33));  // jitter
    }

    void configParsesRoutesAndRejectsBadOnes() {
        Config c = Config::defaults();
        QString error;
        const QByteArray json =
            R"({"routes":{"gpt-4o-mini":{"strategy":"weighted","hash_key":"header:x-session-id",
            "targets":[{"provider":"openai","model":"gpt-4o-mini","weight":3,"first_byte_timeout_ms":5000},
                       {"provider":"anthropic","model":"claude-haiku-4-5"}],
            "retry":{"max_attempts":4,"backoff_ms":50,"max_backoff_ms":500,"deadline_ms":9000},
            "circuit":{"failure_threshold":2,"cooldown_ms":700}}}})";
        QVERIFY2(applyConfigJson(QJsonDocument::fromJson(json).object(), &c, &error),
                 qPrintable(error));
        QCOMPARE(c.routes.size(), 1);
        const RouteConfig &r = c.routes[0];
        QCOMPARE(r.name, QStringLiteral("gpt-4o-mini"));
        QCOMPARE(r.strategy, RouteStrategy::Weighted);
        QCOMPARE(r.hashKey, QStringLiteral("header:x-session-id"));
        QCOMPARE(r.targets.size(), 2);
        QCOMPARE(r.targets[0].weight, 3);
        QCOMPARE(r.targets[0].firstByteTimeoutMs, 5000);
        QCOMPARE(r.targets[1].model, QStringLiteral("claude-haiku-4-5"));
        QCOMPARE(r.retry.maxAttempts, 4);
        QCOMPARE(r.retry.deadlineMs, 9000);
        QCOMPARE(r.circuit.cooldownMs, 700);

        const char *bad[] = {
            R"({"routes":{"m":{"strategy":"random","targets":[{"provider":"openai","model":"x"}]}}})",
            R"({"routes":{"m":{"targets":[{"provider":"nope","model":"x"}]}}})",
            R"({"routes":{"m":{"targets":[]}}})",
            R"({"routes":{"m":{"targets":[{"provider":"openai"}]}}})",
            R"({"routes":{"m":{"targets":[{"provider":"openai","model":"x"}],"retry":{"max_attempts":0}}}})",
            R"({"routes":{"m":{"hash_key":"cookie","targets":[{"provider":"openai","model":"x"}]}}})",
            R"({"routes":[]})",
        };
        for (const char *b : bad) {
            Config c2 = Config::defaults();
            QString e;
            QVERIFY2(!applyConfigJson(QJsonDocument::fromJson(b).object(), &c2, &e), b);
            QVERIFY(!e.isEmpty());
        }
    }
};

QTEST_GUILESS_MAIN(TestRouter)
#include "tst_router.moc"
