#include "platform/app_setup.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcessEnvironment>
#include <QRegularExpression>
#include <QSaveFile>
#include <QSysInfo>

namespace airlock {

namespace {

constexpr qint64 kMaxConfigFileBytes = 16 * 1024 * 1024;
constexpr const char *kDisabledPrefix = "# airlock disabled: ";

struct FileState {
    bool exists = false;
    QByteArray bytes;
    bool ok = true;
};

FileState readFile(const QString &path) {
    FileState s;
    QFile f(path);
    if (!f.exists()) return s;
    s.exists = true;
    if (!f.open(QIODevice::ReadOnly) || f.size() > kMaxConfigFileBytes) {
        s.ok = false;
        return s;
    }
    s.bytes = f.readAll();
    return s;
}

bool writeFile(const QString &path, const QByteArray &bytes, QString *error) {
    QSaveFile f(path);
    // Keep the permissions of an existing file (settings may hold tokens).
    const QFileDevice::Permissions perms =
        QFileInfo::exists(path) ? QFile::permissions(path) : QFileDevice::Permissions();
    if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size() || !f.commit()) {
        *error = QStringLiteral("cannot write %1: %2").arg(path, f.errorString());
        return false;
    }
    if (perms) QFile::setPermissions(path, perms);
    return true;
}

QByteArray sha256(const QByteArray &b) {
    return QCryptographicHash::hash(b, QCryptographicHash::Sha256).toHex();
}

QByteArray shellQuote(const QString &s) {
    QByteArray out = "'";
    for (const char c : s.toUtf8()) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

// Removes a marked block (and the blank line setup put before it) from text.
QByteArray stripBlock(const QByteArray &text) {
    const QByteArray begin = AppSetup::kBeginMarker;
    const QByteArray end = AppSetup::kEndMarker;
    QByteArray out = text;
    for (;;) {
        const qsizetype b = out.indexOf(begin);
        if (b < 0) break;
        qsizetype e = out.indexOf(end, b);
        if (e < 0) break;
        e += end.size();
        if (e < out.size() && out[e] == '\n') ++e;
        qsizetype start = b;
        if (start >= 2 && out[start - 1] == '\n' && out[start - 2] == '\n') --start;
        out.remove(start, e - start);
    }
    return out;
}

QByteArray appendBlock(const QByteArray &base, const QByteArray &blockBody) {
    QByteArray out = base;
    if (!out.isEmpty() && !out.endsWith('\n')) out += '\n';
    if (!out.isEmpty()) out += '\n';
    out += QByteArray(AppSetup::kBeginMarker) +
           " managed by `airlockctl setup`; undo: `airlockctl setup <app> --undo`\n";
    out += blockBody;
    out += QByteArray(AppSetup::kEndMarker) + '\n';
    return out;
}

bool parseJsonObject(const QString &path, const QByteArray &bytes, QJsonObject *out,
                     QString *error) {
    if (bytes.trimmed().isEmpty()) {
        *out = {};
        return true;
    }
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &pe);
    if (pe.error != QJsonParseError::NoError || !doc.isObject()) {
        *error =
            QStringLiteral(
                "%1 is not plain JSON (%2; comments or trailing commas?): set it up "
                "by hand, `airlockctl setup --help` lists the keys")
                .arg(path, pe.error != QJsonParseError::NoError ? pe.errorString()
                                                                : QStringLiteral("not an object"));
        return false;
    }
    *out = doc.object();
    return true;
}

QByteArray jsonBytes(const QJsonObject &o) {
    return QJsonDocument(o).toJson(QJsonDocument::Indented);
}

// Top-level `key = value` lines of a TOML file (before the first [table]).
QByteArray tomlWithTopKey(const QByteArray &base, const QByteArray &key, const QByteArray &value) {
    // Undo an earlier run's edits first, so applying again gives the same bytes.
    QList<QByteArray> lines = stripBlock(base).split('\n');
    for (QByteArray &l : lines)
        if (l.startsWith(kDisabledPrefix)) l = l.mid(qstrlen(kDisabledPrefix));
    const QRegularExpression keyLine(QStringLiteral("^\\s*%1\\s*=").arg(QString::fromLatin1(key)));
    for (QByteArray &l : lines) {
        if (l.trimmed().startsWith('[')) break;
        // A second definition of the key would make the file invalid TOML.
        if (keyLine.match(QString::fromUtf8(l)).hasMatch()) l = kDisabledPrefix + l;
    }
    QByteArray rest = lines.join('\n');
    QByteArray block =
        QByteArray(AppSetup::kBeginMarker) +
        " managed by `airlockctl setup codex`; undo: `airlockctl setup codex --undo`\n" + key +
        " = \"" + value + "\"\n" + AppSetup::kEndMarker + '\n';
    if (!rest.isEmpty()) block += '\n';
    return block + rest;
}

QString envLineValue(const QByteArray &text, const QByteArray &name) {
    const QRegularExpression re(QStringLiteral("^\\s*(?:export\\s+)?%1\\s*=\\s*['\"]?([^'\"\\s]*)")
                                    .arg(QString::fromLatin1(name)),
                                QRegularExpression::MultilineOption);
    QString last;
    auto it = re.globalMatch(QString::fromUtf8(text));
    while (it.hasNext()) last = it.next().captured(1);
    return last;
}

}  // namespace

