// appNameFor(): the app name attribution gives to an executable and its command line.
#include <QtTest>

#include "platform/process_resolver.h"

using airlock::appNameFor;

class TstAppName : public QObject {
    Q_OBJECT

private slots:
    void namesAppFromExecutableAndArguments_data();
    void namesAppFromExecutableAndArguments();
    void boundsAndCleansNamesFromHostileCommandLines();
};

void TstAppName::namesAppFromExecutableAndArguments_data() {
    QTest::addColumn<QString>("exe");
    QTest::addColumn<QStringList>("argv");
    QTest::addColumn<QString>("expected");

    const auto row = [](const char *name, const QString &exe, const QStringList &argv,
                        const QString &expected) {
        QTest::newRow(name) << exe << argv << expected;
    };

    // Plain executables keep their base name, known apps included.
    row("plain binary", "/usr/bin/curl", {"curl", "-s", "http://x"}, "curl");
    row("claude native", "/usr/local/bin/claude", {"claude", "-p", "hi"}, "claude");
    row("codex native", "/home/u/.npm/lib/node_modules/@openai/codex/vendor/codex/codex",
        {"codex", "exec"}, "codex");
    row("cursor", "/opt/cursor/cursor", {"/opt/cursor/cursor", "--type=renderer"}, "cursor");
    row("vs code electron binary", "/usr/share/code/code", {"/usr/share/code/code", "main.js"},
        "code");
    row("windows exe suffix", "C:\\Program Files\\Foo\\Foo.exe", {}, "Foo");
    row("windows exe upper suffix", "C:\\Tools\\CURL.EXE", {}, "CURL");
    row("exe unknown, argv[0] used", "", {"/usr/bin/wget", "x"}, "wget");
    row("nothing known", "", {}, "unknown");
    row("exe is a directory-like path", "/", {}, "unknown");

    // Natively installed versioned binaries ("~/.local/share/claude/versions/2.1.12").
    row("versioned exe uses argv[0]", "/home/u/.local/share/claude/versions/2.1.12",
        {"claude", "--resume"}, "claude");
    row("versioned exe without argv uses install dir",
        "/home/u/.local/share/claude/versions/2.1.12", {}, "claude");

    // node and friends: the script, its package, or the interpreter for inline code.
    row("node script", "/usr/bin/node", {"node", "/tmp/e2e_sdk.mjs"}, "e2e_sdk");
    row("node keeps inner dots", "/usr/bin/node", {"node", "sdk.test.mjs"}, "sdk.test");
    row("node flags skipped", "/usr/bin/node",
        {"node", "--no-warnings", "--enable-source-maps", "--max-old-space-size=4096", "app.js"},
        "app");
    row("node -r value skipped", "/usr/bin/node", {"node", "-r", "dotenv/config", "server.js"},
        "server");
    row("node --require value skipped", "/usr/bin/node",
        {"node", "--require", "ts-node/register", "main.ts"}, "main");
    row("node --import value skipped", "/usr/bin/node",
        {"node", "--import", "tsx", "./src/agent.ts"}, "agent");
    row("node --loader value skipped", "/usr/bin/node",
        {"node", "--loader", "ts-node/esm", "x.mts"}, "x");
    row("node --import=value inline", "/usr/bin/node", {"node", "--import=tsx", "bot.ts"}, "bot");
    row("node -- ends options", "/usr/bin/node", {"node", "--", "-weird.js"}, "-weird");
    row("node -e is the interpreter", "/usr/bin/node", {"node", "-e", "fetch(x)"}, "node");
    row("node -pe cluster is inline code", "/usr/bin/node", {"node", "-pe", "1+1"}, "node");
    row("node REPL", "/usr/bin/node", {"node"}, "node");
    row("nodejs name", "/usr/bin/nodejs", {"nodejs", "/srv/job.cjs"}, "job");
    row("claude code package", "/usr/bin/node",
        {"node", "/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js"}, "claude");
    row("codex package", "/home/u/.nvm/versions/node/v20.11.0/bin/node",
        {"node", "/home/u/.nvm/versions/node/v20.11.0/lib/node_modules/@openai/codex/bin/codex.js"},
        "codex");
    row("gemini package", "/usr/bin/node",
        {"node", "--no-warnings=DEP0040", "/usr/lib/node_modules/@google/gemini-cli/dist/index.js"},
        "gemini");
    row("scoped unknown package", "/usr/bin/node",
        {"node", "/app/node_modules/@acme/agent-cli/dist/main.js"}, "agent-cli");
    row("unscoped package", "/usr/bin/node", {"node", "/app/node_modules/aider-js/bin/run.js"},
        "aider-js");
    row("last node_modules wins", "/usr/bin/node",
        {"node", "/a/node_modules/outer/node_modules/inner/index.js"}, "inner");
    row(".bin shim uses script name", "/usr/bin/node", {"node", "/app/node_modules/.bin/tsx"},
        "tsx");
    row("global bin symlink", "/usr/bin/node", {"node", "/usr/bin/gemini", "-p", "x"}, "gemini");
    row("windows node path", "C:\\Program Files\\nodejs\\node.exe",
        {"node.exe",
         "C:\\Users\\u\\AppData\\Roaming\\npm\\node_modules\\@anthropic-ai\\claude-code\\cli.js"},
        "claude");
    row("bun run", "/home/u/.bun/bin/bun", {"bun", "run", "index.ts"}, "index");
    row("bun direct", "/home/u/.bun/bin/bun", {"bun", "--smol", "agent.ts"}, "agent");
    row("deno run", "/usr/bin/deno", {"deno", "run", "-A", "--allow-net=x", "tool.ts"}, "tool");
    row("electron app dir", "/usr/lib/electron/electron",
        {"electron", "/opt/Chatbox/resources/app.asar"}, "Chatbox");
    row("electron dot", "/usr/lib/electron/electron", {"electron", "."}, "electron");

    // python: -m names a module, -c is inline code, site-packages names the package.
    row("python script", "/usr/bin/python3.11", {"python3", "/home/u/bin/ask.py"}, "ask");
    row("python flags skipped", "/usr/bin/python3", {"python3", "-u", "-B", "run.py"}, "run");
    row("python -W value skipped", "/usr/bin/python3", {"python3", "-W", "ignore", "w.py"}, "w");
    row("python -X value attached", "/usr/bin/python3", {"python3", "-Ximporttime", "x.py"}, "x");
    row("python -m module", "/usr/bin/python3", {"python3", "-m", "aider", "--model", "x"},
        "aider");
    row("python -m dotted module", "/usr/bin/python3", {"python3", "-m", "openai.cli", "api"},
        "openai");
    row("python clustered -um", "/usr/bin/python3", {"python3", "-um", "pytest"}, "pytest");
    row("python attached -mmodule", "/usr/bin/python3", {"python3", "-mhttpx"}, "httpx");
    row("python -c is the interpreter", "/usr/bin/python3.12", {"python3", "-c", "import x"},
        "python3.12");
    row("python stdin", "/usr/bin/python3", {"python3", "-"}, "python3");
    row("pythonw", "C:\\Python311\\pythonw.exe", {"pythonw", "gui.pyw"}, "gui");
    row("site-packages package", "/usr/bin/python3",
        {"python3", "/venv/lib/python3.11/site-packages/litellm/proxy/proxy_cli.py"}, "litellm");
    row("dist-packages package", "/usr/bin/python3",
        {"python3", "/usr/lib/python3/dist-packages/llm/__main__.py"}, "llm");
    row("site-packages single module", "/usr/bin/python3",
        {"python3", "/venv/lib/python3.11/site-packages/six.py"}, "six");
    row("venv console script", "/usr/bin/python3.11", {"/venv/bin/python", "/venv/bin/aider"},
        "aider");

    // other interpreters
    row("ruby script", "/usr/bin/ruby3.1", {"ruby", "-rjson", "-I", "lib", "chat.rb"}, "chat");
    row("ruby -e", "/usr/bin/ruby", {"ruby", "-e", "puts 1"}, "ruby");
    row("perl script", "/usr/bin/perl", {"perl", "-Mstrict", "-w", "tool.pl"}, "tool");
    row("perl -e", "/usr/bin/perl", {"perl", "-e", "print 1"}, "perl");
    row("php script", "/usr/bin/php8.2", {"php", "-d", "memory_limit=1G", "bot.php"}, "bot");
    row("php -f", "/usr/bin/php", {"php", "-f", "/srv/cron.php"}, "cron");
    row("php -r", "/usr/bin/php", {"php", "-r", "echo 1;"}, "php");
    row("java -jar", "/usr/lib/jvm/bin/java",
        {"java", "-Xmx1g", "-Dx=y", "-jar", "/opt/tool/assistant.jar"}, "assistant");
    row("java main class", "/usr/lib/jvm/bin/java",
        {"java", "-cp", "a.jar:b.jar", "org.example.cli.ChatMain", "arg"}, "ChatMain");
    row("java --module", "/usr/lib/jvm/bin/java",
        {"java", "--module", "com.acme.agent/com.acme.agent.Main"}, "agent");
    row("dotnet dll", "/usr/bin/dotnet", {"dotnet", "/opt/bot/Bot.dll"}, "Bot");
    row("dotnet exec dll", "/usr/bin/dotnet", {"dotnet", "exec", "Tool.dll"}, "Tool");
    row("dotnet sdk verb", "/usr/bin/dotnet", {"dotnet", "run"}, "dotnet");
    row("Rscript file", "/usr/bin/Rscript", {"Rscript", "--vanilla", "model.R"}, "model");
    row("Rscript -e", "/usr/bin/Rscript", {"Rscript", "-e", "1"}, "Rscript");
    row("sh script", "/bin/sh", {"/bin/sh", "/usr/local/bin/ask-llm.sh"}, "ask-llm");
    row("bash -c", "/usr/bin/bash", {"bash", "-c", "curl x"}, "bash");
    row("bash -xc cluster", "/usr/bin/bash", {"bash", "-xc", "curl x"}, "bash");
    row("bash -o value skipped", "/usr/bin/bash", {"bash", "-o", "pipefail", "run.sh"}, "run");
    row("zsh script", "/usr/bin/zsh", {"zsh", "-l", "deploy.zsh"}, "deploy");
    row("interpreter with empty argv", "/usr/bin/python3", {}, "python3");
    row("interpreter option missing its value", "/usr/bin/node", {"node", "-r"}, "node");
}

