// Guardrail scan cost: a 1 MB chat request body with every detector and an admin pattern on.
// Prints MB/s and ms per MB for the detectors alone and for the whole body pass (JSON parse,
// walk, scan, redaction re-serialisation). Target: under 5 ms per MB.
#include "core/guard/content_scanner.h"
#include "core/guard/request_guard.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cstdio>
#include <vector>

using namespace airlock;

namespace {

constexpr qsizetype kBodyBytes = 1024 * 1024;
constexpr int kRounds = 30;

QByteArray makeBody() {
    // Prose and code like a coding agent sends, with a little PII and some numbers.
    const QStringList lines = {
        QStringLiteral("The function returns the list of users sorted by their creation date, see "
                       "issue 4521. "),
        QStringLiteral(
            "for (int i = 0; i < n; ++i) { total += values[i] * 3.14159; } // version 2.4.1 "),
        QStringLiteral("Please email the report to someone@example.com before 2026-11-25 and call "
                       "415-555-0132. "),
        QStringLiteral(
            "Config: host=10.0.0.12 port=8080 timeout=30000 retries=5 build 20261125.3 id 98234 "),
        QStringLiteral("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod "
                       "tempor incididunt. "),
    };
    QJsonArray messages;
    qsizetype size = 0;
    int k = 0;
    while (size < kBodyBytes) {
        QString content;
        for (int j = 0; j < 40; ++j) content += lines[(k + j) % lines.size()];
        messages.append(QJsonObject{
            {QStringLiteral("role"), k % 2 ? QStringLiteral("assistant") : QStringLiteral("user")},
            {QStringLiteral("content"), content}});
        size += content.size() + 40;
        ++k;
    }
    return QJsonDocument(QJsonObject{{QStringLiteral("model"), QStringLiteral("gpt-4o")},
                                     {QStringLiteral("messages"), messages}})
        .toJson(QJsonDocument::Compact);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char **argv) {
    QCoreApplication app(argc, argv);
    GuardrailRules rules;
    for (const QString &d : knownDetectors()) rules.detectors.insert(d, GuardAction::Redact);
    rules.patterns.append(PatternRule{QStringLiteral("project-x"),
                                      QStringLiteral("PROJECT-X-[0-9]+"), GuardAction::Block});
    const ContentScanner scanner(rules);
    const QByteArray body = makeBody();
    const QString text = QString::fromUtf8(body);
    const double mb = double(body.size()) / (1024.0 * 1024.0);

    std::vector<double> scanMs, passMs;
    QList<GuardMatch> matches;
    qsizetype found = 0;
    for (int r = 0; r < kRounds; ++r) {
        QElapsedTimer t;
        t.start();
        scanner.scan(text, &matches);
        scanMs.push_back(double(t.nsecsElapsed()) / 1e6);
        found = matches.size();
        QByteArray copy = body;
        t.restart();
        const GuardOutcome g = guardRequestBody(scanner, &copy, true);
        passMs.push_back(double(t.nsecsElapsed()) / 1e6);
        if (!g.parsed) return 1;
    }
    const double scan = median(scanMs) / mb;
    const double pass = median(passMs) / mb;
    std::printf("guard_bench: body %.2f MB, %lld matches, median of %d rounds\n", mb,
                qlonglong(found), kRounds);
    std::printf("  detectors only (scan):                 %7.2f ms/MB  %8.1f MB/s\n", scan,
                1000.0 / scan);
    std::printf("  whole body (parse+scan+redact+write):  %7.2f ms/MB  %8.1f MB/s\n", pass,
                1000.0 / pass);
    std::printf("  target < 5 ms/MB: detectors %s, whole body %s\n", scan < 5.0 ? "met" : "NOT met",
                pass < 5.0 ? "met" : "NOT met");
    return 0;
}
