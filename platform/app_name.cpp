// appNameFor(): turns an executable path and its command line into the app name the ledger and the
// policy's "apps" keys use. OS-independent; the resolvers of every OS call it.
#include "platform/process_resolver.h"

#include <QRegularExpression>
#include <QStringView>

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

namespace airlock {

namespace {

// App names go into the ledger, logs and policy lookups; a process controls its own argv, so
// the name is bounded and stripped of control characters.
constexpr qsizetype maxAppNameChars = 128;
// Only the first arguments can name the script; never walk a pathological command line.
constexpr qsizetype maxArgsInspected = 256;

const QString unknownApp = QStringLiteral("unknown");

enum class Family { Node, Python, Ruby, Perl, Php, Java, Dotnet, R, Shell };

// How one interpreter family spells its command line. Option names include their dashes.
struct Syntax {
    std::vector<QStringView> valueOptions;   // consume the next argument
    std::vector<QStringView> codeOptions;    // inline program: no script to name
    std::vector<QStringView> moduleOptions;  // value names a module (python -m)
    std::vector<QStringView> scriptOptions;  // value is the script (java -jar, php -f)
    std::vector<QStringView> subcommands;    // skipped when first (bun run, deno run)
    bool clusteredShortOptions;              // "-um mod", "-pe code", "-xc cmd"
};

const Syntax &syntaxFor(Family family) {
    static const Syntax node{{u"-r",
                              u"--require",
                              u"--import",
                              u"--loader",
                              u"--experimental-loader",
                              u"-C",
                              u"--conditions",
                              u"--input-type",
                              u"--env-file",
                              u"--title",
                              u"--inspect-port",
                              u"--debug-port",
                              u"--redirect-warnings",
                              u"--diagnostic-dir",
                              u"--report-dir",
                              u"--report-directory",
                              u"--report-filename",
                              u"--cpu-prof-dir",
                              u"--cpu-prof-name",
                              u"--heap-prof-dir",
                              u"--heap-prof-name",
                              u"--openssl-config",
                              u"--icu-data-dir",
                              u"--tls-cipher-list",
                              u"--disable-warning",
                              u"--watch-path",
                              u"--experimental-policy",
                              u"--unhandled-rejections",
                              u"--dns-result-order",
                              u"--stack-trace-limit",
                              u"--max-old-space-size",
                              u"--config",
                              u"--cwd",
                              u"--preload",
                              u"--tsconfig-override",
                              u"--location",
                              u"--seed",
                              u"--cert",
                              u"--import-map"},
                             {u"-e", u"--eval", u"-p", u"--print", u"-i", u"--interactive"},
                             {},
                             {},
                             {u"run"},
                             true};
    static const Syntax python{
        {u"-W", u"-X", u"--check-hash-based-pycs"}, {u"-c"}, {u"-m"}, {}, {}, true};
    static const Syntax ruby{
        {u"-I", u"-r", u"-C", u"-E", u"--encoding"}, {u"-e", u"-"}, {}, {}, {}, true};
    static const Syntax perl{{u"-I", u"-M", u"-m", u"-C"}, {u"-e", u"-E", u"-"}, {}, {}, {}, true};
    static const Syntax php{{u"-c", u"-d", u"-z"}, {u"-r", u"-a", u"-"}, {}, {u"-f"}, {}, true};
    static const Syntax java{
        {u"-cp", u"-classpath", u"--class-path", u"-p", u"--module-path", u"--add-modules",
         u"--add-opens", u"--add-exports", u"--add-reads", u"--upgrade-module-path",
         u"--limit-modules", u"--enable-native-access"},
        {},
        {u"-m", u"--module"},
        {u"-jar"},
        {},
        false};
    static const Syntax dotnet{{u"--additionalprobingpath", u"--depsfile", u"--runtimeconfig",
                                u"--fx-version", u"--roll-forward", u"--additional-deps"},
                               {},
                               {},
                               {},
                               {u"exec"},
                               false};
    static const Syntax r{{}, {u"-e"}, {}, {u"--file"}, {}, false};
    static const Syntax shell{{u"-o", u"+o", u"-O", u"+O", u"--rcfile", u"--init-file"},
                              {u"-c", u"-s"},
                              {},
                              {},
                              {},
                              true};
    switch (family) {
        case Family::Node:
            return node;
        case Family::Python:
            return python;
        case Family::Ruby:
            return ruby;
        case Family::Perl:
            return perl;
        case Family::Php:
            return php;
        case Family::Java:
            return java;
        case Family::Dotnet:
            return dotnet;
        case Family::R:
            return r;
        case Family::Shell:
            return shell;
    }
    return shell;
}

bool contains(const std::vector<QStringView> &list, QStringView value) {
    for (QStringView item : list) {
        if (item == value) return true;
    }
    return false;
}

std::optional<Family> interpreterFamily(const QString &name) {
    const QString lower = name.toLower();
    static const QRegularExpression pythonName(QStringLiteral("^(python|pypy)[0-9.]*w?$"));
    static const QRegularExpression rubyName(QStringLiteral("^ruby[0-9.]*$"));
    static const QRegularExpression perlName(QStringLiteral("^perl[0-9.]*$"));
    static const QRegularExpression phpName(QStringLiteral("^php[0-9.]*$"));
    if (lower == u"node" || lower == u"nodejs" || lower == u"bun" || lower == u"deno" ||
        lower == u"electron")
        return Family::Node;
    if (pythonName.match(lower).hasMatch()) return Family::Python;
    if (rubyName.match(lower).hasMatch()) return Family::Ruby;
    if (perlName.match(lower).hasMatch()) return Family::Perl;
    if (phpName.match(lower).hasMatch()) return Family::Php;
    if (lower == u"java" || lower == u"javaw") return Family::Java;
    if (lower == u"dotnet") return Family::Dotnet;
    if (lower == u"rscript") return Family::R;
    if (lower == u"sh" || lower == u"bash" || lower == u"zsh" || lower == u"dash" ||
        lower == u"ksh")
        return Family::Shell;
    return std::nullopt;
}

// Paths from any OS: Windows separators count as separators too.
QString normalizedPath(const QString &path) {
    QString out = path;
    out.replace(QLatin1Char('\\'), QLatin1Char('/'));
    while (out.size() > 1 && out.endsWith(QLatin1Char('/'))) out.chop(1);
    return out;
}

QString baseName(const QString &path) {
    const QString normalized = normalizedPath(path);
    return normalized.mid(normalized.lastIndexOf(QLatin1Char('/')) + 1);
}

QString withoutExeSuffix(QString name) {
    if (name.endsWith(QLatin1String(".exe"), Qt::CaseInsensitive)) name.chop(4);
    return name;
}

QString withoutExtension(const QString &name) {
    const qsizetype dot = name.lastIndexOf(QLatin1Char('.'));
    return dot > 0 ? name.left(dot) : name;
}

// Native installers keep versions side by side ("~/.local/share/claude/versions/2.1.12").
bool looksLikeVersion(const QString &name) {
    static const QRegularExpression version(QStringLiteral("^v?[0-9]+(\\.[0-9]+)*([-+_.].*)?$"));
    return version.match(name).hasMatch();
}

QString knownPackageApp(const QString &package) {
    struct Known {
        QStringView package;
        QStringView app;
    };
    static constexpr std::array<Known, 3> known{{
        {u"@anthropic-ai/claude-code", u"claude"},
        {u"@openai/codex", u"codex"},
        {u"@google/gemini-cli", u"gemini"},
    }};
    for (const Known &k : known) {
        if (k.package == package) return k.app.toString();
    }
    return {};
}

// The package directory right after the last marker ("node_modules/", "site-packages/").
QString packageAfter(const QString &path, QLatin1StringView marker, bool scoped) {
    const qsizetype at = path.lastIndexOf(marker);
    if (at < 0) return {};
    const QStringList parts = path.mid(at + marker.size()).split(QLatin1Char('/'));
    if (parts.isEmpty() || parts.first().isEmpty() || parts.first().startsWith(QLatin1Char('.')))
        return {};
    if (scoped && parts.first().startsWith(QLatin1Char('@'))) {
        if (parts.size() < 2 || parts.at(1).isEmpty()) return {};
        const QString full = parts.first() + QLatin1Char('/') + parts.at(1);
        const QString mapped = knownPackageApp(full);
        return mapped.isEmpty() ? parts.at(1) : mapped;
    }
    QString mapped = knownPackageApp(parts.first());
    if (!mapped.isEmpty()) return mapped;
    // "site-packages/six.py" is a module of its own.
    return parts.size() == 1 ? withoutExtension(parts.first()) : parts.first();
}

QString nameFromScript(const QString &script, Family family) {
    const QString path = normalizedPath(script);
    QString name = packageAfter(path, QLatin1StringView("node_modules/"), true);
    if (name.isEmpty()) name = packageAfter(path, QLatin1StringView("site-packages/"), false);
    if (name.isEmpty()) name = packageAfter(path, QLatin1StringView("dist-packages/"), false);
    if (!name.isEmpty()) return name;

    const QString base = baseName(path);
    if (family == Family::Java && !base.endsWith(QLatin1String(".jar"), Qt::CaseInsensitive) &&
        !base.endsWith(QLatin1String(".java"), Qt::CaseInsensitive)) {
        // A main class: "org.example.cli.Main" -> "Main".
        return base.mid(base.lastIndexOf(QLatin1Char('.')) + 1);
    }
    if (family == Family::Dotnet && !base.endsWith(QLatin1String(".dll"), Qt::CaseInsensitive) &&
        !base.endsWith(QLatin1String(".exe"), Qt::CaseInsensitive)) {
        return {};  // "dotnet run", "dotnet build": an SDK verb, not an app
    }
    // Electron apps are started as "electron /opt/Foo/resources/app.asar".
    if (family == Family::Node && (base == u"app" || base == u"app.asar")) {
        const QStringList parts = path.split(QLatin1Char('/'), Qt::SkipEmptyParts);
        if (parts.size() >= 3 && parts.at(parts.size() - 2) == u"resources")
            return parts.at(parts.size() - 3);
    }
    if (base == u"." || base == u"..") return {};
    return withoutExtension(base);
}

QString topLevelModule(const QString &module, Family family) {
    if (family == Family::Java) {
        // "--module app/org.example.Main" names the module; its last dotted part reads best.
        const QString mod = module.section(QLatin1Char('/'), 0, 0);
        return mod.mid(mod.lastIndexOf(QLatin1Char('.')) + 1);
    }
    return module.section(QLatin1Char('.'), 0, 0);
}

// What the interpreter's command line runs: empty when it is inline code, a REPL or unknowable.
QString nameFromInterpreterArgs(Family family, const QStringList &argv) {
    const Syntax &syntax = syntaxFor(family);
    const qsizetype end = std::min(argv.size(), maxArgsInspected);
    bool optionsDone = false;
    bool subcommandAllowed = true;
    for (qsizetype i = 1; i < end; ++i) {
        const QString &arg = argv.at(i);
        const auto nextArg = [&]() -> QString { return i + 1 < end ? argv.at(++i) : QString(); };

        if (!optionsDone && arg == u"--") {
            optionsDone = true;
            continue;
        }
        if (optionsDone || arg.isEmpty() ||
            !(arg.startsWith(QLatin1Char('-')) ||
              (family == Family::Shell && arg.startsWith(QLatin1Char('+'))))) {
            if (!optionsDone && subcommandAllowed && contains(syntax.subcommands, arg)) {
                subcommandAllowed = false;
                continue;
            }
            return nameFromScript(arg, family);
        }
        if (arg == u"-") return {};  // program read from stdin

        // "--name=value" carries its own value.
        const qsizetype eq =
            arg.startsWith(QLatin1String("--")) ? arg.indexOf(QLatin1Char('=')) : -1;
        const QStringView name = eq > 0 ? QStringView(arg).left(eq) : QStringView(arg);
        const QString inlineValue = eq > 0 ? arg.mid(eq + 1) : QString();

        if (contains(syntax.codeOptions, name)) return {};
        if (contains(syntax.moduleOptions, name)) {
            const QString module = eq > 0 ? inlineValue : nextArg();
            return module.isEmpty() ? QString() : topLevelModule(module, family);
        }
        if (contains(syntax.scriptOptions, name)) {
            const QString script = eq > 0 ? inlineValue : nextArg();
            return script.isEmpty() ? QString() : nameFromScript(script, family);
        }
        if (contains(syntax.valueOptions, name)) {
            if (eq < 0) nextArg();
            continue;
        }
        if (syntax.clusteredShortOptions && !arg.startsWith(QLatin1String("--")) &&
            arg.size() > 2) {
            // "-um pkg", "-pe code", "-Ilib": each letter is an option until one takes a value.
            for (qsizetype c = 1; c < arg.size(); ++c) {
                const QString option = arg.at(0) + QString(arg.at(c));
                const QString rest = arg.mid(c + 1);
                if (contains(syntax.codeOptions, option)) return {};
                if (contains(syntax.moduleOptions, option)) {
                    const QString module = rest.isEmpty() ? nextArg() : rest;
                    return module.isEmpty() ? QString() : topLevelModule(module, family);
                }
                if (contains(syntax.scriptOptions, option)) {
                    const QString script = rest.isEmpty() ? nextArg() : rest;
                    return script.isEmpty() ? QString() : nameFromScript(script, family);
                }
                if (contains(syntax.valueOptions, option)) {
                    if (rest.isEmpty()) nextArg();
                    break;
                }
            }
        }
        // Any other option is a flag.
    }
    return {};
}

QString sanitized(const QString &name) {
    QString out;
    out.reserve(std::min(name.size(), maxAppNameChars));
    for (QChar ch : name) {
        if (out.size() >= maxAppNameChars) break;
        if (ch.unicode() < 0x20 || ch.unicode() == 0x7f) continue;
        out.append(ch);
    }
    out = out.trimmed();
    return out.isEmpty() ? unknownApp : out;
}

// The name of a natively installed, versioned executable: argv[0], else the directory that holds
// the versions ("~/.local/share/claude/versions/2.1.12" -> "claude").
QString nameForVersionedExe(const QString &exePath, const QStringList &argv) {
    if (!argv.isEmpty()) {
        QString fromArgv = withoutExeSuffix(baseName(argv.first()));
        if (!fromArgv.isEmpty() && !looksLikeVersion(fromArgv) && !interpreterFamily(fromArgv))
            return fromArgv;
    }
    QStringList parts = normalizedPath(exePath).split(QLatin1Char('/'), Qt::SkipEmptyParts);
    if (!parts.isEmpty()) parts.removeLast();
    while (!parts.isEmpty()) {
        QString dir = parts.takeLast();
        if (dir != u"versions" && dir != u"bin" && !looksLikeVersion(dir)) return dir;
    }
    return {};
}

}  // namespace

// The rules, in order (tests/unit/tst_app_name.cpp has rows for each):
// 1. The executable is exePath, or argv[0] when exePath is empty; its base name with a trailing
//    ".exe" removed ('\\' counts as a separator too). Nothing left: "unknown".
// 2. A base name that is a version ("2.1.12": native installers keep versions side by side,
//    ~/.local/share/claude/versions/2.1.12) is replaced by argv[0]'s base name, or else by the
//    nearest directory above it that is not "versions", "bin" or a version ("claude").
// 3. An interpreter (node, nodejs, bun, deno, electron; python*, pythonw, pypy*; ruby*; perl*;
//    php*; java, javaw; dotnet; Rscript; sh, bash, zsh, dash, ksh) is named by what it runs.
//    argv is read past the interpreter's options: flags are skipped, options that take a value
//    (node -r/--require/--import/--loader/-C…, python -W/-X, java -cp…) skip it too, "--"
//    ends the options, "--opt=value" carries its own value, and single-letter options may be
//    clustered ("-um mod", "-pe code", "-xc cmd") for node, python, ruby, perl, php and shells.
//    bun/deno "run" and dotnet "exec" are skipped before the script.
//    - Inline code or a REPL (node -e/-p/-i, python -c or "-", ruby/perl -e, php -r/-a,
//      bash -c/-s, Rscript -e, no script at all, dotnet SDK verbs): the interpreter's base name.
//    - A module (python -m pkg.mod, java -m mod/Main): its top-level name ("pkg"; java: the last
//      dotted part of the module name).
//    - A script path (also php -f FILE, java -jar FILE): the package after the last
//      "node_modules/" ("@scope/name" gives "name"; "@anthropic-ai/claude-code" -> "claude",
//      "@openai/codex" -> "codex", "@google/gemini-cli" -> "gemini"; ".bin" shims fall through),
//      else the top-level package after "site-packages/" or "dist-packages/", else the script's
//      base name without its last extension ("/tmp/e2e_sdk.mjs" -> "e2e_sdk", "sdk.test.mjs" ->
//      "sdk.test"). Special forms: a java main class gives its last dotted part
//      ("org.x.ChatMain" -> "ChatMain"); electron ".../Foo/resources/app.asar" gives "Foo".
// 4. Anything else keeps its base name: known apps (claude, codex, cursor, code…) included.
// 5. The result has control characters removed and is cut to 128 characters; empty: "unknown".
QString appNameFor(const QString &exePath, const QStringList &argv) {
    const QString exe = exePath.isEmpty() && !argv.isEmpty() ? argv.first() : exePath;
    QString name = withoutExeSuffix(baseName(exe));
    if (name.isEmpty()) return unknownApp;

    if (looksLikeVersion(name)) return sanitized(nameForVersionedExe(exe, argv));

    if (const std::optional<Family> family = interpreterFamily(name)) {
        const QString script = nameFromInterpreterArgs(*family, argv);
        if (!script.isEmpty()) return sanitized(script);
    }
    return sanitized(name);
}

}  // namespace airlock