void TstAppName::namesAppFromExecutableAndArguments() {
    QFETCH(QString, exe);
    QFETCH(QStringList, argv);
    QFETCH(QString, expected);
    QCOMPARE(appNameFor(exe, argv), expected);
}

void TstAppName::boundsAndCleansNamesFromHostileCommandLines() {
    const QString longName = QString(1000, QLatin1Char('a'));
    const QString name = appNameFor(QStringLiteral("/usr/bin/node"),
                                    {QStringLiteral("node"), QStringLiteral("/tmp/") + longName});
    QCOMPARE(name.size(), 128);
    QVERIFY(name.startsWith(QLatin1String("aaaa")));

    const QString withControls =
        appNameFor(QStringLiteral("/usr/bin/evil\n\x01name"), {QStringLiteral("evil")});
    QCOMPARE(withControls, QStringLiteral("evilname"));

    QCOMPARE(appNameFor(QStringLiteral("/usr/bin/node"), {QStringLiteral("node"), QString("\n\t")}),
             QStringLiteral("unknown"));

    // A command line far longer than anything real is inspected only up to a bound.
    QStringList manyFlags{QStringLiteral("node")};
    for (int i = 0; i < 100000; ++i) manyFlags.append(QStringLiteral("--flag"));
    manyFlags.append(QStringLiteral("late.js"));
    QCOMPARE(appNameFor(QStringLiteral("/usr/bin/node"), manyFlags), QStringLiteral("node"));
}

QTEST_GUILESS_MAIN(TstAppName)
#include "tst_app_name.moc"
