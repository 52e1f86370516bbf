// Points known AI clients at Airlock and takes it back: shell profile, Claude Code, Codex CLI,
// Gemini CLI and VS Code settings. Every change is backed up first, applying twice changes
// nothing more, and undo restores the original files byte for byte.
#pragma once

#include <QJsonObject>
#include <QString>
#include <QStringList>

namespace airlock {

struct AppSetupParams {
    QString homeDir;          // the user's home (tests: a temp dir)
    QString proxyUrl;         // "http://127.0.0.1:8484"
    QString caPemPath;        // the Airlock CA certificate (PEM)
    QString caBundlePath;     // system roots + the Airlock CA, written by setup (SSL_CERT_FILE)
    QString stateDir;         // backups and manifests: DATA_DIR/setup
    QString systemRootsPath;  // empty: the platform's bundle (/etc/ssl/certs/ca-certificates.crt)
    bool withHttpsProxy =
        false;          // shell: also export HTTPS_PROXY (every HTTPS app goes through Airlock)
    QString codexHome;  // empty: $CODEX_HOME or ~/.codex
};

struct AppSetupResult {
    bool ok = true;
    QStringList changed;  // files written or restored
    QStringList notes;    // what the user should know (restart the app, conflicts, …)
    QString error;
};

// What a configured app points at, for `airlockctl doctor`.
struct AppSetupStatus {
    QString app;
    bool configured = false;  // Airlock's setup is in place
    QStringList pointsTo;     // URLs the app's settings send AI traffic to
    QStringList files;        // the files that say so
    QString detail;
};

class AppSetup {
public:
    explicit AppSetup(AppSetupParams params);

    static QStringList apps();  // shell, claude, codex, gemini, vscode
    AppSetupResult apply(const QString &app);
    AppSetupResult undo(const QString &app);
    AppSetupStatus status(const QString &app) const;

    // The marker lines around what setup writes into text files.
    static constexpr const char *kBeginMarker = "# >>> airlock >>>";
    static constexpr const char *kEndMarker = "# <<< airlock <<<";

private:
    struct Edit;
    QStringList filesFor(const QString &app) const;
    bool planEdits(const QString &app, QList<Edit> *edits, QStringList *notes,
                   QString *error) const;
    bool writeCaBundle(QString *error) const;
    QString manifestPath(const QString &app) const;
    QString vscodeSettingsPath() const;
    QString codexConfigPath() const;

    AppSetupParams m_p;
};

}  // namespace airlock
