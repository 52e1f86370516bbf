#include "commands_setup.h"

#include "core/config/config.h"
#include "core/daemon/daemon.h"
#include "core/daemon/daemon_files.h"
#include "core/tls/intercept_hosts.h"
#include "core/tls/local_ca.h"
#include "platform/app_setup.h"
#include "platform/trust_store.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkProxy>
#include <QProcessEnvironment>
#include <QTcpSocket>
#include <QUrl>

#include <cstdio>

namespace airlock {

const char *const kInterceptionHelp =
    "  ca export [--info]          print the local CA certificate (PEM), or its details\n"
    "  ca install|uninstall        add/remove the CA in the OS trust stores\n"
    "  ca rotate                   replace the CA (re-installs it where it was installed)\n"
    "  setup shell|claude|codex|gemini|vscode [--undo] [--with-https-proxy] [--proxy URL]\n"
    "                              point an app at Airlock (backup first; --undo restores)\n"
    "  doctor                      what is set up, whether the proxy it points to is alive,\n"
    "                              and what bypasses Airlock";

namespace {

constexpr int kProbeTimeoutMs = 2000;

void out(const QString &text) {
    std::fputs(text.toUtf8().constData(), stdout);
}
void err(const QString &text) {
    std::fputs(("airlockctl: " + text + "\n").toUtf8().constData(), stderr);
}

struct Args {
    QString command;
    QStringList positional;  // after the command
    QString dataDir;
    QString proxy;
    bool json = false;
    bool undo = false;
    bool info = false;
    bool withHttpsProxy = false;
};

Args parseArgs(const QStringList &arguments) {
    Args a;
    for (qsizetype i = 1; i < arguments.size(); ++i) {
        const QString &s = arguments[i];
        auto value = [&](const QString &name, QString *into) {
            if (s == name && i + 1 < arguments.size()) {
                *into = arguments[++i];
                return true;
            }
            if (s.startsWith(name + QLatin1Char('='))) {
                *into = s.mid(name.size() + 1);
                return true;
            }
            return false;
        };
        if (value(QStringLiteral("--data-dir"), &a.dataDir) ||
            value(QStringLiteral("--proxy"), &a.proxy))
            continue;
        if (s == QLatin1String("--json"))
            a.json = true;
        else if (s == QLatin1String("--undo"))
            a.undo = true;
        else if (s == QLatin1String("--info"))
            a.info = true;
        else if (s == QLatin1String("--with-https-proxy"))
            a.withHttpsProxy = true;
        else if (s.startsWith(QLatin1String("--")))
            continue;  // the main parser's options
        else if (a.command.isEmpty())
            a.command = s;
        else
            a.positional.append(s);
    }
    if (a.dataDir.isEmpty()) a.dataDir = defaultDataDir();
    return a;
}

QStringList caHosts() {
    Config config;
    QString error;
    if (!buildConfig(DaemonOptions{}, &config, &error)) {
        err(QStringLiteral("config: %1 (using the built-in AI host list)").arg(error));
        return InterceptHosts().hostNames();
    }
    return InterceptHosts(config.interceptHosts).hostNames();
}

QString proxyUrl(const Args &a) {
    if (!a.proxy.isEmpty()) return a.proxy;
    DaemonEndpoint ep;
    QString error;
    if (readDaemonEndpoint(a.dataDir, &ep, &error) && ep.port) return ep.baseUrl();
    Config config;
    if (buildConfig(DaemonOptions{}, &config, &error)) {
        const QString host =
            config.listenAddress.protocol() == QAbstractSocket::IPv6Protocol
                ? QLatin1Char('[') + config.listenAddress.toString() + QLatin1Char(']')
                : config.listenAddress.toString();
        return QStringLiteral("http://%1:%2").arg(host).arg(config.listenPort);
    }
    return QStringLiteral("http://127.0.0.1:8484");
}

void printReport(const TrustStoreReport &r) {
    for (const QString &d : r.done) out(QStringLiteral("  done: %1\n").arg(d));
    for (const QString &s : r.skipped) out(QStringLiteral("  skipped: %1\n").arg(s));
    for (const QString &e : r.errors) err(e);
}

int cmdCa(const Args &a) {
    const QString verb = a.positional.value(0);
    QString error;
    if (verb == QLatin1String("rotate")) {
        std::unique_ptr<LocalCa> old = LocalCa::load(a.dataDir, &error);
        const QStringList wasIn =
            old ? TrustStore().installedIn(old->certificatePem()) : QStringList();
        std::unique_ptr<LocalCa> fresh = LocalCa::rotate(a.dataDir, caHosts(), &error);
        if (!fresh) {
            err(error);
            return 1;
        }
        out(QStringLiteral("New local CA %1, valid until %2.\n")
                .arg(fresh->sha256Fingerprint(), fresh->notAfter().toString(Qt::ISODate)));
        if (!wasIn.isEmpty()) {
            printReport(TrustStore().uninstall(old->certificatePem()));
            const TrustStoreReport r = TrustStore().install(fresh->certificatePem());
            printReport(r);
            if (!r.ok) return 1;
        }
        out(
            QStringLiteral("airlockd uses it for new connections; re-run `airlockctl setup shell` "
                           "to refresh the CA bundle.\n"));
        return 0;
    }
    std::unique_ptr<LocalCa> ca = LocalCa::loadOrCreate(a.dataDir, caHosts(), &error);
    if (!ca) {
        err(error);
        return 1;
    }
    if (verb == QLatin1String("export")) {
        if (!a.info) {
            out(QString::fromLatin1(ca->certificatePem()));
            return 0;
        }
        const QStringList installed = TrustStore().installedIn(ca->certificatePem());
        if (a.json) {
            QJsonObject o{{QStringLiteral("certificate_path"), LocalCa::certPath(a.dataDir)},
                          {QStringLiteral("sha256"), ca->sha256Fingerprint()},
                          {QStringLiteral("not_after"), ca->notAfter().toString(Qt::ISODate)},
                          {QStringLiteral("key_storage"), ca->keyStorage()},
                          {QStringLiteral("permitted_hosts"),
                           QJsonArray::fromStringList(ca->permittedHosts())},
                          {QStringLiteral("installed_in"), QJsonArray::fromStringList(installed)}};
            out(QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Indented)));
            return 0;
        }
        out(QStringLiteral("certificate: %1\nSHA-256: %2\nvalid until: %3\nprivate key: %4\n"
                           "may sign for (name constraints): %5\ntrusted by: %6\n")
                .arg(LocalCa::certPath(a.dataDir), ca->sha256Fingerprint(),
                     ca->notAfter().toString(Qt::ISODate), ca->keyStorage(),
                     ca->permittedHosts().join(QStringLiteral(", ")),
                     installed.isEmpty()
                         ? QStringLiteral("no OS trust store (run `airlockctl ca install`)")
                         : installed.join(QStringLiteral(", "))));
        return 0;
    }
    if (verb == QLatin1String("install") || verb == QLatin1String("uninstall")) {
        const bool install = verb == QLatin1String("install");
        out(install ? QStringLiteral("Installing the Airlock CA %1:\n").arg(ca->sha256Fingerprint())
                    : QStringLiteral("Removing the Airlock CA %1:\n").arg(ca->sha256Fingerprint()));
        const TrustStoreReport r = install ? TrustStore().install(ca->certificatePem())
                                           : TrustStore().uninstall(ca->certificatePem());
        printReport(r);
        if (r.done.isEmpty() && r.errors.isEmpty()) out(QStringLiteral("  nothing to do\n"));
        return r.ok ? 0 : 1;
    }
    err(QStringLiteral("usage: airlockctl ca export [--info] | install | uninstall | rotate"));
    return 2;
}

