#include "core/policy/policy_bundle.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>

namespace airlock {

namespace {

constexpr qsizetype kMaxProfiles = 256;
constexpr qsizetype kMaxListEntries = 1024;
constexpr qsizetype kMaxPatternBytes = 4096;

bool fail(QString *error, const QString &path, const QString &message) {
    if (error) *error = path + QStringLiteral(": ") + message;
    return false;
}

bool readGlobs(const QJsonValue &v, const QString &path, QStringList *out, QString *error) {
    if (!v.isArray()) return fail(error, path, QStringLiteral("must be an array of model globs"));
    const QJsonArray a = v.toArray();
    if (a.size() > kMaxListEntries) return fail(error, path, QStringLiteral("too many entries"));
    for (qsizetype i = 0; i < a.size(); ++i) {
        if (!a.at(i).isString() || a.at(i).toString().isEmpty())
            return fail(error, QStringLiteral("%1[%2]").arg(path).arg(i),
                        QStringLiteral("must be a non-empty string"));
        out->append(a.at(i).toString());
    }
    return true;
}

bool readAction(const QJsonValue &v, const QString &path, GuardAction *out, QString *error) {
    const QString s = v.toString();
    if (s == QLatin1String("block"))
        *out = GuardAction::Block;
    else if (s == QLatin1String("redact"))
        *out = GuardAction::Redact;
    else if (s == QLatin1String("warn"))
        *out = GuardAction::Warn;
    else
        return fail(error, path, QStringLiteral("must be block, redact or warn"));
    return true;
}

bool readScope(const QJsonObject &o, const QString &path, bool *device, QStringList *models,
               QString *error) {
    if (o.contains(QLatin1String("scope"))) {
        const QString s = o.value(QLatin1String("scope")).toString();
        if (s == QLatin1String("device"))
            *device = true;
        else if (s == QLatin1String("app"))
            *device = false;
        else
            return fail(error, path + QStringLiteral(".scope"),
                        QStringLiteral("must be app or device"));
    }
    if (o.contains(QLatin1String("models")))
        return readGlobs(o.value(QLatin1String("models")), path + QStringLiteral(".models"), models,
                         error);
    return true;
}

// Limits, sizes and versions above this are refused: beyond it a double no longer holds every
// integer, and converting it to qint64 would be undefined (found by fuzz_policy_bundle).
constexpr double kMaxLimitValue = 1e15;

bool readPositive(const QJsonObject &o, const char *key, const QString &path, double *out,
                  QString *error) {
    if (!o.contains(QLatin1String(key))) return true;
    const QJsonValue v = o.value(QLatin1String(key));
    // The upper bound keeps every limit exactly representable (and convertible) as an integer.
    if (!v.isDouble() || v.toDouble() <= 0 || v.toDouble() > kMaxLimitValue)
        return fail(error, path + QLatin1Char('.') + QLatin1String(key),
                    QStringLiteral("must be a number > 0 and at most 1e15"));
    *out = v.toDouble();
    return true;
}

bool parseModels(const QJsonValue &v, const QString &path, ModelRules *m, QString *error) {
    if (!v.isObject()) return fail(error, path, QStringLiteral("must be an object"));
    const QJsonObject o = v.toObject();
    *m = ModelRules{};
    for (auto it = o.begin(); it != o.end(); ++it) {
        const QString k = it.key();
        const QString p = path + QLatin1Char('.') + k;
        if (k == QLatin1String("allow")) {
            if (!readGlobs(it.value(), p, &m->allow, error)) return false;
        } else if (k == QLatin1String("deny")) {
            if (!readGlobs(it.value(), p, &m->deny, error)) return false;
        } else if (k == QLatin1String("aliases")) {
            if (!it.value().isObject())
                return fail(error, p, QStringLiteral("must be an object of model -> model"));
            const QJsonObject a = it.value().toObject();
            for (auto jt = a.begin(); jt != a.end(); ++jt) {
                if (!jt.value().isString() || jt.value().toString().isEmpty())
                    return fail(error, p + QLatin1Char('.') + jt.key(),
                                QStringLiteral("must be a model name"));
                m->aliases.insert(jt.key(), jt.value().toString());
            }
        } else if (k == QLatin1String("max_tokens")) {
            if (!it.value().isDouble() || it.value().toDouble() < 1 || it.value().toDouble() > 1e9)
                return fail(error, p, QStringLiteral("must be an integer 1..1000000000"));
            m->maxTokens = qint64(it.value().toDouble());
        } else {
            return fail(error, p, QStringLiteral("unknown key (allow, deny, aliases, max_tokens)"));
        }
    }
    return true;
}

bool parseBudgets(const QJsonValue &v, const QString &path, QList<BudgetRule> *out,
                  QString *error) {
    if (!v.isArray()) return fail(error, path, QStringLiteral("must be an array"));
    out->clear();
    const QJsonArray a = v.toArray();
    for (qsizetype i = 0; i < a.size(); ++i) {
        const QString p = QStringLiteral("%1[%2]").arg(path).arg(i);
        if (!a.at(i).isObject()) return fail(error, p, QStringLiteral("must be an object"));
        const QJsonObject o = a.at(i).toObject();
        BudgetRule b;
        b.period = o.value(QLatin1String("period")).toString();
        if (b.period != QLatin1String("day") && b.period != QLatin1String("week") &&
            b.period != QLatin1String("month"))
            return fail(error, p + QStringLiteral(".period"),
                        QStringLiteral("must be day, week or month"));
        double tokens = -1;
        if (!readPositive(o, "usd", p, &b.usd, error) ||
            !readPositive(o, "tokens", p, &tokens, error))
            return false;
        b.tokens = tokens > 0 ? qint64(tokens) : -1;
        if (b.usd < 0 && b.tokens < 0)
            return fail(error, p, QStringLiteral("needs a limit: usd and/or tokens"));
        if (o.contains(QLatin1String("warn_at"))) {
            const double w = o.value(QLatin1String("warn_at")).toDouble(-1);
            if (w <= 0 || w >= 1)
                return fail(error, p + QStringLiteral(".warn_at"),
                            QStringLiteral("must be a fraction between 0 and 1"));
            b.warnAt = w;
        }
        if (!readScope(o, p, &b.deviceScope, &b.models, error)) return false;
        for (auto it = o.begin(); it != o.end(); ++it) {
            static const QStringList known = {QStringLiteral("period"), QStringLiteral("usd"),
                                              QStringLiteral("tokens"), QStringLiteral("warn_at"),
                                              QStringLiteral("scope"),  QStringLiteral("models")};
            if (!known.contains(it.key()))
                return fail(error, p + QLatin1Char('.') + it.key(), QStringLiteral("unknown key"));
        }
        out->append(b);
    }
    return true;
}

bool parseRateLimits(const QJsonValue &v, const QString &path, QList<RateLimitRule> *out,
                     QString *error) {
    if (!v.isArray()) return fail(error, path, QStringLiteral("must be an array"));
    out->clear();
    const QJsonArray a = v.toArray();
    for (qsizetype i = 0; i < a.size(); ++i) {
        const QString p = QStringLiteral("%1[%2]").arg(path).arg(i);
        if (!a.at(i).isObject()) return fail(error, p, QStringLiteral("must be an object"));
        const QJsonObject o = a.at(i).toObject();
        RateLimitRule r;
        double rpm = -1, tpm = -1, conc = -1;
        if (!readPositive(o, "rpm", p, &rpm, error) || !readPositive(o, "tpm", p, &tpm, error) ||
            !readPositive(o, "concurrent", p, &conc, error))
            return false;
        r.rpm = rpm > 0 ? int(qMin(rpm, 1e6)) : -1;
        r.tpm = tpm > 0 ? qint64(tpm) : -1;
        r.concurrent = conc > 0 ? int(qMin(conc, 1e6)) : -1;
        if (r.rpm < 0 && r.tpm < 0 && r.concurrent < 0)
            return fail(error, p, QStringLiteral("needs rpm, tpm and/or concurrent"));
        if (!readScope(o, p, &r.deviceScope, &r.models, error)) return false;
        for (auto it = o.begin(); it != o.end(); ++it) {
            static const QStringList known = {QStringLiteral("rpm"), QStringLiteral("tpm"),
                                              QStringLiteral("concurrent"), QStringLiteral("scope"),
                                              QStringLiteral("models")};
            if (!known.contains(it.key()))
                return fail(error, p + QLatin1Char('.') + it.key(), QStringLiteral("unknown key"));
        }
        out->append(r);
    }
    return true;
}

bool parseGuardrails(const QJsonValue &v, const QString &path, GuardrailRules *g, QString *error) {
    if (!v.isObject()) return fail(error, path, QStringLiteral("must be an object"));
    const QJsonObject o = v.toObject();
    *g = GuardrailRules{};
    for (auto it = o.begin(); it != o.end(); ++it) {
        const QString p = path + QLatin1Char('.') + it.key();
        if (it.key() == QLatin1String("detectors")) {
            if (!it.value().isObject())
                return fail(error, p, QStringLiteral("must be an object of detector -> action"));
            const QJsonObject d = it.value().toObject();
            for (auto jt = d.begin(); jt != d.end(); ++jt) {
                if (!knownDetectors().contains(jt.key()))
                    return fail(error, p + QLatin1Char('.') + jt.key(),
                                QStringLiteral("unknown detector (known: %1)")
                                    .arg(knownDetectors().join(QStringLiteral(", "))));
                GuardAction a;
                if (!readAction(jt.value(), p + QLatin1Char('.') + jt.key(), &a, error))
                    return false;
                g->detectors.insert(jt.key(), a);
            }
        } else if (it.key() == QLatin1String("patterns")) {
            if (!it.value().isArray()) return fail(error, p, QStringLiteral("must be an array"));
            const QJsonArray a = it.value().toArray();
            for (qsizetype i = 0; i < a.size(); ++i) {
                const QString pp = QStringLiteral("%1[%2]").arg(p).arg(i);
                const QJsonObject po = a.at(i).toObject();
                PatternRule r;
                r.name = po.value(QLatin1String("name")).toString();
                r.regex = po.value(QLatin1String("regex")).toString();
                static const QRegularExpression nameRe(QStringLiteral("^[A-Za-z0-9_.-]{1,64}$"));
                if (!nameRe.match(r.name).hasMatch())
                    return fail(error, pp + QStringLiteral(".name"),
                                QStringLiteral("must be 1-64 characters of A-Z a-z 0-9 _ . -"));
                if (r.regex.isEmpty() || r.regex.size() > kMaxPatternBytes)
                    return fail(error, pp + QStringLiteral(".regex"),
                                QStringLiteral("must be a non-empty regular expression"));
                const QRegularExpression re(r.regex);
                if (!re.isValid())
                    return fail(error, pp + QStringLiteral(".regex"),
                                QStringLiteral("invalid regular expression at offset %1: %2")
                                    .arg(re.patternErrorOffset())
                                    .arg(re.errorString()));
                if (re.match(QString()).hasMatch())
                    return fail(error, pp + QStringLiteral(".regex"),
                                QStringLiteral("must not match the empty string"));
                if (!readAction(po.value(QLatin1String("action")), pp + QStringLiteral(".action"),
                                &r.action, error))
                    return false;
                g->patterns.append(r);
            }
        } else {
            return fail(error, p, QStringLiteral("unknown key (detectors, patterns)"));
        }
    }
    return true;
}

// Applies the keys of `o` onto *p; `apps` is handled by the caller.
bool applyProfileKeys(const QJsonObject &o, const QString &path, Profile *p, QString *error) {
    for (auto it = o.begin(); it != o.end(); ++it) {
        const QString k = it.key();
        const QString kp = path + QLatin1Char('.') + k;
        if (k == QLatin1String("mode")) {
            const QString s = it.value().toString();
            if (s == QLatin1String("enforce"))
                p->mode = PolicyMode::Enforce;
            else if (s == QLatin1String("monitor"))
                p->mode = PolicyMode::Monitor;
            else
                return fail(error, kp, QStringLiteral("must be enforce or monitor"));
        } else if (k == QLatin1String("fail_mode")) {
            const QString s = it.value().toString();
            if (s == QLatin1String("open"))
                p->failMode = FailMode::Open;
            else if (s == QLatin1String("closed"))
                p->failMode = FailMode::Closed;
            else
                return fail(error, kp, QStringLiteral("must be open or closed"));
        } else if (k == QLatin1String("models")) {
            if (!parseModels(it.value(), kp, &p->models, error)) return false;
        } else if (k == QLatin1String("budgets")) {
            if (!parseBudgets(it.value(), kp, &p->budgets, error)) return false;
        } else if (k == QLatin1String("rate_limits")) {
            if (!parseRateLimits(it.value(), kp, &p->rateLimits, error)) return false;
        } else if (k == QLatin1String("guardrails")) {
            if (!parseGuardrails(it.value(), kp, &p->guardrails, error)) return false;
        } else if (k == QLatin1String("cache")) {
            if (!it.value().isObject()) return fail(error, kp, QStringLiteral("must be an object"));
            p->cache = it.value().toObject();
            // {} turns an inherited cache off; otherwise ttl_seconds is required.
            for (auto c = p->cache.begin(); c != p->cache.end(); ++c) {
                const QString ck = kp + QLatin1Char('.') + c.key();
                const double n = c.value().toDouble(-1);
                if (c.key() == QLatin1String("ttl_seconds") ||
                    c.key() == QLatin1String("max_bytes")) {
                    if (!c.value().isDouble() || n < 1 || n > kMaxLimitValue ||
                        n != double(qint64(n)))
                        return fail(error, ck, QStringLiteral("must be a positive integer"));
                } else if (c.key() == QLatin1String("scope")) {
                    if (c.value() != QLatin1String("device") && c.value() != QLatin1String("app"))
                        return fail(error, ck, QStringLiteral("must be device or app"));
                } else {
                    return fail(error, ck,
                                QStringLiteral("unknown key (ttl_seconds, max_bytes, scope)"));
                }
            }
            if (!p->cache.isEmpty() && !p->cache.contains(QLatin1String("ttl_seconds")))
                return fail(error, kp, QStringLiteral("ttl_seconds is required"));
        } else if (k == QLatin1String("allow_pause_minutes")) {
            const double v = it.value().toDouble(-1);
            if (!it.value().isDouble() || v < 0 || v > kMaxAllowPauseMinutes ||
                v != double(qint64(v)))
                return fail(error, kp,
                            QStringLiteral("must be a whole number of minutes, 0..%1")
                                .arg(kMaxAllowPauseMinutes));
            p->allowPauseMinutes = int(v);
        } else if (k == QLatin1String("apps") || k == QLatin1String("description")) {
            // apps: handled by the caller; description: free text for admins
        } else {
            return fail(
                error, kp,
                QStringLiteral("unknown key (mode, fail_mode, models, budgets, rate_limits, "
                               "guardrails, cache, allow_pause_minutes, apps, description)"));
        }
    }
    return true;
}

QDateTime readTime(const QJsonObject &o, const char *key) {
    return QDateTime::fromString(o.value(QLatin1String(key)).toString(), Qt::ISODateWithMs);
}

}  // namespace

QString guardActionName(GuardAction action) {
    switch (action) {
        case GuardAction::Block:
            return QStringLiteral("block");
        case GuardAction::Redact:
            return QStringLiteral("redact");
        case GuardAction::Warn:
            return QStringLiteral("warn");
    }
    return {};
}

const QStringList &knownDetectors() {
    static const QStringList names = {
        QStringLiteral("email"),   QStringLiteral("phone"),       QStringLiteral("credit_card"),
        QStringLiteral("us_ssn"),  QStringLiteral("iban"),        QStringLiteral("ip_address"),
        QStringLiteral("api_key"), QStringLiteral("private_key"), QStringLiteral("jwt")};
    return names;
}

const Profile *PolicyBundle::profileFor(const QString &profileName, const QString &app) const {
    const auto apps = appProfiles.constFind(profileName);
    if (apps != appProfiles.cend()) {
        const auto it = apps->constFind(app);
        if (it != apps->cend()) return &it.value();
    }
    const auto it = profiles.constFind(profileName);
    return it == profiles.cend() ? nullptr : &it.value();
}

QList<const Profile *> PolicyBundle::allProfiles() const {
    QList<const Profile *> all;
    for (const Profile &p : profiles) all.append(&p);
    for (const auto &apps : appProfiles)
        for (const Profile &p : apps) all.append(&p);
    return all;
}

bool parsePolicyBundle(const QByteArray &json, PolicyBundle *out, QString *error) {
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &pe);
    if (pe.error != QJsonParseError::NoError)
        return fail(
            error, QStringLiteral("bundle"),
            QStringLiteral("invalid JSON at offset %1: %2").arg(pe.offset).arg(pe.errorString()));
    if (!doc.isObject())
        return fail(error, QStringLiteral("bundle"), QStringLiteral("must be a JSON object"));
    return parsePolicyBundle(doc.object(), out, error);
}

