#include "commands_policy.h"

#include "api_client.h"
#include "table_printer.h"

#include "core/config/config.h"
#include "core/policy/policy_bundle.h"
#include "core/policy/policy_signature.h"
#include "core/store/policy_store.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>

#include <cstdio>

namespace airlock {

const char *const kPolicyCommandsHelp =
    "  policy example              print a valid unsigned bundle using every rule type\n"
    "  policy keygen --out DIR     write DIR/policy-signing.key and .pub (Ed25519, PEM)\n"
    "  policy sign --key KEY IN.json   print the signed bundle\n"
    "  policy verify --pub PUB FILE    exit 0 when the signature holds\n"
    "  policy lint FILE            validate a bundle (signed or not)\n"
    "  policy show [--json]        the bundle in force, its version and source\n"
    "  policy sync                 fetch the bundle now; prints the version in force\n"
    "  budgets [--json]            budget standing per app/device and period";

namespace {

constexpr qint64 kMaxInputBytes = 4 * 1024 * 1024;

void out(const QString &text) {
    std::fputs(text.toUtf8().constData(), stdout);
}
void err(const QString &text) {
    std::fputs(("airlockctl: " + text + "\n").toUtf8().constData(), stderr);
}
void printJson(const QJsonObject &o) {
    out(QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Indented)));
}

struct Args {
    QString dataDir;
    QString outDir, key, pub;
    bool json = false;
    QStringList positional;
    QString error;
};

Args parseArgs(const QStringList &argv) {
    Args a;
    for (qsizetype i = 0; i < argv.size(); ++i) {
        const QString &s = argv[i];
        auto value = [&](QString *target, const char *name) {
            const QString prefix = QLatin1String(name) + QLatin1Char('=');
            if (s.startsWith(prefix))
                *target = s.mid(prefix.size());
            else if (i + 1 < argv.size())
                *target = argv[++i];
            else
                a.error = QStringLiteral("%1 needs a value").arg(QLatin1String(name));
        };
        if (s == QLatin1String("--data-dir") || s.startsWith(QLatin1String("--data-dir=")))
            value(&a.dataDir, "--data-dir");
        else if (s == QLatin1String("--out") || s.startsWith(QLatin1String("--out=")))
            value(&a.outDir, "--out");
        else if (s == QLatin1String("--key") || s.startsWith(QLatin1String("--key=")))
            value(&a.key, "--key");
        else if (s == QLatin1String("--pub") || s.startsWith(QLatin1String("--pub=")))
            value(&a.pub, "--pub");
        else if (s == QLatin1String("--json"))
            a.json = true;
        else
            a.positional.append(s);
    }
    if (a.dataDir.isEmpty()) a.dataDir = defaultDataDir();
    return a;
}

bool readFile(const QString &path, QByteArray *data) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        err(QStringLiteral("%1: %2").arg(path, f.errorString()));
        return false;
    }
    if (f.size() > kMaxInputBytes) {
        err(QStringLiteral("%1: larger than %2 bytes").arg(path).arg(kMaxInputBytes));
        return false;
    }
    *data = f.readAll();
    return true;
}

bool writeFile(const QString &path, const QByteArray &data, QFileDevice::Permissions perms) {
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::NewOnly, perms)) {
        err(QStringLiteral("%1: %2 (an existing key is never overwritten)")
                .arg(path, f.errorString()));
        return false;
    }
    return f.write(data) == data.size();
}

int cmdKeygen(const Args &a) {
    if (a.outDir.isEmpty()) {
        err(QStringLiteral("usage: airlockctl policy keygen --out DIR"));
        return 2;
    }
    if (!QDir().mkpath(a.outDir)) {
        err(QStringLiteral("cannot create %1").arg(a.outDir));
        return 1;
    }
    Ed25519KeyPair kp;
    QString e;
    if (!generateEd25519KeyPair(&kp, &e)) {
        err(e);
        return 1;
    }
    const QString keyPath = QDir(a.outDir).filePath(QStringLiteral("policy-signing.key"));
    const QString pubPath = QDir(a.outDir).filePath(QStringLiteral("policy-signing.pub"));
    if (!writeFile(keyPath, kp.privatePem, QFileDevice::ReadOwner | QFileDevice::WriteOwner) ||
        !writeFile(pubPath, kp.publicPem,
                   QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadGroup |
                       QFileDevice::ReadOther))
        return 1;
    out(QStringLiteral("Wrote %1 (keep it secret) and %2 (key id %3).\nPut the public key in "
                       "policy.trusted_keys "
                       "of the managed config.\n")
            .arg(keyPath, pubPath, keyIdOf(kp.publicPem, &e)));
    return 0;
}

