#include "core/policy/policy_enforcer.h"

#include "core/api/event_bus.h"
#include "core/guard/request_guard.h"
#include "core/policy/policy_signature.h"
#include "core/providers/json_scan.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>

namespace airlock {

namespace {

constexpr int kMaxCacheTtlSeconds = 30 * 24 * 3600;
constexpr qint64 kDefaultCacheBytes = 64LL * 1024 * 1024;
constexpr qint64 kMaxCacheBytes = 64LL * 1024 * 1024 * 1024;

QString iso(const QDateTime &t) {
    return t.isValid() ? t.toUTC().toString(Qt::ISODate) : QString();
}

const char *maxTokensField(EndpointKind kind, bool hasMaxCompletionTokens) {
    switch (kind) {
        case EndpointKind::ChatCompletions:
            return hasMaxCompletionTokens ? "max_completion_tokens" : "max_tokens";
        case EndpointKind::Completions:
        case EndpointKind::Messages:
            return "max_tokens";
        case EndpointKind::Responses:
            return "max_output_tokens";
        default:
            return nullptr;
    }
}

PolicyVerdict refusal(ErrorKind kind, const QString &message, const QByteArray &code,
                      const QString &outcome, const QString &rule) {
    PolicyVerdict v;
    v.allow = false;
    v.errorKind = kind;
    v.message = message;
    v.errorCode = code;
    v.outcome = outcome;
    v.rule = rule;
    return v;
}

// The profile's "cache" object: {"ttl_seconds": N, "max_bytes": N, "scope": "device"|"app"}.
void applyCacheRules(const QJsonObject &cache, PolicyVerdict *verdict) {
    if (cache.isEmpty()) return;
    const double ttl = cache.value(QLatin1String("ttl_seconds")).toDouble(0);
    if (ttl < 1) return;
    const double maxBytes = cache.value(QLatin1String("max_bytes")).toDouble(0);
    verdict->cacheTtlSeconds = int(std::min(ttl, double(kMaxCacheTtlSeconds)));
    verdict->cacheMaxBytes =
        maxBytes >= 1 ? qint64(std::min(maxBytes, double(kMaxCacheBytes))) : kDefaultCacheBytes;
    verdict->cachePerApp = cache.value(QLatin1String("scope")).toString() == QLatin1String("app");
}

}  // namespace

PolicyEnforcer::PolicyEnforcer(PolicyConfig config, PriceTable prices, EventBus *events,
                               BudgetBook::Clock budgetClock, RateLimiter::Clock rateClock)
    : m_config(std::move(config)),
      m_prices(std::move(prices)),
      m_events(events),
      m_now([] { return QDateTime::currentDateTimeUtc(); }),
      m_budgets(std::move(budgetClock)),
      m_rates(std::move(rateClock)) {}

bool PolicyEnforcer::acceptEnvelope(const QByteArray &envelope, const QString &source,
                                    QString *error, qint64 *version) {
    SignedEnvelope env;
    auto reject = [&](const QString &why) {
        *error = why;
        m_lastRejected = true;
        return false;
    };
    if (!parseEnvelope(envelope, &env, error)) return reject(*error);
    if (!verifyEnvelope(env, m_config.trustedKeys, error)) return reject(*error);
    auto bundle = std::make_shared<PolicyBundle>();
    QString schemaError;
    if (!parsePolicyBundle(env.payload, bundle.get(), &schemaError))
        return reject(QStringLiteral("schema: ") + schemaError);
    if (version) *version = bundle->version;
    if (m_bundle) {
        if (bundle->version < m_bundle->version)
            return reject(
                QStringLiteral("rollback refused: version %1 is older than version %2 in force")
                    .arg(bundle->version)
                    .arg(m_bundle->version));
        if (bundle->version == m_bundle->version) {
            if (bundle->json != m_bundle->json)
                return reject(
                    QStringLiteral("version %1 is already in force with different content; "
                                   "publish a higher version")
                        .arg(bundle->version));
            m_fetchedAt = m_now();
            m_lastRejected = false;
            return true;  // the same bundle again
        }
    }
    if (bundle->expiresAt <= m_now())
        return reject(QStringLiteral("the bundle (version %1) expired at %2")
                          .arg(bundle->version)
                          .arg(iso(bundle->expiresAt)));
    QHash<const Profile *, std::shared_ptr<ContentScanner>> scanners;
    for (const Profile *p : bundle->allProfiles())
        scanners.insert(p, std::make_shared<ContentScanner>(p->guardrails));
    m_bundle = std::move(bundle);
    m_scanners = std::move(scanners);
    m_envelope = envelope;
    m_source = source;
    m_fetchedAt = m_now();
    m_lastRejected = false;
    if (m_events)
        m_events->notify("policy", QJsonObject{{QStringLiteral("version"), m_bundle->version},
                                               {QStringLiteral("source"), source},
                                               {QStringLiteral("state"), state()}});
    return true;
}

void PolicyEnforcer::noteSync(bool ok, const QString &error) {
    m_lastSyncAt = m_now();
    m_lastSyncError = ok ? QString() : error;
}

bool PolicyEnforcer::expired() const {
    return m_bundle && m_bundle->expiresAt <= m_now();
}

QString PolicyEnforcer::state() const {
    if (!m_bundle) return m_lastRejected ? QStringLiteral("rejected") : QStringLiteral("none");
    if (expired()) return QStringLiteral("expired");
    if (m_lastRejected)
        return QStringLiteral("rejected");  // a newer bundle was refused; this one holds
    if (!m_lastSyncError.isEmpty()) return QStringLiteral("stale");
    return QStringLiteral("active");
}

const Profile *PolicyEnforcer::profileFor(const QString &app) const {
    if (!m_bundle) return nullptr;
    if (const Profile *p = m_bundle->profileFor(m_config.group, app)) return p;
    return m_bundle->profileFor(QStringLiteral("default"), app);
}

QJsonObject PolicyEnforcer::statusJson() const {
    const Profile *p = profileFor(QString());
    QJsonObject o{
        {QStringLiteral("state"), state()},
        {QStringLiteral("version"), m_bundle ? m_bundle->version : 0},
        {QStringLiteral("source"), m_source},
        {QStringLiteral("issued_at"), m_bundle ? iso(m_bundle->issuedAt) : QString()},
        {QStringLiteral("expires_at"), m_bundle ? iso(m_bundle->expiresAt) : QString()},
        {QStringLiteral("fetched_at"), iso(m_fetchedAt)},
        {QStringLiteral("last_sync_at"), iso(m_lastSyncAt)},
        {QStringLiteral("last_sync_error"), m_lastSyncError},
        {QStringLiteral("profile"), p ? p->name : QString()},
        {QStringLiteral("mode"), p ? (p->mode == PolicyMode::Monitor ? QStringLiteral("monitor")
                                                                     : QStringLiteral("enforce"))
                                   : QString()},
        {QStringLiteral("url"), m_config.url.toString()},
        {QStringLiteral("group"), m_config.group},
        {QStringLiteral("fail_mode"),
         m_config.failMode == FailMode::Open ? QStringLiteral("open") : QStringLiteral("closed")}};
    o.insert(QStringLiteral("bundle"), m_bundle ? QJsonValue(m_bundle->json) : QJsonValue());
    return o;
}

QJsonObject PolicyEnforcer::budgetsJson() const {
    QJsonArray list;
    const Profile *base = profileFor(QString());
    if (base) {
        const QStringList apps = m_budgets.knownApps();
        QList<BudgetBook::Status> all;
        // Per-app overrides may carry their own budgets: report each app under its own profile.
        for (const QString &app : apps) {
            const Profile *p = profileFor(app);
            for (const BudgetBook::Status &s : m_budgets.status(*p, {app}))
                if (s.scope == QLatin1String("app")) all.append(s);
        }
        for (const BudgetBook::Status &s : m_budgets.status(*base, {}))
            if (s.scope == QLatin1String("device")) all.append(s);
        for (const BudgetBook::Status &s : all) {
            list.append(QJsonObject{
                {QStringLiteral("profile"), s.profile},
                {QStringLiteral("scope"), s.scope},
                {QStringLiteral("app"), s.app},
                {QStringLiteral("period"), s.period},
                {QStringLiteral("models"), QJsonArray::fromStringList(s.models)},
                {QStringLiteral("limit_usd"),
                 s.limitUsd > 0 ? QJsonValue(s.limitUsd) : QJsonValue()},
                {QStringLiteral("spent_usd"), s.spentUsd},
                {QStringLiteral("limit_tokens"),
                 s.limitTokens > 0 ? QJsonValue(s.limitTokens) : QJsonValue()},
                {QStringLiteral("spent_tokens"), s.spentTokens},
                {QStringLiteral("warn_at"), s.warnAt > 0 ? QJsonValue(s.warnAt) : QJsonValue()},
                {QStringLiteral("state"), s.state},
                {QStringLiteral("resets_at"), iso(s.resetsAt)}});
        }
    }
    return QJsonObject{{QStringLiteral("budgets"), list}};
}

bool PolicyEnforcer::bundleUsesCache() const {
    if (!m_bundle) return false;
    const QList<const Profile *> all = m_bundle->allProfiles();
    return std::any_of(all.cbegin(), all.cend(),
                       [](const Profile *p) { return !p->cache.isEmpty(); });
}

void PolicyEnforcer::evaluate(PolicyInput &input, std::function<void(PolicyVerdict)> done) {
    done(decide(input));
}

PolicyVerdict PolicyEnforcer::decide(PolicyInput &input) {
    const bool haveBundle = m_bundle && !expired();
    const Profile *profile = haveBundle ? profileFor(input.app) : nullptr;
    if (!profile) {
        // Never fetched, expired, or no profile for this device: the fail mode decides.
        FailMode mode = m_config.failMode;
        if (m_bundle) {
            if (const Profile *p = profileFor(input.app)) mode = p->failMode;
        }
        const QString why =
            !m_bundle ? QStringLiteral("no policy bundle has been received yet")
            : expired()
                ? QStringLiteral("the policy bundle (version %1) expired at %2")
                      .arg(m_bundle->version)
                      .arg(iso(m_bundle->expiresAt))
                : QStringLiteral("the policy has no profile '%1' or 'default'").arg(m_config.group);
        if (mode == FailMode::Open) {
            PolicyVerdict v;
            v.rule = QStringLiteral("fail_open");
            return v;
        }
        return refusal(
            ErrorKind::Unavailable,
            QStringLiteral("Airlock policy is unavailable (%1) and this device fails closed. "
                           "Run 'airlockctl policy sync' or contact your administrator.")
                .arg(why),
            "policy_unavailable", QStringLiteral("policy_unavailable"),
            QStringLiteral("fail_closed"));
    }
    const bool monitor = profile->mode == PolicyMode::Monitor;
    PolicyVerdict verdict;
    verdict.profile = profile->name;
    QStringList monitorRules;
    // In monitor mode a would-be refusal is only noted; the request goes on untouched.
    auto refuseOrNote = [&](PolicyVerdict r) -> bool {
        if (!monitor) {
            r.profile = profile->name;
            verdict = r;
            return true;
        }
        monitorRules.append(r.rule);
        return false;
    };

    QByteArray model = input.model;
    QByteArray *body = input.body;
    const bool jsonBody = body && !body->isEmpty() && input.kind != EndpointKind::Passthrough &&
                          input.kind != EndpointKind::Models;
    qint64 maxTokens = input.maxTokens;

    // 1. Models: alias rewrite, allow/deny, max_tokens cap (one parse of the body).
    const ModelRules &mr = profile->models;
    if (!model.isEmpty()) {
        const auto alias = mr.aliases.constFind(QString::fromUtf8(model));
        // The alias and the max_tokens cap are byte edits of the client's JSON, not a parse and
        // re-print: key order and every other byte stay as sent, and a 1 MB body costs one scan.
        namespace js = json_scan;
        QList<js::Member> members;
        qsizetype open = -1;
        bool changed = false;
        bool parsed = false;
        if (jsonBody && input.format != WireFormat::Gemini &&
            (alias != mr.aliases.cend() || mr.maxTokens > 0)) {
            open = js::skipWhitespace(*body, 0);
            parsed = open < body->size() && body->at(open) == '{' &&
                     js::objectMembers(*body, open, &members);
        }
        struct Edit {
            qsizetype begin, end;
            QByteArray text;
        };
        QList<Edit> edits;
        if (alias != mr.aliases.cend() && !monitor && parsed) {
            const js::Member *m = js::findMember(members, "model");
            if (m && body->at(m->valueBegin) == '"') {
                const QByteArray quoted =
                    QJsonDocument(QJsonArray{alias.value()}).toJson(QJsonDocument::Compact);
                edits.append({m->valueBegin, m->valueEnd, quoted.mid(1, quoted.size() - 2)});
                model = alias.value().toUtf8();
                changed = true;
            }
        }
        const QString m = QString::fromUtf8(model);
        if (anyGlobMatches(mr.deny, m) || (!mr.allow.isEmpty() && !anyGlobMatches(mr.allow, m))) {
            if (refuseOrNote(refusal(
                    ErrorKind::PermissionDenied,
                    QStringLiteral("Model '%1' is not allowed by Airlock policy (profile %2%3). "
                                   "Use an allowed model or ask your administrator.")
                        .arg(
                            m, profile->name,
                            input.app.isEmpty() ? QString() : QStringLiteral(", app ") + input.app),
                    "model_not_allowed", QStringLiteral("blocked"), QStringLiteral("models:") + m)))
                return verdict;
        }
        if (mr.maxTokens > 0 && parsed && !monitor) {
            const bool hasCompletion = js::findMember(members, "max_completion_tokens") != nullptr;
            if (const char *field = maxTokensField(input.kind, hasCompletion)) {
                const js::Member *cur = js::findMember(members, field);
                bool over = true;
                if (cur) {
                    bool ok = false;
                    const double v = QByteArray::fromRawData(body->constData() + cur->valueBegin,
                                                             cur->valueEnd - cur->valueBegin)
                                         .toDouble(&ok);
                    over = !ok || v > double(mr.maxTokens);
                }
                if (over) {
                    const QByteArray cap = QByteArray::number(mr.maxTokens);
                    if (cur)
                        edits.append({cur->valueBegin, cur->valueEnd, cap});
                    else
                        edits.append({open + 1, open + 1,
                                      '"' + QByteArray(field) + "\":" + cap +
                                          (members.isEmpty() ? "" : ",")});
                    maxTokens = mr.maxTokens;
                    changed = true;
                }
            }
        }
        if (changed) {
            // Back to front, so earlier offsets stay valid.
            std::sort(edits.begin(), edits.end(),
                      [](const Edit &a, const Edit &b) { return a.begin > b.begin; });
            for (const Edit &e : edits) body->replace(e.begin, e.end - e.begin, e.text);
            verdict.bodyRewritten = true;
            verdict.model = model;
            verdict.maxTokens = maxTokens;
        }
    }

    // 2. Guardrails on every text part; fail closed when the body cannot be scanned.
    const auto scanner = m_scanners.value(profile);
    if (scanner && !scanner->isEmpty() && jsonBody) {
        const GuardOutcome g = guardRequestBody(*scanner, body, !monitor);
        if (!g.parsed) {
            if (refuseOrNote(refusal(
                    ErrorKind::PermissionDenied,
                    QStringLiteral("Airlock could not read the request body to apply content "
                                   "guardrails, so it was blocked."),
                    "guardrail_unscannable", QStringLiteral("blocked"),
                    QStringLiteral("guardrail:unscannable"))))
                return verdict;
        } else if (g.blocked) {
            // Names the detector and where, never the matched text.
            if (refuseOrNote(refusal(
                    ErrorKind::PermissionDenied,
                    QStringLiteral("Blocked by Airlock content policy: the request contains %1 "
                                   "(in %2). Remove it and try again.")
                        .arg(
                            g.blockRule == QLatin1String("credit_card")
                                ? QStringLiteral("a credit card number")
                            : g.blockRule == QLatin1String("us_ssn")
                                ? QStringLiteral("a US social security number")
                            : g.blockRule == QLatin1String("api_key")
                                ? QStringLiteral("an API key or token")
                            : g.blockRule == QLatin1String("private_key")
                                ? QStringLiteral("a private key")
                            : g.blockRule == QLatin1String("iban") ? QStringLiteral("an IBAN")
                            : g.blockRule == QLatin1String("jwt")
                                ? QStringLiteral("a JSON Web Token")
                            : g.blockRule == QLatin1String("email")
                                ? QStringLiteral("an email address")
                            : g.blockRule == QLatin1String("phone")
                                ? QStringLiteral("a phone number")
                            : g.blockRule == QLatin1String("ip_address")
                                ? QStringLiteral("an IP address")
                                : QStringLiteral("text matching the '%1' pattern").arg(g.blockRule),
                            g.blockWhere.left(120)),
                    "guardrail_blocked", QStringLiteral("blocked"),
                    QStringLiteral("guardrail:") + g.blockRule)))
                return verdict;
        }
        if (g.parsed) {
            if (g.bodyChanged) verdict.bodyRewritten = verdict.bodyRedacted = true;
            QStringList noted;
            for (const QString &r : g.redactedRules) noted.append(QStringLiteral("redact:") + r);
            for (const QString &r : g.warnedRules) noted.append(QStringLiteral("warn:") + r);
            if (!noted.isEmpty()) {
                monitorRules.append(noted);
                verdict.responseHeaders.append(
                    {"x-airlock-guardrail", noted.join(QLatin1Char(',')).toUtf8()});
            }
        }
    }

    // 3. Rate limits (check all, then take all).
    const qint64 inputEstimate = jsonBody ? body->size() / kBytesPerTokenEstimate : 0;
    const qint64 outputEstimate =
        input.kind == EndpointKind::Embeddings || input.kind == EndpointKind::CountTokens
            ? 0
            : (maxTokens > 0 ? maxTokens : kDefaultOutputEstimateTokens);
    const qint64 tokenEstimate = inputEstimate + outputEstimate;
    const QString m = QString::fromUtf8(model);
    QList<RateLimiter::Slot> windowSlots;
    for (qsizetype i = 0; i < profile->rateLimits.size(); ++i) {
        const RateLimitRule &r = profile->rateLimits[i];
        if (!r.models.isEmpty() && !anyGlobMatches(r.models, m)) continue;
        windowSlots.append({QStringLiteral("%1|%2|%3")
                                .arg(profile->name)
                                .arg(i)
                                .arg(r.deviceScope ? QStringLiteral("*device*") : input.app),
                            &r});
    }
    if (!windowSlots.isEmpty()) {
        const RateLimiter::Check c = m_rates.acquire(input.requestId, windowSlots, tokenEstimate);
        if (!c.allowed) {
            PolicyVerdict r = refusal(
                ErrorKind::RateLimited,
                QStringLiteral("Rate limit of Airlock policy reached (%1, profile %2%3). "
                               "Retry in %4 s.")
                    .arg(c.limit == QLatin1String("rpm")   ? QStringLiteral("requests per minute")
                         : c.limit == QLatin1String("tpm") ? QStringLiteral("tokens per minute")
                                                           : QStringLiteral("concurrent requests"),
                         profile->name,
                         input.app.isEmpty() ? QString() : QStringLiteral(", app ") + input.app)
                    .arg(c.retryAfterSeconds),
                "rate_limit_exceeded", QStringLiteral("rate_limited"),
                QStringLiteral("rate_limit:") + c.limit);
            r.retryAfterSeconds = c.retryAfterSeconds;
            if (refuseOrNote(r)) return verdict;
        }
    }

    // 4. Budgets: reserve the estimate atomically; settle() swaps in the real spend.
    if (!profile->budgets.isEmpty()) {
        TokenUsage est;
        est.inputTokens = inputEstimate;
        est.outputTokens = outputEstimate;
        const double estUsd = m_prices.costUsd(model, est);
        const BudgetBook::Decision b = m_budgets.reserve(input.requestId, *profile, input.app, m,
                                                         estUsd, tokenEstimate, monitor);
        for (const QJsonObject &w : b.newWarnings)
            if (m_events) m_events->notify("budget", w);
        for (const QString &w : b.warnings)
            verdict.responseHeaders.append({"x-airlock-budget-warning", w.toUtf8()});
        if (!b.allowed) {
            m_rates.release(input.requestId, 0);
            PolicyVerdict r = refusal(ErrorKind::QuotaExceeded, b.message, "insufficient_quota",
                                      QStringLiteral("budget_exceeded"), b.rule);
            r.responseHeaders = verdict.responseHeaders;
            if (refuseOrNote(r)) return verdict;
        } else if (b.rule.startsWith(QLatin1String("monitor:"))) {
            monitorRules.append(b.rule.mid(8));
        } else if (!b.warnings.isEmpty() && verdict.rule.isEmpty()) {
            verdict.rule = QStringLiteral("budget:warn");
        }
    }
    if (!monitorRules.isEmpty())
        verdict.rule = (monitor ? QStringLiteral("monitor:") : QString()) +
                       monitorRules.join(QLatin1Char(','));
    applyCacheRules(profile->cache, &verdict);
    return verdict;
}

void PolicyEnforcer::settle(const QByteArray &requestId, const UsageRecord &record) {
    // An answer replayed from the response cache cost nothing: it releases its reservation and
    // spends no budget (its tokens stay in the ledger row for the record).
    const bool cacheHit = record.rule.split(QLatin1Char(',')).contains(QLatin1String("cache:hit"));
    const qint64 tokens = cacheHit ? 0 : record.inputTokens + record.outputTokens;
    m_rates.release(requestId, tokens);
    m_budgets.settle(requestId, record.tsMs, record.app, record.model,
                     cacheHit ? 0.0 : record.costUsd, tokens);
    if (m_settleHook) m_settleHook(record);
}

}  // namespace airlock
