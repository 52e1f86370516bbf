#include "core/config/config.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcessEnvironment>
#include <QRegularExpression>
#include <QStandardPaths>

namespace airlock {

namespace {

QString expandEnv(const QString &value)
{
    static const QRegularExpression var(QStringLiteral(R"(\$\{([A-Za-z_][A-Za-z0-9_]*)\})"));
    if (!value.contains(QLatin1String("${"))) return value;
    QString out;
    qsizetype last = 0;
    auto it = var.globalMatch(value);
    while (it.hasNext()) {
        const auto m = it.next();
        out += QStringView(value).mid(last, m.capturedStart() - last);
        out += qEnvironmentVariable(m.captured(1).toUtf8().constData());
        last = m.capturedEnd();
    }
    out += QStringView(value).mid(last);
    return out;
}

bool readInt(const QJsonObject &obj, const char *key, qint64 min, qint64 max, qint64 *out,
             QString *error)
{
    const QJsonValue v = obj.value(QLatin1String(key));
    if (v.isUndefined()) return true;
    if (!v.isDouble() || v.toDouble() != double(qint64(v.toDouble()))) {
        *error = QStringLiteral("limits.%1 must be an integer").arg(QLatin1String(key));
        return false;
    }
    const qint64 n = qint64(v.toDouble());
    if (n < min || n > max) {
        *error = QStringLiteral("limits.%1 must be between %2 and %3")
                     .arg(QLatin1String(key)).arg(min).arg(max);
        return false;
    }
    *out = n;
    return true;
}

template <typename T>
bool readIntInto(const QJsonObject &obj, const char *key, qint64 min, qint64 max, T *field,
                 QString *error)
{
    qint64 v = *field;
    if (!readInt(obj, key, min, max, &v, error)) return false;
    *field = T(v);
    return true;
}

bool applyLimits(const QJsonObject &o, Limits *l, QString *error)
{
    constexpr qint64 kMaxMs = 24LL * 3600 * 1000;
    constexpr qint64 kMaxBytes = 4LL * 1024 * 1024 * 1024;
    return readIntInto(o, "max_header_bytes", 1024, 16 * 1024 * 1024, &l->maxHeaderBytes, error) &&
           readIntInto(o, "max_header_count", 8, 10000, &l->maxHeaderCount, error) &&
           readIntInto(o, "max_body_bytes", 1024, kMaxBytes, &l->maxBodyBytes, error) &&
           readIntInto(o, "max_response_capture_bytes", 1024, kMaxBytes,
                       &l->maxResponseCaptureBytes, error) &&
           readIntInto(o, "header_timeout_ms", 100, kMaxMs, &l->headerTimeoutMs, error) &&
           readIntInto(o, "body_timeout_ms", 100, kMaxMs, &l->bodyTimeoutMs, error) &&
           readIntInto(o, "idle_timeout_ms", 100, kMaxMs, &l->idleTimeoutMs, error) &&
           readIntInto(o, "upstream_connect_timeout_ms", 100, kMaxMs,
                       &l->upstreamConnectTimeoutMs, error) &&
           readIntInto(o, "upstream_first_byte_timeout_ms", 100, kMaxMs,
                       &l->upstreamFirstByteTimeoutMs, error) &&
           readIntInto(o, "upstream_idle_timeout_ms", 100, kMaxMs, &l->upstreamIdleTimeoutMs,
                       error) &&
           readIntInto(o, "upstream_pool_idle_ms", 100, kMaxMs, &l->upstreamPoolIdleMs, error) &&
           readIntInto(o, "max_connections", 1, 1000000, &l->maxConnections, error) &&
           readIntInto(o, "client_write_high_water_bytes", 4096, kMaxBytes,
                       &l->clientWriteHighWaterBytes, error);
}

bool parseBaseUrl(const QString &text, QUrl *out, QString *error)
{
    QUrl url(text, QUrl::StrictMode);
    const QString scheme = url.scheme();
    if (!url.isValid() || (scheme != QLatin1String("http") && scheme != QLatin1String("https")) ||
        url.host().isEmpty()) {
        *error = QStringLiteral("'%1' is not an http(s) base URL (e.g. https://api.openai.com)")
                     .arg(text);
        return false;
    }
    if (url.hasQuery() || url.hasFragment()) {
        *error = QStringLiteral("base URL '%1' must not have a query or fragment").arg(text);
        return false;
    }
    QString path = url.path();
    while (path.endsWith(QLatin1Char('/'))) path.chop(1);
    url.setPath(path);
    *out = url;
    return true;
}

bool applyProvider(const QJsonObject &o, ProviderConfig *p, QString *error)
{
    p->name = expandEnv(o.value(QLatin1String("name")).toString());
    static const QRegularExpression nameRe(QStringLiteral("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"));
    if (!nameRe.match(p->name).hasMatch()) {
        *error = QStringLiteral("providers[].name '%1' must be 1-64 letters, digits, '.', '_' or '-'")
                     .arg(p->name);
        return false;
    }
    p->format = wireFormatFromName(o.value(QLatin1String("format")).toString().toUtf8());
    if (p->format == WireFormat::Unknown) {
        *error = QStringLiteral("provider '%1': format must be openai, anthropic or gemini")
                     .arg(p->name);
        return false;
    }
    if (!parseBaseUrl(expandEnv(o.value(QLatin1String("base_url")).toString()), &p->baseUrl,
                      error)) {
        *error = QStringLiteral("provider '%1': %2").arg(p->name, *error);
        return false;
    }
    const QJsonValue auth = o.value(QLatin1String("auth"));
    QString mode = QStringLiteral("passthrough");
    if (auth.isString()) mode = auth.toString();
    else if (auth.isObject()) {
        mode = auth.toObject().value(QLatin1String("mode")).toString(mode);
        p->keyEnv = auth.toObject().value(QLatin1String("key_env")).toString();
    } else if (!auth.isUndefined()) {
        *error = QStringLiteral("provider '%1': auth must be \"passthrough\", \"inject\" or an object")
                     .arg(p->name);
        return false;
    }
    if (o.contains(QLatin1String("key_env")))
        p->keyEnv = o.value(QLatin1String("key_env")).toString();
    if (mode == QLatin1String("passthrough")) p->auth = AuthMode::Passthrough;
    else if (mode == QLatin1String("inject")) p->auth = AuthMode::Inject;
    else {
        *error = QStringLiteral("provider '%1': auth mode '%2' is not passthrough or inject")
                     .arg(p->name, mode);
        return false;
    }
    return true;
}

bool readRouteInt(const QJsonObject &o, const char *key, qint64 min, qint64 max, int *field,
                  const QString &where, QString *error) {
    qint64 v = *field;
    if (!readInt(o, key, min, max, &v, error)) {
        error->replace(QLatin1String("limits."), where + QLatin1Char('.'));
        return false;
    }
    *field = int(v);
    return true;
}

bool applyRoute(const QString &name, const QJsonValue &value,
                const QList<ProviderConfig> &providers, RouteConfig *route, QString *error) {
    constexpr qint64 kMaxMs = 24LL * 3600 * 1000;
    constexpr int kMaxTargets = 64;  // the router tracks tried targets in a 64-bit mask
    const QString where = QStringLiteral("routes.%1").arg(name);
    if (!value.isObject()) {
        *error = where + QStringLiteral(" must be an object with \"targets\"");
        return false;
    }
    const QJsonObject o = value.toObject();
    route->name = name;
    const QString strategy =
        o.value(QLatin1String("strategy")).toString(QStringLiteral("fallback"));
    if (!routeStrategyFromName(strategy, &route->strategy)) {
        *error = where + QStringLiteral(
                             ".strategy '%1' is not fallback, weighted, latency, "
                             "least_inflight, cheapest or hash")
                             .arg(strategy);
        return false;
    }
    route->hashKey = expandEnv(o.value(QLatin1String("hash_key")).toString(QStringLiteral("app")));
    if (route->hashKey != QLatin1String("app") &&
        !(route->hashKey.startsWith(QLatin1String("header:")) && route->hashKey.size() > 7)) {
        *error = where + QStringLiteral(".hash_key must be \"app\" or \"header:<name>\"");
        return false;
    }
    const QJsonValue targets = o.value(QLatin1String("targets"));
    if (!targets.isArray() || targets.toArray().isEmpty() ||
        targets.toArray().size() > kMaxTargets) {
        *error =
            where + QStringLiteral(".targets must be an array of 1-%1 targets").arg(kMaxTargets);
        return false;
    }
    for (const QJsonValue &tv : targets.toArray()) {
        const QJsonObject to = tv.toObject();
        RouteTarget t;
        t.provider = expandEnv(to.value(QLatin1String("provider")).toString());
        t.model = expandEnv(to.value(QLatin1String("model")).toString());
        bool known = false;
        for (const ProviderConfig &p : providers) known = known || p.name == t.provider;
        if (!known) {
            *error =
                where + QStringLiteral(".targets: provider '%1' is not configured").arg(t.provider);
            return false;
        }
        if (t.model.isEmpty()) {
            *error = where + QStringLiteral(".targets: every target needs a \"model\"");
            return false;
        }
        if (!readRouteInt(to, "weight", 1, 1000000, &t.weight, where, error) ||
            !readRouteInt(to, "connect_timeout_ms", 0, kMaxMs, &t.connectTimeoutMs, where, error) ||
            !readRouteInt(to, "first_byte_timeout_ms", 0, kMaxMs, &t.firstByteTimeoutMs, where,
                          error) ||
            !readRouteInt(to, "idle_timeout_ms", 0, kMaxMs, &t.idleTimeoutMs, where, error))
            return false;
        route->targets.append(t);
    }
    const QJsonObject retry = o.value(QLatin1String("retry")).toObject();
    const QJsonObject circuit = o.value(QLatin1String("circuit")).toObject();
    return readRouteInt(retry, "max_attempts", 1, 10, &route->retry.maxAttempts,
                        where + QStringLiteral(".retry"), error) &&
           readRouteInt(retry, "backoff_ms", 0, 60000, &route->retry.backoffMs,
                        where + QStringLiteral(".retry"), error) &&
           readRouteInt(retry, "max_backoff_ms", 0, 600000, &route->retry.maxBackoffMs,
                        where + QStringLiteral(".retry"), error) &&
           readRouteInt(retry, "deadline_ms", 100, kMaxMs, &route->retry.deadlineMs,
                        where + QStringLiteral(".retry"), error) &&
           readRouteInt(circuit, "failure_threshold", 1, 1000, &route->circuit.failureThreshold,
                        where + QStringLiteral(".circuit"), error) &&
           readRouteInt(circuit, "cooldown_ms", 0, kMaxMs, &route->circuit.cooldownMs,
                        where + QStringLiteral(".circuit"), error);
}

}  // namespace

Config Config::defaults()
{
    Config c;
    auto add = [&c](const char *name, WireFormat f, const char *url) {
        ProviderConfig p;
        p.name = QLatin1String(name);
        p.format = f;
        p.baseUrl = QUrl(QLatin1String(url));
        c.providers.append(p);
    };
    add("openai", WireFormat::OpenAI, "https://api.openai.com");
    add("anthropic", WireFormat::Anthropic, "https://api.anthropic.com");
    add("gemini", WireFormat::Gemini, "https://generativelanguage.googleapis.com");
    c.sourceDescription = QStringLiteral("built-in defaults");
    return c;
}

const ProviderConfig *Config::defaultProviderFor(WireFormat format) const
{
    for (const ProviderConfig &p : providers)
        if (p.format == format) return &p;
    return nullptr;
}

const ProviderConfig *Config::providerByName(QStringView name) const
{
    for (const ProviderConfig &p : providers)
        if (p.name == name) return &p;
    return nullptr;
}

bool applyConfigJson(const QJsonObject &json, Config *config, QString *error)
{
    if (json.contains(QLatin1String("listen"))) {
        if (!parseListenAddress(json.value(QLatin1String("listen")).toString(),
                                &config->listenAddress, &config->listenPort, error))
            return false;
    }
    if (json.contains(QLatin1String("limits"))) {
        if (!json.value(QLatin1String("limits")).isObject()) {
            *error = QStringLiteral("limits must be an object");
            return false;
        }
        if (!applyLimits(json.value(QLatin1String("limits")).toObject(), &config->limits, error))
            return false;
    }
    if (json.contains(QLatin1String("providers"))) {
        const QJsonValue v = json.value(QLatin1String("providers"));
        if (!v.isArray()) {
            *error = QStringLiteral("providers must be an array");
            return false;
        }
        QList<ProviderConfig> list;
        for (const QJsonValue &item : v.toArray()) {
            if (!item.isObject()) {
                *error = QStringLiteral("providers[] entries must be objects");
                return false;
            }
            ProviderConfig p;
            if (!applyProvider(item.toObject(), &p, error)) return false;
            for (const ProviderConfig &q : list) {
                if (q.name == p.name) {
                    *error = QStringLiteral("provider name '%1' is used twice").arg(p.name);
                    return false;
                }
            }
            list.append(p);
        }
        config->providers = list;
    }
    if (json.contains(QLatin1String("routes"))) {
        const QJsonValue v = json.value(QLatin1String("routes"));
        if (!v.isObject()) {
            *error =
                QStringLiteral("routes must be an object of model -> {strategy, targets, retry}");
            return false;
        }
        QList<RouteConfig> routes;
        const QJsonObject obj = v.toObject();
        for (auto it = obj.begin(); it != obj.end(); ++it) {
            RouteConfig r;
            if (!applyRoute(it.key(), it.value(), config->providers, &r, error)) return false;
            routes.append(r);
        }
        config->routes = routes;
    }
    if (json.contains(QLatin1String("prices"))) {
        if (!json.value(QLatin1String("prices")).isObject()) {
            *error = QStringLiteral("prices must be an object of model -> {input, output}");
            return false;
        }
        const QJsonObject prices = json.value(QLatin1String("prices")).toObject();
        for (auto it = prices.begin(); it != prices.end(); ++it)
            config->priceOverrides.insert(it.key(), it.value());
    }
    if (json.contains(QLatin1String("intercept_hosts"))) {
        const QJsonValue v = json.value(QLatin1String("intercept_hosts"));
        if (!v.isArray()) {
            *error = QStringLiteral("intercept_hosts must be an array of host names");
            return false;
        }
        for (const QJsonValue &h : v.toArray()) {
            const QString host = h.toString().trimmed().toLower();
            if (!h.isString() || host.isEmpty() || host.contains(QLatin1Char('/')) ||
                host.contains(QLatin1Char(':')) || host.contains(QLatin1Char(' '))) {
                *error = QStringLiteral("intercept_hosts entries must be plain host names");
                return false;
            }
            if (!config->interceptHosts.contains(host)) config->interceptHosts.append(host);
        }
    }
    if (json.contains(QLatin1String("ledger"))) {
        const QJsonObject ledger = json.value(QLatin1String("ledger")).toObject();
        qint64 ms = config->ledgerFlushIntervalMs;
        if (!readInt(ledger, "flush_interval_ms", 1, 1000, &ms, error)) {
            error->replace(QLatin1String("limits."), QLatin1String("ledger."));
            return false;
        }
        config->ledgerFlushIntervalMs = int(ms);
    }
    return true;
}

bool loadConfigFile(const QString &path, Config *config, QString *error)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("%1: %2").arg(path, file.errorString());
        return false;
    }
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        *error = QStringLiteral("%1: invalid JSON at offset %2: %3")
                     .arg(path)
                     .arg(parseError.offset)
                     .arg(parseError.errorString());
        return false;
    }
    if (!doc.isObject()) {
        *error = QStringLiteral("%1: the config must be a JSON object").arg(path);
        return false;
    }
    QString inner;
    if (!applyConfigJson(doc.object(), config, &inner)) {
        *error = QStringLiteral("%1: %2").arg(path, inner);
        return false;
    }
    config->sourceDescription = config->sourceDescription == QLatin1String("built-in defaults")
                                    ? path
                                    : config->sourceDescription + QStringLiteral(" + ") + path;
    return true;
}