struct AppSetup::Edit {
    QString path;
    QByteArray newBytes;
};

AppSetup::AppSetup(AppSetupParams params) : m_p(std::move(params)) {
    if (m_p.systemRootsPath.isEmpty()) {
        for (const char *p : {"/etc/ssl/certs/ca-certificates.crt",
                              "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"})
            if (QFileInfo::exists(QString::fromLatin1(p))) {
                m_p.systemRootsPath = QString::fromLatin1(p);
                break;
            }
    }
}

QStringList AppSetup::apps() {
    return {QStringLiteral("shell"), QStringLiteral("claude"), QStringLiteral("codex"),
            QStringLiteral("gemini"), QStringLiteral("vscode")};
}

QString AppSetup::manifestPath(const QString &app) const {
    return m_p.stateDir + QStringLiteral("/") + app + QStringLiteral(".json");
}

QString AppSetup::codexConfigPath() const {
    QString home = m_p.codexHome;
    if (home.isEmpty()) home = m_p.homeDir + QStringLiteral("/.codex");
    return home + QStringLiteral("/config.toml");
}

QString AppSetup::vscodeSettingsPath() const {
    const QString os = QSysInfo::productType();
    if (os == QLatin1String("macos") || os == QLatin1String("osx"))
        return m_p.homeDir + QStringLiteral("/Library/Application Support/Code/User/settings.json");
    if (os == QLatin1String("windows")) {
        const QString appData =
            QProcessEnvironment::systemEnvironment().value(QStringLiteral("APPDATA"));
        return (appData.isEmpty() ? m_p.homeDir + QStringLiteral("/AppData/Roaming") : appData) +
               QStringLiteral("/Code/User/settings.json");
    }
    return m_p.homeDir + QStringLiteral("/.config/Code/User/settings.json");
}

QStringList AppSetup::filesFor(const QString &app) const {
    const QString h = m_p.homeDir;
    if (app == QLatin1String("shell")) {
        QStringList files;
        for (const char *rc : {"/.bashrc", "/.zshrc", "/.profile"})
            if (QFileInfo::exists(h + QLatin1String(rc))) files.append(h + QLatin1String(rc));
        if (files.isEmpty()) files.append(h + QStringLiteral("/.profile"));
        return files;
    }
    if (app == QLatin1String("claude")) return {h + QStringLiteral("/.claude/settings.json")};
    if (app == QLatin1String("codex")) return {codexConfigPath()};
    if (app == QLatin1String("gemini")) return {h + QStringLiteral("/.gemini/.env")};
    if (app == QLatin1String("vscode")) return {vscodeSettingsPath()};
    return {};
}

