// The policy bundle model: profiles with model rules, budgets, rate limits and guardrails, parsed
// and validated from the admin's JSON with errors that name the offending key.
#pragma once

#include <QDateTime>
#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

namespace airlock {

enum class GuardAction { Block, Redact, Warn };
enum class PolicyMode { Enforce, Monitor };
enum class FailMode { Open, Closed };

QString guardActionName(GuardAction action);

struct ModelRules {
    QStringList allow;                // globs; empty = every model allowed
    QStringList deny;                 // globs; checked first
    QHash<QString, QString> aliases;  // requested model -> model sent upstream
    qint64 maxTokens = -1;            // cap on the requested output tokens; -1 = none
};

struct BudgetRule {
    QString period;            // "day", "week", "month" (user's local time zone)
    double usd = -1;           // -1: no USD limit
    qint64 tokens = -1;        // -1: no token limit (input + output)
    double warnAt = -1;        // fraction 0..1 of the limit that triggers a warning; -1 = none
    bool deviceScope = false;  // false: per app
    QStringList models;        // globs narrowing the rule; empty = all models
};

struct RateLimitRule {
    int rpm = -1;         // requests per minute; -1 = no limit
    qint64 tpm = -1;      // tokens per minute (estimated before, corrected after)
    int concurrent = -1;  // requests in flight
    bool deviceScope = false;
    QStringList models;
};

struct PatternRule {
    QString name;
    QString regex;
    GuardAction action = GuardAction::Block;
};

struct GuardrailRules {
    QHash<QString, GuardAction> detectors;  // detector name -> action
    QList<PatternRule> patterns;
    bool isEmpty() const { return detectors.isEmpty() && patterns.isEmpty(); }
};

// The longest pause a profile may allow (allow_pause_minutes): a working day and then some.
constexpr int kMaxAllowPauseMinutes = 1440;

struct Profile {
    QString name;
    PolicyMode mode = PolicyMode::Enforce;
    FailMode failMode = FailMode::Closed;
    ModelRules models;
    QList<BudgetRule> budgets;
    QList<RateLimitRule> rateLimits;
    GuardrailRules guardrails;
    QJsonObject cache;
    // How long this device may pause TLS interception from the tray or `airlockctl pause`
    // (0: never; the device profile's value counts, not an app override).
    int allowPauseMinutes = 0;
};

struct PolicyBundle {
    qint64 version = 0;
    QDateTime issuedAt;
    QDateTime expiresAt;
    QHash<QString, Profile> profiles;
    // profile name -> app name -> the profile with that app's keys replaced
    QHash<QString, QHash<QString, Profile>> appProfiles;
    QJsonObject json;  // the bundle as published

    // The profile for an app: the app override inside `profileName` when there is one.
    const Profile *profileFor(const QString &profileName, const QString &app) const;
    // Every profile and every app override (pointers into this bundle).
    QList<const Profile *> allProfiles() const;
};

// Known detector names (the contract in ARCHITECTURE.md).
const QStringList &knownDetectors();

// Parses and validates a bundle. Errors name the key, e.g. "profiles.default.budgets[1].period:
// must be day, week or month".
bool parsePolicyBundle(const QJsonObject &json, PolicyBundle *out, QString *error);
bool parsePolicyBundle(const QByteArray &json, PolicyBundle *out, QString *error);

// '*' matches any run of characters (including none); everything else literally, case-sensitive.
bool globMatch(QStringView glob, QStringView text);
bool anyGlobMatches(const QStringList &globs, QStringView text);

// A valid unsigned bundle that uses every rule type (airlockctl policy example).
QJsonObject examplePolicyBundle();

}  // namespace airlock