bool applyUpstreamFlag(const QString &spec, Config *config, QString *error)
{
    const qsizetype eq = spec.indexOf(QLatin1Char('='));
    if (eq <= 0) {
        *error = QStringLiteral("--upstream wants FORMAT=BASE_URL, got '%1'").arg(spec);
        return false;
    }
    const WireFormat format = wireFormatFromName(spec.left(eq).toUtf8());
    if (format == WireFormat::Unknown) {
        *error = QStringLiteral("--upstream: format '%1' is not openai, anthropic or gemini")
                     .arg(spec.left(eq));
        return false;
    }
    QUrl url;
    if (!parseBaseUrl(spec.mid(eq + 1), &url, error)) {
        *error = QStringLiteral("--upstream: %1").arg(*error);
        return false;
    }
    for (ProviderConfig &p : config->providers) {
        if (p.format == format) {
            p.baseUrl = url;
            return true;
        }
    }
    ProviderConfig p;
    p.name = QString::fromUtf8(wireFormatName(format));
    p.format = format;
    p.baseUrl = url;
    config->providers.append(p);
    return true;
}

bool parseListenAddress(const QString &text, QHostAddress *address, quint16 *port, QString *error)
{
    const qsizetype colon = text.lastIndexOf(QLatin1Char(':'));
    bool ok = false;
    const uint p = colon > 0 ? text.mid(colon + 1).toUInt(&ok) : 0;
    QString host = colon > 0 ? text.left(colon) : QString();
    if (host.startsWith(QLatin1Char('[')) && host.endsWith(QLatin1Char(']')))
        host = host.mid(1, host.size() - 2);
    QHostAddress a;
    if (host == QLatin1String("localhost")) a = QHostAddress(QHostAddress::LocalHost);
    else a = QHostAddress(host);
    if (!ok || p > 65535 || a.isNull()) {
        *error = QStringLiteral("listen address '%1' must be IP:PORT, e.g. 127.0.0.1:8484").arg(text);
        return false;
    }
    *address = a;
    *port = quint16(p);
    return true;
}

QString defaultDataDir()
{
    return QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) +
           QStringLiteral("/airlock");
}

QString defaultUserConfigPath()
{
    return QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation) +
           QStringLiteral("/airlock/config.json");
}

QString managedConfigPath()
{
    const QString over = qEnvironmentVariable("AIRLOCK_MANAGED_CONFIG");
    return over.isEmpty() ? QStringLiteral("/etc/airlock/managed.json") : over;
}

}  // namespace airlock