bool AppSetup::writeCaBundle(QString *error) const {
    const FileState ca = readFile(m_p.caPemPath);
    if (!ca.exists || !ca.ok || ca.bytes.isEmpty()) {
        *error = QStringLiteral("no CA certificate at %1").arg(m_p.caPemPath);
        return false;
    }
    // Codex (rustls) and Python treat SSL_CERT_FILE as the whole root store: system roots too.
    QByteArray bundle = readFile(m_p.systemRootsPath).bytes;
    if (!bundle.isEmpty() && !bundle.endsWith('\n')) bundle += '\n';
    bundle += "# Airlock Local CA\n" + ca.bytes;
    QDir().mkpath(QFileInfo(m_p.caBundlePath).absolutePath());
    return writeFile(m_p.caBundlePath, bundle, error);
}

bool AppSetup::planEdits(const QString &app, QList<Edit> *edits, QStringList *notes,
                         QString *error) const {
    const QJsonObject manifest = [&] {
        const FileState m = readFile(manifestPath(app));
        return QJsonDocument::fromJson(m.bytes).object();
    }();
    const QJsonObject files = manifest.value(QStringLiteral("files")).toObject();
    for (const QString &path : filesFor(app)) {
        const FileState cur = readFile(path);
        if (!cur.ok) {
            *error = QStringLiteral("cannot read %1").arg(path);
            return false;
        }
        // Recompute from the original while the file is as setup left it: applying twice then
        // yields the same bytes. A file edited since is taken as it is now.
        QByteArray base = cur.bytes;
        const QJsonObject entry = files.value(path).toObject();
        if (!entry.isEmpty() &&
            entry.value(QStringLiteral("written_sha256")).toString().toLatin1() ==
                sha256(cur.bytes)) {
            const FileState orig = readFile(entry.value(QStringLiteral("backup")).toString());
            base = entry.value(QStringLiteral("existed")).toBool() ? orig.bytes : QByteArray();
        }
        QByteArray out;
        if (app == QLatin1String("shell")) {
            QByteArray body;
            body +=
                "export OPENAI_BASE_URL=" + shellQuote(m_p.proxyUrl + QStringLiteral("/v1")) + '\n';
            body += "export ANTHROPIC_BASE_URL=" + shellQuote(m_p.proxyUrl) + '\n';
            body += "export GOOGLE_GEMINI_BASE_URL=" + shellQuote(m_p.proxyUrl) + '\n';
            body += "export NODE_EXTRA_CA_CERTS=" + shellQuote(m_p.caPemPath) + '\n';
            body += "export SSL_CERT_FILE=" + shellQuote(m_p.caBundlePath) + '\n';
            body += "export REQUESTS_CA_BUNDLE=" + shellQuote(m_p.caBundlePath) + '\n';
            if (m_p.withHttpsProxy) {
                body += "export HTTPS_PROXY=" + shellQuote(m_p.proxyUrl) + '\n';
                body += "export NO_PROXY='localhost,127.0.0.1,::1'\n";
            }
            out = appendBlock(stripBlock(base), body);
        } else if (app == QLatin1String("gemini")) {
            out = appendBlock(stripBlock(base),
                              "GOOGLE_GEMINI_BASE_URL=" + m_p.proxyUrl.toUtf8() + '\n');
            notes->append(
                QStringLiteral("Gemini CLI honours the base URL with API-key auth "
                               "(GEMINI_API_KEY, security.auth.selectedType \"gemini-api-key\")"));
        } else if (app == QLatin1String("codex")) {
            out = tomlWithTopKey(base, "openai_base_url",
                                 (m_p.proxyUrl + QStringLiteral("/v1")).toUtf8());
        } else {
            QJsonObject o;
            if (!parseJsonObject(path, base, &o, error)) return false;
            if (app == QLatin1String("claude")) {
                QJsonObject env = o.value(QStringLiteral("env")).toObject();
                env.insert(QStringLiteral("ANTHROPIC_BASE_URL"), m_p.proxyUrl);
                o.insert(QStringLiteral("env"), env);
            } else {  // vscode
                o.insert(QStringLiteral("http.proxy"), m_p.proxyUrl);
                o.insert(QStringLiteral("http.proxySupport"), QStringLiteral("override"));
                o.insert(QStringLiteral("http.proxyStrictSSL"), true);
                notes->append(
                    QStringLiteral("VS Code verifies the intercepted AI hosts against the "
                                   "OS store: run `airlockctl ca install`"));
            }
            out = jsonBytes(o);
        }
        edits->append({path, out});
    }
    return true;
}

