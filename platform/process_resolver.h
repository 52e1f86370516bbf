// Finds which local process owns the client end of a loopback TCP connection, so every request
// can be attributed to an app. One implementation per OS (process_resolver_linux.cpp, _mac, _win).
#pragma once

#include <QHostAddress>
#include <QString>
#include <QStringList>
#include <memory>
#include <optional>

namespace airlock {

struct ProcessInfo {
    qint64 pid = -1;
    qint64 uid = -1;
    QString exePath;       // resolved executable path ("/usr/bin/node")
    QStringList argv;      // command line (may be empty when unreadable)
    QString app;           // attributed app name, see appNameFor()
};

class ProcessResolver {
public:
    virtual ~ProcessResolver() = default;
    // The process owning the TCP socket whose local end is clientAddr:clientPort and whose remote
    // end is serverAddr:serverPort (i.e. the peer of a connection accepted by us). Blocking; may
    // take milliseconds: call it off the proxy's event loop. nullopt when no live connection matches
    // (closed, unknown, or its process already closed its end). When the socket exists but its
    // process may not be inspected (another user's, /proc hidepid), pid is -1, uid is the socket
    // owner's and app is "unknown": callers can still tell another user's connection apart.
    virtual std::optional<ProcessInfo> resolveTcpClient(const QHostAddress &clientAddr, quint16 clientPort,
                                                        const QHostAddress &serverAddr, quint16 serverPort) = 0;
    // The implementation for this OS (a resolver that always answers nullopt where none exists).
    static std::unique_ptr<ProcessResolver> create();
};

// The app name attribution gives (ARCHITECTURE.md): the executable's base name; for interpreters
// (node, nodejs, bun, deno, python*, ruby, perl, java…) the package the script lives in
// (".../node_modules/@openai/codex/bin/codex.js" -> "codex", "@anthropic-ai/claude-code" -> "claude")
// or else the script's base name without extension ("/tmp/e2e_sdk.mjs" -> "e2e_sdk"; "python -m foo" -> "foo").
// The complete rules are listed at the definition, platform/app_name.cpp.
QString appNameFor(const QString &exePath, const QStringList &argv);

}  // namespace airlock
