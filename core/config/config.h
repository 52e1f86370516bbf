// airlockd's configuration: listen address, limits, providers and price overrides, loaded from
// JSON (user file, then the admin-managed file on top) and from command-line flags.
#pragma once

#include "core/providers/wire_format.h"
#include "core/routing/route.h"

#include <QHostAddress>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>
#include <QUrl>

namespace airlock {

// Every limit and timeout the daemon enforces; all configurable under "limits".
struct Limits {
    qint64 maxHeaderBytes = 64 * 1024;
    int maxHeaderCount = 256;
    qint64 maxBodyBytes = 32 * 1024 * 1024;
    qint64 maxResponseCaptureBytes = 64 * 1024 * 1024;  // JSON response kept for usage parsing
    int headerTimeoutMs = 10'000;       // first byte of a request head -> head complete
    int bodyTimeoutMs = 60'000;         // max gap between body bytes from the client
    int idleTimeoutMs = 120'000;        // keep-alive connection with no request
    int upstreamConnectTimeoutMs = 10'000;
    int upstreamFirstByteTimeoutMs = 600'000;  // request sent -> response head
    int upstreamIdleTimeoutMs = 300'000;       // max gap between response bytes (stalled streams)
    int upstreamPoolIdleMs = 60'000;    // idle pooled upstream connections are closed after this
    int maxConnections = 2048;          // concurrent client connections
    qint64 clientWriteHighWaterBytes = 1024 * 1024;  // stop reading upstream above this backlog
};

enum class AuthMode { Passthrough, Inject };

struct ProviderConfig {
    QString name;             // "openai", "work-gateway"; also usable as a path prefix
    WireFormat format = WireFormat::Unknown;
    QUrl baseUrl;             // origin plus optional path prefix; the client's path is appended
    AuthMode auth = AuthMode::Passthrough;
    QString keyEnv;           // Inject: environment variable holding the key (headless use)
    // Inject: otherwise the OS keychain entry "provider/<name>" (airlockctl keys set <name>).
};

struct Config {
    QHostAddress listenAddress = QHostAddress(QHostAddress::LocalHost);
    quint16 listenPort = 8484;
    Limits limits;
    QList<ProviderConfig> providers;  // the first provider of a format serves that format by default
    QJsonObject priceOverrides;       // {"model": {"input":…,"output":…}}
    QList<RouteConfig> routes;        // "routes": logical model -> targets (core/routing)
    int ledgerFlushIntervalMs = 100;
    QString sourceDescription;        // which files it came from, for status
    // Extra hosts whose HTTPS is intercepted (CONNECT) on top of the built-in AI host list.
    QStringList interceptHosts;

    // Built-in providers for the real OpenAI, Anthropic and Gemini origins, passthrough auth.
    static Config defaults();

    const ProviderConfig *defaultProviderFor(WireFormat format) const;
    const ProviderConfig *providerByName(QStringView name) const;
};

// Merges a config JSON object into *config (keys present replace what is there; "providers"
// replaces the list). ${VAR} in string values is replaced from the environment. Errors name the key.
bool applyConfigJson(const QJsonObject &json, Config *config, QString *error);
bool loadConfigFile(const QString &path, Config *config, QString *error);
// "--upstream FORMAT=BASE_URL": replaces (or adds) the default provider of that format.
bool applyUpstreamFlag(const QString &spec, Config *config, QString *error);
// "127.0.0.1:8484", "[::1]:8484"
bool parseListenAddress(const QString &text, QHostAddress *address, quint16 *port, QString *error);

// Platform locations (ARCHITECTURE.md): $XDG_DATA_HOME/airlock, $XDG_CONFIG_HOME/airlock/config.json,
// /etc/airlock/managed.json.
QString defaultDataDir();
QString defaultUserConfigPath();
QString managedConfigPath();

}  // namespace airlock