int cmdSign(const Args &a) {
    if (a.key.isEmpty() || a.positional.size() != 3) {
        err(QStringLiteral("usage: airlockctl policy sign --key KEY IN.json"));
        return 2;
    }
    QByteArray key, bundle;
    if (!readFile(a.key, &key) || !readFile(a.positional[2], &bundle)) return 1;
    PolicyBundle parsed;
    QString e;
    if (!parsePolicyBundle(bundle, &parsed, &e)) {
        err(QStringLiteral("%1 is not a valid bundle: %2").arg(a.positional[2], e));
        return 1;
    }
    const QByteArray env = signPolicyBundle(bundle, key, &e);
    if (env.isEmpty()) {
        err(e);
        return 1;
    }
    out(QString::fromUtf8(env));
    return 0;
}

int cmdVerify(const Args &a) {
    if (a.pub.isEmpty() || a.positional.size() != 3) {
        err(QStringLiteral("usage: airlockctl policy verify --pub PUB FILE"));
        return 2;
    }
    QByteArray pub, data;
    if (!readFile(a.pub, &pub) || !readFile(a.positional[2], &data)) return 1;
    SignedEnvelope env;
    QString e;
    if (!parseEnvelope(data, &env, &e) || !verifyEnvelope(env, {pub}, &e)) {
        err(QStringLiteral("%1: %2").arg(a.positional[2], e));
        return 1;
    }
    PolicyBundle b;
    if (!parsePolicyBundle(env.payload, &b, &e)) {
        err(QStringLiteral("%1: the signature holds but the bundle is invalid: %2")
                .arg(a.positional[2], e));
        return 1;
    }
    out(QStringLiteral("Signature OK (key %1): version %2, expires %3\n")
            .arg(env.keyId)
            .arg(b.version)
            .arg(b.expiresAt.toString(Qt::ISODate)));
    return 0;
}

int cmdLint(const Args &a) {
    if (a.positional.size() != 3) {
        err(QStringLiteral("usage: airlockctl policy lint FILE"));
        return 2;
    }
    QByteArray data;
    if (!readFile(a.positional[2], &data)) return 1;
    SignedEnvelope env;
    QString e;
    const bool isSigned = parseEnvelope(data, &env, &e);
    PolicyBundle b;
    if (!parsePolicyBundle(isSigned ? env.payload : data, &b, &e)) {
        err(QStringLiteral("%1: %2").arg(a.positional[2], e));
        return 1;
    }
    QStringList names = b.profiles.keys();
    names.sort();
    out(QStringLiteral("OK: %1 bundle, version %2, profiles: %3, expires %4\n")
            .arg(isSigned ? QStringLiteral("signed") : QStringLiteral("unsigned"))
            .arg(b.version)
            .arg(names.join(QStringLiteral(", ")), b.expiresAt.toString(Qt::ISODate)));
    if (b.expiresAt <= QDateTime::currentDateTimeUtc())
        out(QStringLiteral("warning: the bundle has already expired\n"));
    return 0;
}

int cmdShow(const Args &a) {
    ApiClient api(a.dataDir);
    QJsonObject o;
    if (api.daemonKnown()) {
        const ApiResult r = api.get(QStringLiteral("/airlock/v1/policy"));
        if (r.reachable && r.status == 200) o = r.json;
    }
    if (o.isEmpty()) {
        // No daemon: what the cache holds (enforced at the next start if it still verifies).
        CachedPolicy c;
        bool found = false;
        QString e;
        const QString db = a.dataDir + QStringLiteral("/policy.db");
        if (QFileInfo::exists(db) && PolicyStore(db).load(&c, &found, &e) && found) {
            SignedEnvelope env;
            parseEnvelope(c.envelope, &env, &e);
            o = QJsonObject{
                {QStringLiteral("state"), QStringLiteral("cached")},
                {QStringLiteral("version"), c.version},
                {QStringLiteral("source"), c.source},
                {QStringLiteral("bundle"), QJsonDocument::fromJson(env.payload).object()}};
        } else {
            o = QJsonObject{{QStringLiteral("state"), QStringLiteral("none")},
                            {QStringLiteral("version"), 0}};
        }
    }
    if (a.json) {
        printJson(o);
        return 0;
    }
    out(QStringLiteral(
            "state: %1\nversion: %2\nsource: %3\nprofile: %4 (%5)\nexpires: %6\nlast sync: %7 %8\n")
            .arg(o.value(QStringLiteral("state")).toString())
            .arg(o.value(QStringLiteral("version")).toInteger())
            .arg(o.value(QStringLiteral("source")).toString(),
                 o.value(QStringLiteral("profile")).toString(),
                 o.value(QStringLiteral("mode")).toString(),
                 o.value(QStringLiteral("expires_at")).toString(),
                 o.value(QStringLiteral("last_sync_at")).toString(),
                 o.value(QStringLiteral("last_sync_error")).toString()));
    return 0;
}