AppSetupParams setupParams(const Args &a) {
    AppSetupParams p;
    p.homeDir = QDir::homePath();
    p.proxyUrl = proxyUrl(a);
    p.caPemPath = LocalCa::certPath(a.dataDir);
    p.caBundlePath = a.dataDir + QStringLiteral("/ca/ca-bundle-with-airlock.pem");
    p.stateDir = a.dataDir + QStringLiteral("/setup");
    p.withHttpsProxy = a.withHttpsProxy;
    p.codexHome = QProcessEnvironment::systemEnvironment().value(QStringLiteral("CODEX_HOME"));
    return p;
}

int cmdSetup(const Args &a) {
    const QString app = a.positional.value(0);
    if (!AppSetup::apps().contains(app)) {
        err(QStringLiteral("usage: airlockctl setup %1 [--undo]")
                .arg(AppSetup::apps().join(QLatin1Char('|'))));
        return 2;
    }
    QString error;
    if (!a.undo && app == QLatin1String("shell") &&
        !LocalCa::loadOrCreate(a.dataDir, caHosts(), &error)) {
        err(error);
        return 1;
    }
    AppSetup setup(setupParams(a));
    const AppSetupResult r = a.undo ? setup.undo(app) : setup.apply(app);
    if (!r.ok) {
        err(r.error);
        return 1;
    }
    if (r.changed.isEmpty())
        out(a.undo ? QStringLiteral("Nothing to undo for %1.\n").arg(app)
                   : QStringLiteral("%1 is already set up; nothing changed.\n").arg(app));
    for (const QString &f : r.changed)
        out(a.undo ? QStringLiteral("restored %1\n").arg(f)
                   : QStringLiteral("updated %1 (backup kept)\n").arg(f));
    for (const QString &n : r.notes) out(QStringLiteral("note: %1\n").arg(n));
    if (!a.undo && !r.changed.isEmpty())
        out(QStringLiteral("Restart %1 (or open a new shell) for it to take effect.\n").arg(app));
    return 0;
}