AppSetupResult AppSetup::apply(const QString &app) {
    AppSetupResult r;
    if (!apps().contains(app)) {
        r.ok = false;
        r.error = QStringLiteral("unknown app '%1' (known: %2)")
                      .arg(app, apps().join(QStringLiteral(", ")));
        return r;
    }
    if (!QDir().mkpath(m_p.stateDir + QStringLiteral("/backups"))) {
        r.ok = false;
        r.error = QStringLiteral("cannot create %1").arg(m_p.stateDir);
        return r;
    }
    if (app == QLatin1String("shell") && !writeCaBundle(&r.error)) {
        r.ok = false;
        return r;
    }
    QList<Edit> edits;
    if (!planEdits(app, &edits, &r.notes, &r.error)) {
        r.ok = false;
        return r;
    }
    QJsonObject manifest = QJsonDocument::fromJson(readFile(manifestPath(app)).bytes).object();
    QJsonObject files = manifest.value(QStringLiteral("files")).toObject();
    int index = files.size();
    for (const Edit &e : edits) {
        const FileState cur = readFile(e.path);
        QJsonObject entry = files.value(e.path).toObject();
        if (entry.isEmpty()) {
            // Backup first: nothing is changed before the original is safe.
            entry.insert(QStringLiteral("existed"), cur.exists);
            QStringList createdDirs;
            for (QString d = QFileInfo(e.path).absolutePath(); !QFileInfo::exists(d);) {
                createdDirs.prepend(d);
                const QString parent = QFileInfo(d).path();
                if (parent == d) break;
                d = parent;
            }
            entry.insert(QStringLiteral("created_dirs"), QJsonArray::fromStringList(createdDirs));
            if (cur.exists) {
                const QString backup = m_p.stateDir + QStringLiteral("/backups/%1-%2-%3")
                                                          .arg(app)
                                                          .arg(index++)
                                                          .arg(QFileInfo(e.path).fileName());
                if (!writeFile(backup, cur.bytes, &r.error)) {
                    r.ok = false;
                    return r;
                }
                QFile::setPermissions(backup, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
                entry.insert(QStringLiteral("backup"), backup);
            }
        }
        entry.insert(QStringLiteral("written_sha256"), QString::fromLatin1(sha256(e.newBytes)));
        files.insert(e.path, entry);
        manifest.insert(QStringLiteral("files"), files);
        manifest.insert(QStringLiteral("proxy_url"), m_p.proxyUrl);
        // The manifest is saved before the file changes, so a crash leaves an undo-able state.
        if (!writeFile(manifestPath(app), jsonBytes(manifest), &r.error)) {
            r.ok = false;
            return r;
        }
        if (cur.exists && cur.bytes == e.newBytes) continue;
        QDir().mkpath(QFileInfo(e.path).absolutePath());
        if (!writeFile(e.path, e.newBytes, &r.error)) {
            r.ok = false;
            return r;
        }
        r.changed.append(e.path);
    }
    return r;
}

AppSetupResult AppSetup::undo(const QString &app) {
    AppSetupResult r;
    if (!apps().contains(app)) {
        r.ok = false;
        r.error = QStringLiteral("unknown app '%1'").arg(app);
        return r;
    }
    const FileState m = readFile(manifestPath(app));
    if (!m.exists) {
        r.notes.append(QStringLiteral("%1 was not set up by Airlock; nothing to undo").arg(app));
        return r;
    }
    const QJsonObject files =
        QJsonDocument::fromJson(m.bytes).object().value(QStringLiteral("files")).toObject();
    for (auto it = files.begin(); it != files.end(); ++it) {
        const QString path = it.key();
        const QJsonObject entry = it.value().toObject();
        const FileState cur = readFile(path);
        if (cur.exists && sha256(cur.bytes) !=
                              entry.value(QStringLiteral("written_sha256")).toString().toLatin1()) {
            // Edited since setup: keep those edits beside the restored original.
            const QString aside = path + QStringLiteral(".airlock-undo-saved");
            if (!writeFile(aside, cur.bytes, &r.error)) {
                r.ok = false;
                return r;
            }
            r.notes.append(QStringLiteral("%1 changed after setup; that version is saved as %2")
                               .arg(path, aside));
        }
        if (entry.value(QStringLiteral("existed")).toBool()) {
            const FileState orig = readFile(entry.value(QStringLiteral("backup")).toString());
            if (!orig.exists) {
                r.ok = false;
                r.error = QStringLiteral("the backup of %1 is missing").arg(path);
                return r;
            }
            if (!writeFile(path, orig.bytes, &r.error)) {
                r.ok = false;
                return r;
            }
            QFile::remove(entry.value(QStringLiteral("backup")).toString());
        } else if (cur.exists && !QFile::remove(path)) {
            r.ok = false;
            r.error = QStringLiteral("cannot remove %1").arg(path);
            return r;
        }
        r.changed.append(path);
        const QJsonArray dirs = entry.value(QStringLiteral("created_dirs")).toArray();
        for (qsizetype i = dirs.size() - 1; i >= 0; --i) QDir().rmdir(dirs.at(i).toString());
    }
    QFile::remove(manifestPath(app));
    return r;
}

AppSetupStatus AppSetup::status(const QString &app) const {
    AppSetupStatus s;
    s.app = app;
    s.configured = QFileInfo::exists(manifestPath(app));
    for (const QString &path : filesFor(app)) {
        const FileState f = readFile(path);
        if (!f.exists) continue;
        QStringList urls;
        if (app == QLatin1String("shell")) {
            for (const char *v :
                 {"OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "GOOGLE_GEMINI_BASE_URL", "HTTPS_PROXY"})
                if (const QString u = envLineValue(f.bytes, v); !u.isEmpty()) urls.append(u);
        } else if (app == QLatin1String("gemini")) {
            if (const QString u = envLineValue(f.bytes, "GOOGLE_GEMINI_BASE_URL"); !u.isEmpty())
                urls.append(u);
        } else if (app == QLatin1String("codex")) {
            const QRegularExpression re(
                QStringLiteral("^\\s*(?:openai_base_url|base_url)\\s*=\\s*\"([^\"]*)\""),
                QRegularExpression::MultilineOption);
            auto it = re.globalMatch(QString::fromUtf8(f.bytes));
            while (it.hasNext()) urls.append(it.next().captured(1));
        } else {
            const QJsonObject o = QJsonDocument::fromJson(f.bytes).object();
            const QString u = app == QLatin1String("claude")
                                  ? o.value(QStringLiteral("env"))
                                        .toObject()
                                        .value(QStringLiteral("ANTHROPIC_BASE_URL"))
                                        .toString()
                                  : o.value(QStringLiteral("http.proxy")).toString();
            if (!u.isEmpty()) urls.append(u);
        }
        if (!urls.isEmpty()) {
            s.files.append(path);
            for (const QString &u : urls)
                if (!s.pointsTo.contains(u)) s.pointsTo.append(u);
        }
    }
    s.detail = s.configured ? QStringLiteral("set up by Airlock")
                            : (s.pointsTo.isEmpty() ? QStringLiteral("not set up")
                                                    : QStringLiteral("configured by hand"));
    return s;
}

}  // namespace airlock
