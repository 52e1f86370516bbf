// libFuzzer target: guardrails scan request bodies from any client; the single-pass JSON walker
// and every detector must handle any bytes, and a redacted body must stay valid JSON.
#include "core/guard/request_guard.h"

#include <QJsonDocument>

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const airlock::ContentScanner scanner = [] {
        airlock::GuardrailRules rules;
        for (const QString &d : airlock::knownDetectors())
            rules.detectors.insert(d, airlock::GuardAction::Redact);
        rules.patterns.append(
            {QStringLiteral("p"), QStringLiteral("PROJECT-[0-9]+"), airlock::GuardAction::Warn});
        return airlock::ContentScanner(rules);
    }();
    QByteArray body(reinterpret_cast<const char *>(data), qsizetype(size));
    const airlock::GuardOutcome g = airlock::guardRequestBody(scanner, &body, true);
    if (g.bodyChanged) {
        QJsonParseError pe;
        QJsonDocument::fromJson(body, &pe);
        if (pe.error != QJsonParseError::NoError) std::abort();  // redaction broke the JSON
    }
    // Raw text through the scanner too (detectors on arbitrary UTF-16).
    QList<airlock::GuardMatch> matches;
    scanner.scan(QString::fromUtf8(body), &matches);
    return 0;
}