// GET /healthz at the origin of url: true when an Airlock daemon answers.
bool airlockAlive(const QString &url, QString *why) {
    const QUrl u(url);
    if (!u.isValid() || u.host().isEmpty()) {
        *why = QStringLiteral("not a URL");
        return false;
    }
    QTcpSocket s;
    s.setProxy(QNetworkProxy::NoProxy);
    s.connectToHost(u.host(), quint16(u.port(u.scheme() == QLatin1String("https") ? 443 : 80)));
    if (!s.waitForConnected(kProbeTimeoutMs)) {
        *why = QStringLiteral("nothing listens there (%1)").arg(s.errorString());
        return false;
    }
    s.write("GET /healthz HTTP/1.1\r\nHost: " + u.host().toUtf8() +
            "\r\nConnection: close\r\n\r\n");
    QByteArray resp;
    while (s.waitForReadyRead(kProbeTimeoutMs)) {
        resp += s.readAll();
        if (resp.size() > 64 * 1024) break;
    }
    resp += s.readAll();
    if (!resp.startsWith("HTTP/1.1 200") || !resp.contains("\"status\":\"ok\"")) {
        *why = QStringLiteral("something answers, but not Airlock");
        return false;
    }
    return true;
}

bool isAirlockUrl(const QString &url, const QString &proxy) {
    const QUrl u(url);
    const QUrl p(proxy);
    return u.port(80) == p.port(80) &&
           (u.host() == p.host() || u.host() == QLatin1String("localhost") ||
            u.host() == QLatin1String("127.0.0.1") || u.host() == QLatin1String("::1"));
}

