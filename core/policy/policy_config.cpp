#include "core/policy/policy_config.h"

#include "core/config/config.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>

namespace airlock {

namespace {
constexpr int kMinPollSeconds = 10;
constexpr int kMaxPollSeconds = 7 * 86400;
constexpr int kMaxUsageBatch = 10'000;
constexpr qint64 kMaxKeyFileBytes = 16 * 1024;

bool readObject(const QString &path, QJsonObject *out, QString *error) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("%1: %2").arg(path, f.errorString());
        return false;
    }
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &pe);
    if (pe.error != QJsonParseError::NoError || !doc.isObject()) {
        *error = QStringLiteral("%1: not a JSON object").arg(path);
        return false;
    }
    *out = doc.object();
    return true;
}
}  // namespace

bool applyPolicyConfigJson(const QJsonObject &config, bool trustKeys, const QString &baseDir,
                           PolicyConfig *out, QString *error) {
    if (config.contains(QLatin1String("usage_upload"))) {
        const QJsonObject u = config.value(QLatin1String("usage_upload")).toObject();
        out->usageUrl = QUrl(u.value(QLatin1String("url")).toString());
        if (!out->usageUrl.isValid() || !out->usageUrl.scheme().startsWith(QLatin1String("http"))) {
            *error = QStringLiteral("usage_upload.url must be an http(s) URL");
            return false;
        }
        const int batch = u.value(QLatin1String("batch")).toInt(out->usageBatch);
        if (batch < 1 || batch > kMaxUsageBatch) {
            *error = QStringLiteral("usage_upload.batch must be 1..%1").arg(kMaxUsageBatch);
            return false;
        }
        out->usageBatch = batch;
    }
    if (!config.contains(QLatin1String("policy"))) return true;
    const QJsonValue pv = config.value(QLatin1String("policy"));
    if (!pv.isObject()) {
        *error = QStringLiteral("policy must be an object");
        return false;
    }
    const QJsonObject p = pv.toObject();
    out->configured = true;
    for (auto it = p.begin(); it != p.end(); ++it) {
        const QString k = it.key();
        const QJsonValue v = it.value();
        if (k == QLatin1String("url")) {
            out->url = QUrl(v.toString());
            if (!out->url.isValid() || (out->url.scheme() != QLatin1String("https") &&
                                        out->url.scheme() != QLatin1String("http"))) {
                *error = QStringLiteral("policy.url must be an https URL");
                return false;
            }
        } else if (k == QLatin1String("trusted_keys")) {
            if (!trustKeys) {
                qWarning(
                    "airlockd: policy.trusted_keys in the user config is ignored; trust anchors "
                    "come from the managed config");
                continue;
            }
            if (!v.isArray()) {
                *error = QStringLiteral(
                    "policy.trusted_keys must be an array of PEM texts or file paths");
                return false;
            }
            out->trustedKeys.clear();
            for (const QJsonValue &kv : v.toArray()) {
                const QString s = kv.toString();
                if (s.startsWith(QLatin1String("-----BEGIN"))) {
                    out->trustedKeys.append(s.toUtf8());
                    continue;
                }
                const QString path = QDir(baseDir).absoluteFilePath(s);
                QFile f(path);
                if (s.isEmpty() || !f.open(QIODevice::ReadOnly) || f.size() > kMaxKeyFileBytes) {
                    *error = QStringLiteral("policy.trusted_keys: cannot read %1").arg(path);
                    return false;
                }
                out->trustedKeys.append(f.readAll());
            }
        } else if (k == QLatin1String("poll_seconds")) {
            const int s = v.toInt(-1);
            if (s < kMinPollSeconds || s > kMaxPollSeconds) {
                *error = QStringLiteral("policy.poll_seconds must be %1..%2")
                             .arg(kMinPollSeconds)
                             .arg(kMaxPollSeconds);
                return false;
            }
            out->pollSeconds = s;
        } else if (k == QLatin1String("token_env")) {
            out->tokenEnv = v.toString();
        } else if (k == QLatin1String("group")) {
            out->group = v.toString();
            if (out->group.isEmpty()) {
                *error = QStringLiteral("policy.group must name a profile");
                return false;
            }
        } else if (k == QLatin1String("fail_mode")) {
            if (v.toString() == QLatin1String("open"))
                out->failMode = FailMode::Open;
            else if (v.toString() == QLatin1String("closed"))
                out->failMode = FailMode::Closed;
            else {
                *error = QStringLiteral("policy.fail_mode must be open or closed");
                return false;
            }
        } else {
            *error =
                QStringLiteral(
                    "policy.%1: unknown key (url, trusted_keys, poll_seconds, token_env, group, "
                    "fail_mode)")
                    .arg(k);
            return false;
        }
    }
    return true;
}

bool loadPolicyConfig(const QString &explicitPath, PolicyConfig *out, QString *error) {
    *out = PolicyConfig{};
    const QString userPath = explicitPath.isEmpty() ? defaultUserConfigPath() : explicitPath;
    QJsonObject o;
    if (QFileInfo::exists(userPath)) {
        if (!readObject(userPath, &o, error)) return false;
        if (!applyPolicyConfigJson(o, !explicitPath.isEmpty(), QFileInfo(userPath).absolutePath(),
                                   out, error)) {
            *error = userPath + QStringLiteral(": ") + *error;
            return false;
        }
    }
    const QString managed = managedConfigPath();
    if (QFileInfo::exists(managed)) {
        if (!readObject(managed, &o, error)) return false;
        if (!applyPolicyConfigJson(o, true, QFileInfo(managed).absolutePath(), out, error)) {
            *error = managed + QStringLiteral(": ") + *error;
            return false;
        }
    }
    return true;
}

bool deviceTokenFromKeychain(const PolicyConfig &config) {
    const bool fromEnv = !config.tokenEnv.isEmpty() &&
                         !qEnvironmentVariableIsEmpty(config.tokenEnv.toUtf8().constData());
    return config.configured && config.url.isValid() && !config.url.isEmpty() && !fromEnv;
}

}  // namespace airlock
