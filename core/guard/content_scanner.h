// Finds sensitive content (PII, secrets, admin patterns) in text in one pass with cheap prefilters;
// no std::regex on the hot path, QRegularExpression (JIT) only for admin patterns.
#pragma once

#include "core/policy/policy_bundle.h"

#include <QList>
#include <QRegularExpression>
#include <QString>
#include <QStringView>
#include <array>

namespace airlock {

enum class Detector : quint8 {
    Email,
    Phone,
    CreditCard,
    UsSsn,
    Iban,
    IpAddress,
    ApiKey,
    PrivateKey,
    Jwt,
    Pattern,  // an admin regex
};
constexpr int kBuiltInDetectorCount = 9;

QString detectorName(Detector d);
bool detectorFromName(const QString &name, Detector *out);

struct GuardMatch {
    qsizetype start = 0;
    qsizetype length = 0;
    Detector detector = Detector::Email;
    int pattern = -1;  // index into the rules' patterns for Detector::Pattern
};

class ContentScanner {
public:
    explicit ContentScanner(const GuardrailRules &rules);
    bool isEmpty() const { return !m_anyBuiltIn && m_patterns.isEmpty(); }
    // Non-overlapping matches in `text`, sorted by start (the earlier/longer wins an overlap).
    void scan(QStringView text, QList<GuardMatch> *out) const;
    GuardAction actionOf(const GuardMatch &m) const;
    // "credit_card", or the admin pattern's name.
    QString ruleName(const GuardMatch &m) const;

    // Detector primitives, public for tests.
    static bool luhnValid(QStringView digits);
    static bool ibanChecksumValid(QStringView iban);  // compact form, no spaces

private:
    void scanBuiltIns(QStringView text, QList<GuardMatch> *out) const;
    bool enabled(Detector d) const { return m_enabled[size_t(d)]; }

    std::array<bool, kBuiltInDetectorCount> m_enabled{};
    std::array<GuardAction, kBuiltInDetectorCount> m_actions{};
    bool m_anyBuiltIn = false;
    struct Pattern {
        QString name;
        QRegularExpression re;
        GuardAction action;
    };
    QList<Pattern> m_patterns;
};

}  // namespace airlock
