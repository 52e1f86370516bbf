// airlockd: the Airlock proxy daemon. Flags per ARCHITECTURE.md (Contracts).
#include "core/daemon/daemon.h"
#include "core/policy/policy_config.h"
#include "core/tls/local_ca.h"
#include "platform/memory_tuning.h"
#include "platform/secret_store.h"
#include "platform/shutdown_signals.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFileInfo>

#include <cstdio>

namespace {

// Qt's own event dispatcher costs fewer syscalls per proxied request than the GLib one, but
// QtKeychain's Linux backend completes its jobs through GLib callbacks. So: Qt's dispatcher
// unless a provider key, the policy device token or the local CA's key lives in the keychain (or
// the CA is yet to be made).
// Decided before QCoreApplication exists, from the same flags the daemon parses later.
bool keychainNeeded(int argc, char **argv) {
    // No session bus: every keychain call fails at once, whatever the dispatcher.
    if (!airlock::SecretStore::backendReachable()) return false;
    airlock::DaemonOptions options;
    for (int i = 1; i + 1 < argc; ++i) {
        const QByteArray a = argv[i];
        if (a == "--config" || a == "--check-config")
            options.configPath = QString::fromLocal8Bit(argv[i + 1]);
        if (a == "--data-dir") options.dataDir = QString::fromLocal8Bit(argv[i + 1]);
    }
    for (int i = 1; i < argc; ++i) {
        const QByteArray a = argv[i];
        if (a.startsWith("--config=")) options.configPath = QString::fromLocal8Bit(a.mid(9));
        if (a.startsWith("--data-dir=")) options.dataDir = QString::fromLocal8Bit(a.mid(11));
    }
    // The local CA's key: created on the first start (into the keychain when one answers) and
    // read back from there later. Without the GLib loop both would wait out their timeout.
    const QString dataDir = options.dataDir.isEmpty() ? airlock::defaultDataDir() : options.dataDir;
    if (!QFileInfo::exists(airlock::LocalCa::certPath(dataDir)) ||
        QFileInfo::exists(airlock::LocalCa::keychainMarkerPath(dataDir)))
        return true;
    QString error;
    airlock::PolicyConfig policy;
    if (airlock::loadPolicyConfig(options.configPath, &policy, &error) &&
        airlock::deviceTokenFromKeychain(policy))
        return true;
    airlock::Config config;
    if (!airlock::buildConfig(options, &config, &error)) return false;  // reported later
    for (const airlock::ProviderConfig &p : config.providers)
        if (p.auth == airlock::AuthMode::Inject &&
            (p.keyEnv.isEmpty() || qEnvironmentVariableIsEmpty(p.keyEnv.toUtf8().constData())))
            return true;
    return false;
}

}  // namespace

int main(int argc, char **argv) {
    // Request bodies of a few MB (and their UTF-16 copies for the guardrails) reuse freed heap
    // instead of being mapped and faulted in per request; freed memory goes back after a burst.
    airlock::memory::keepLargeBuffers(16 * 1024 * 1024);
    if (!keychainNeeded(argc, argv) && qEnvironmentVariableIsEmpty("QT_NO_GLIB"))
        qputenv("QT_NO_GLIB", "1");
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("airlockd"));
    QCoreApplication::setApplicationVersion(QStringLiteral(AIRLOCK_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Airlock proxy daemon: a loopback proxy for AI traffic that attributes, accounts and "
        "records every request.\n\nPoint apps at it, e.g. OPENAI_BASE_URL=http://127.0.0.1:8484/v1 "
        "or ANTHROPIC_BASE_URL=http://127.0.0.1:8484."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption configOpt(
        QStringLiteral("config"),
        QStringLiteral("JSON config file (default: the user config file when present)."),
        QStringLiteral("FILE"));
    const QCommandLineOption listenOpt(
        QStringLiteral("listen"), QStringLiteral("Address to listen on (default 127.0.0.1:8484)."),
        QStringLiteral("IP:PORT"));
    const QCommandLineOption dataOpt(
        QStringLiteral("data-dir"),
        QStringLiteral("Data directory (usage.db, api-token); default $XDG_DATA_HOME/airlock."),
        QStringLiteral("DIR"));
    const QCommandLineOption upstreamOpt(
        QStringLiteral("upstream"),
        QStringLiteral(
            "Send FORMAT (openai, anthropic, gemini) traffic to BASE_URL with the client's own key "
            "passed through; repeatable, e.g. --upstream openai=http://127.0.0.1:4000."),
        QStringLiteral("FORMAT=BASE_URL"));
    const QCommandLineOption checkOpt(QStringLiteral("check-config"),
                                      QStringLiteral("Validate FILE and exit (0 when valid)."),
                                      QStringLiteral("FILE"));
    parser.addOptions({configOpt, listenOpt, dataOpt, upstreamOpt, checkOpt});
    parser.process(app);

    airlock::DaemonOptions options;
    options.configPath = parser.value(configOpt);
    options.listen = parser.value(listenOpt);
    options.dataDir = parser.value(dataOpt);
    options.upstreams = parser.values(upstreamOpt);

    QString error;
    if (parser.isSet(checkOpt)) {
        options.configPath = parser.value(checkOpt);
        airlock::Config config;
        if (!airlock::buildConfig(options, &config, &error)) {
            std::fprintf(stderr, "airlockd: invalid config: %s\n", qPrintable(error));
            return 2;
        }
        std::printf("%s: valid (%d providers, listen %s:%u)\n", qPrintable(options.configPath),
                    int(config.providers.size()), qPrintable(config.listenAddress.toString()),
                    unsigned(config.listenPort));
        return 0;
    }

    airlock::Daemon daemon;
    if (!daemon.start(options, &error)) {
        std::fprintf(stderr, "airlockd: %s\n", qPrintable(error));
        return 1;
    }
    airlock::onShutdownRequest(&app, [&] {
        daemon.stop();
        QCoreApplication::quit();
    });
    std::fprintf(stderr, "airlockd: listening on port %u\n", unsigned(daemon.port()));
    const int rc = app.exec();
    daemon.stop();
    return rc;
}