bool parsePolicyBundle(const QJsonObject &json, PolicyBundle *out, QString *error) {
    PolicyBundle b;
    b.json = json;
    const QJsonValue version = json.value(QLatin1String("version"));
    if (!version.isDouble() || version.toDouble() < 1 || version.toDouble() > kMaxLimitValue ||
        version.toDouble() != double(qint64(version.toDouble())))
        return fail(error, QStringLiteral("version"), QStringLiteral("must be an integer >= 1"));
    b.version = qint64(version.toDouble());
    b.issuedAt = readTime(json, "issued_at");
    if (!b.issuedAt.isValid())
        return fail(error, QStringLiteral("issued_at"),
                    QStringLiteral("must be an ISO 8601 time, e.g. 2026-11-25T00:00:00Z"));
    b.expiresAt = readTime(json, "expires_at");
    if (!b.expiresAt.isValid())
        return fail(error, QStringLiteral("expires_at"),
                    QStringLiteral("must be an ISO 8601 time, e.g. 2026-12-25T00:00:00Z"));
    if (b.expiresAt <= b.issuedAt)
        return fail(error, QStringLiteral("expires_at"), QStringLiteral("must be after issued_at"));
    const QJsonValue profiles = json.value(QLatin1String("profiles"));
    if (!profiles.isObject() || profiles.toObject().isEmpty())
        return fail(error, QStringLiteral("profiles"),
                    QStringLiteral("must be an object with at least one profile"));
    if (profiles.toObject().size() > kMaxProfiles)
        return fail(error, QStringLiteral("profiles"), QStringLiteral("too many profiles"));
    for (auto it = json.begin(); it != json.end(); ++it) {
        static const QStringList known = {
            QStringLiteral("version"),  QStringLiteral("issued_at"),   QStringLiteral("expires_at"),
            QStringLiteral("profiles"), QStringLiteral("description"), QStringLiteral("$schema")};
        if (!known.contains(it.key())) return fail(error, it.key(), QStringLiteral("unknown key"));
    }
    const QJsonObject po = profiles.toObject();
    for (auto it = po.begin(); it != po.end(); ++it) {
        const QString path = QStringLiteral("profiles.") + it.key();
        if (!it.value().isObject()) return fail(error, path, QStringLiteral("must be an object"));
        const QJsonObject o = it.value().toObject();
        Profile p;
        p.name = it.key();
        if (!applyProfileKeys(o, path, &p, error)) return false;
        b.profiles.insert(p.name, p);
        if (o.contains(QLatin1String("apps"))) {
            if (!o.value(QLatin1String("apps")).isObject())
                return fail(error, path + QStringLiteral(".apps"),
                            QStringLiteral("must be an object of app name -> profile keys"));
            const QJsonObject apps = o.value(QLatin1String("apps")).toObject();
            for (auto jt = apps.begin(); jt != apps.end(); ++jt) {
                const QString ap = path + QStringLiteral(".apps.") + jt.key();
                if (!jt.value().isObject())
                    return fail(error, ap, QStringLiteral("must be an object"));
                if (jt.value().toObject().contains(QLatin1String("apps")))
                    return fail(error, ap + QStringLiteral(".apps"),
                                QStringLiteral("apps cannot nest"));
                // The app's keys replace those keys of the profile, each as a whole.
                Profile appProfile = p;
                if (!applyProfileKeys(jt.value().toObject(), ap, &appProfile, error)) return false;
                b.appProfiles[p.name].insert(jt.key(), appProfile);
            }
        }
    }
    *out = std::move(b);
    return true;
}