int cmdDoctor(const Args &a) {
    int failures = 0;
    auto line = [&](const char *mark, const QString &text) {
        out(QStringLiteral("[%1] %2\n").arg(QLatin1String(mark), text));
    };
    const QString proxy = proxyUrl(a);
    QString why;
    const bool alive = airlockAlive(proxy, &why);
    if (alive)
        line("ok", QStringLiteral("airlockd answers at %1").arg(proxy));
    else {
        line("FAIL", QStringLiteral("airlockd is not running at %1: %2").arg(proxy, why));
        ++failures;
    }
    QString error;
    std::unique_ptr<LocalCa> ca = LocalCa::load(a.dataDir, &error);
    if (!ca)
        line("warn",
             QStringLiteral("no local CA yet (created on the first daemon start): %1").arg(error));
    else {
        const QStringList installed = TrustStore().installedIn(ca->certificatePem());
        line(installed.isEmpty() ? "warn" : "ok",
             QStringLiteral("local CA %1…, valid until %2, key %3; trusted by %4")
                 .arg(ca->sha256Fingerprint().left(23), ca->notAfter().toString(Qt::ISODate),
                      ca->keyStorage(),
                      installed.isEmpty()
                          ? QStringLiteral("no OS store (apps using the OS store will reject "
                                           "intercepted connections)")
                          : installed.join(QStringLiteral(", "))));
    }
    AppSetup setup(setupParams(a));
    for (const QString &app : AppSetup::apps()) {
        const AppSetupStatus s = setup.status(app);
        if (s.pointsTo.isEmpty()) {
            line("--",
                 QStringLiteral("%1: not pointed at Airlock%2")
                     .arg(app, s.configured
                                   ? QStringLiteral(" (setup recorded, but its settings are gone)")
                                   : QString()));
            continue;
        }
        for (const QString &url : s.pointsTo) {
            if (!isAirlockUrl(url, proxy) && !url.startsWith(QLatin1String("http://127.")) &&
                !url.startsWith(QLatin1String("http://localhost"))) {
                line("warn", QStringLiteral("%1: sends traffic to %2, bypassing Airlock (%3)")
                                 .arg(app, url, s.files.join(QStringLiteral(", "))));
                continue;
            }
            QString dead;
            if (airlockAlive(url, &dead)) {
                line("ok", QStringLiteral("%1: points at %2 (%3)").arg(app, url, s.detail));
            } else {
                // The claude-code-router failure: settings left pointing at a dead port.
                line("FAIL", QStringLiteral("%1: points at %2 but %3; start airlockd or run "
                                            "`airlockctl setup %1 --undo`")
                                 .arg(app, url, dead));
                ++failures;
            }
        }
    }
    // What the current environment does.
    const QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const char *name : {"OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "GOOGLE_GEMINI_BASE_URL"}) {
        const QString v = env.value(QLatin1String(name));
        if (v.isEmpty())
            line("warn",
                 QStringLiteral("%1 is not set in this shell: SDKs go straight to the provider")
                     .arg(QLatin1String(name)));
        else if (!isAirlockUrl(v, proxy))
            line("warn", QStringLiteral("%1=%2 bypasses Airlock").arg(QLatin1String(name), v));
        else
            line("ok", QStringLiteral("%1 points at Airlock").arg(QLatin1String(name)));
    }
    const QString noProxy =
        env.value(QStringLiteral("NO_PROXY"), env.value(QStringLiteral("no_proxy")));
    for (const QString &h : InterceptHosts().hostNames())
        if (noProxy.contains(h))
            line("warn",
                 QStringLiteral("NO_PROXY lists %1: proxied apps bypass Airlock for it").arg(h));
    out(failures ? QStringLiteral("%1 problem(s) found.\n").arg(failures)
                 : QStringLiteral("No problems found.\n"));
    return failures ? 1 : 0;
}

}  // namespace

bool runInterceptionCommand(const QStringList &arguments, int *exitCode) {
    const Args a = parseArgs(arguments);
    if (a.command == QLatin1String("ca"))
        *exitCode = cmdCa(a);
    else if (a.command == QLatin1String("setup"))
        *exitCode = cmdSetup(a);
    else if (a.command == QLatin1String("doctor"))
        *exitCode = cmdDoctor(a);
    else
        return false;
    return true;
}

}  // namespace airlock