int cmdSync(const Args &a) {
    ApiClient api(a.dataDir);
    const ApiResult r = api.post(QStringLiteral("/airlock/v1/policy/sync"), {}, 60'000);
    if (!r.reachable || r.status != 200) {
        err(r.error.isEmpty() ? QStringLiteral("airlockd is not running") : r.error);
        return 3;
    }
    const qint64 version = r.json.value(QStringLiteral("version")).toInteger();
    if (!r.json.value(QStringLiteral("ok")).toBool()) {
        err(QStringLiteral("sync failed: %1 (version %2 stays in force)")
                .arg(r.json.value(QStringLiteral("error")).toString())
                .arg(version));
        return 1;
    }
    out(QStringLiteral("Policy version %1 in force.\n").arg(version));
    return 0;
}

int cmdBudgets(const Args &a) {
    ApiClient api(a.dataDir);
    const ApiResult r = api.get(QStringLiteral("/airlock/v1/budgets"));
    if (!r.reachable || r.status != 200) {
        err(r.error.isEmpty() ? QStringLiteral("airlockd is not running") : r.error);
        return 3;
    }
    if (a.json) {
        printJson(r.json);
        return 0;
    }
    const QJsonArray list = r.json.value(QStringLiteral("budgets")).toArray();
    if (list.isEmpty()) {
        out(QStringLiteral("No budgets apply (or no spend recorded yet).\n"));
        return 0;
    }
    TablePrinter t({QStringLiteral("PROFILE"), QStringLiteral("SCOPE"), QStringLiteral("PERIOD"),
                    QStringLiteral("MODELS"), QStringLiteral("USD"), QStringLiteral("TOKENS"),
                    QStringLiteral("STATE"), QStringLiteral("RESETS")});
    for (const QJsonValue &v : list) {
        const QJsonObject o = v.toObject();
        const QString scope =
            o.value(QStringLiteral("scope")).toString() == QLatin1String("device")
                ? QStringLiteral("device")
                : QStringLiteral("app ") + o.value(QStringLiteral("app")).toString();
        QStringList models;
        for (const QJsonValue &m : o.value(QStringLiteral("models")).toArray())
            models.append(m.toString());
        const QString usd =
            o.value(QStringLiteral("limit_usd")).isDouble()
                ? QStringLiteral("%1 / %2")
                      .arg(o.value(QStringLiteral("spent_usd")).toDouble(), 0, 'f', 2)
                      .arg(o.value(QStringLiteral("limit_usd")).toDouble(), 0, 'f', 2)
                : QStringLiteral("-");
        const QString tok = o.value(QStringLiteral("limit_tokens")).isDouble()
                                ? QStringLiteral("%1 / %2")
                                      .arg(o.value(QStringLiteral("spent_tokens")).toInteger())
                                      .arg(o.value(QStringLiteral("limit_tokens")).toInteger())
                                : QStringLiteral("-");
        t.addRow({o.value(QStringLiteral("profile")).toString(), scope,
                  o.value(QStringLiteral("period")).toString(),
                  models.isEmpty() ? QStringLiteral("*") : models.join(QLatin1Char(',')), usd, tok,
                  o.value(QStringLiteral("state")).toString(),
                  o.value(QStringLiteral("resets_at")).toString()});
    }
    out(t.render());
    return 0;
}

}  // namespace

int runPolicyCommand(const QStringList &argv) {
    const Args a = parseArgs(argv);
    const QString cmd = a.positional.value(0);
    if (cmd != QLatin1String("policy") && cmd != QLatin1String("budgets")) return -1;
    if (!a.error.isEmpty()) {
        err(a.error);
        return 2;
    }
    if (cmd == QLatin1String("budgets")) return cmdBudgets(a);
    const QString verb = a.positional.value(1);
    if (verb == QLatin1String("example")) {
        out(QString::fromUtf8(
            QJsonDocument(examplePolicyBundle()).toJson(QJsonDocument::Indented)));
        return 0;
    }
    if (verb == QLatin1String("keygen")) return cmdKeygen(a);
    if (verb == QLatin1String("sign")) return cmdSign(a);
    if (verb == QLatin1String("verify")) return cmdVerify(a);
    if (verb == QLatin1String("lint")) return cmdLint(a);
    if (verb == QLatin1String("show")) return cmdShow(a);
    if (verb == QLatin1String("sync")) return cmdSync(a);
    err(QStringLiteral("usage:\n%1").arg(QLatin1String(kPolicyCommandsHelp)));
    return 2;
}

}  // namespace airlock