bool globMatch(QStringView glob, QStringView text) {
    // Iterative wildcard match with single backtrack point: linear in practice, no recursion.
    qsizetype g = 0, t = 0, star = -1, mark = 0;
    while (t < text.size()) {
        if (g < glob.size() && glob[g] == QLatin1Char('*')) {
            star = g++;
            mark = t;
        } else if (g < glob.size() && glob[g] == text[t]) {
            ++g;
            ++t;
        } else if (star >= 0) {
            g = star + 1;
            t = ++mark;
        } else {
            return false;
        }
    }
    while (g < glob.size() && glob[g] == QLatin1Char('*')) ++g;
    return g == glob.size();
}

bool anyGlobMatches(const QStringList &globs, QStringView text) {
    for (const QString &g : globs)
        if (globMatch(g, text)) return true;
    return false;
}

QJsonObject examplePolicyBundle() {
    const char *text = R"({
  "version": 1,
  "issued_at": "2026-11-25T00:00:00Z",
  "expires_at": "2027-11-25T00:00:00Z",
  "description": "Example bundle using every rule type",
  "profiles": {
    "default": {
      "mode": "enforce",
      "fail_mode": "closed",
      "models": {"allow": ["gpt-4o*", "gpt-4.1*", "claude-*", "gemini-*", "text-embedding-*"],
                 "deny": ["*-preview"],
                 "aliases": {"gpt-4o": "gpt-4o-mini"},
                 "max_tokens": 4096},
      "budgets": [{"period": "day", "usd": 5.0, "warn_at": 0.8},
                  {"period": "month", "tokens": 2000000, "scope": "device"},
                  {"period": "week", "usd": 10.0, "models": ["claude-opus-*"]}],
      "rate_limits": [{"rpm": 60, "tpm": 200000, "concurrent": 4},
                      {"rpm": 300, "scope": "device"}],
      "guardrails": {"detectors": {"credit_card": "block", "us_ssn": "block", "iban": "block",
                                   "api_key": "block", "private_key": "block", "jwt": "redact",
                                   "email": "redact", "phone": "redact", "ip_address": "warn"},
                     "patterns": [{"name": "project-x", "regex": "PROJECT-X-[0-9]+", "action": "block"}]},
      "cache": {"ttl_seconds": 3600, "max_bytes": 268435456},
      "allow_pause_minutes": 30,
      "apps": {"curl": {"models": {"allow": ["gpt-4o-mini"]}, "rate_limits": [{"rpm": 5}]}}
    },
    "engineering": {
      "mode": "monitor",
      "fail_mode": "open",
      "models": {"deny": ["*-preview"]}
    }
  }
})";
    return QJsonDocument::fromJson(text).object();
}

}  // namespace airlock
