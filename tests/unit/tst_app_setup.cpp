// App setup on a temporary HOME: every app's files are backed up, edited idempotently (merging,
// never clobbering), and restored byte for byte by undo; files setup created are removed again.
#include "platform/app_setup.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMap>
#include <QTemporaryDir>
#include <QTest>

using namespace airlock;

class TstAppSetup : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_tmp;

    QString home() const { return m_tmp.filePath(QStringLiteral("home")); }

    static void write(const QString &path, const QByteArray &bytes) {
        QDir().mkpath(QFileInfo(path).absolutePath());
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(bytes);
    }
    static QByteArray read(const QString &path) {
        QFile f(path);
        return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
    }
    QMap<QString, QByteArray> snapshot() const {
        QMap<QString, QByteArray> files;
        QDirIterator it(home(), QDir::Files | QDir::Dirs | QDir::Hidden | QDir::NoDotAndDotDot,
                        QDirIterator::Subdirectories);
        while (it.hasNext()) {
            const QString p = it.next();
            files.insert(p, QFileInfo(p).isDir() ? QByteArray("<dir>") : read(p));
        }
        return files;
    }
    AppSetupParams params() const {
        AppSetupParams p;
        p.homeDir = home();
        p.proxyUrl = QStringLiteral("http://127.0.0.1:18484");
        p.caPemPath = m_tmp.filePath(QStringLiteral("data/ca/airlock-ca.pem"));
        p.caBundlePath = m_tmp.filePath(QStringLiteral("data/ca/bundle.pem"));
        p.stateDir = m_tmp.filePath(QStringLiteral("data/setup"));
        p.systemRootsPath = m_tmp.filePath(QStringLiteral("roots.pem"));
        return p;
    }

private Q_SLOTS:
    void init() {
        QDir(home()).removeRecursively();
        QDir(m_tmp.filePath(QStringLiteral("data"))).removeRecursively();
        QDir().mkpath(home());
        write(params().caPemPath,
              "-----BEGIN CERTIFICATE-----\nAIRLOCK\n-----END CERTIFICATE-----\n");
        write(params().systemRootsPath,
              "-----BEGIN CERTIFICATE-----\nSYSTEM\n-----END CERTIFICATE-----");
    }

    void roundTripRestoresEveryFileByteForByte() {
        write(home() + QStringLiteral("/.bashrc"), "# bashrc without final newline");
        write(home() + QStringLiteral("/.zshrc"), "setopt nobeep\n\n");
        write(home() + QStringLiteral("/.claude/settings.json"),
              "{ \"env\": { \"FOO\": \"bar\" }, \"theme\": \"dark\" }\n");
        write(home() + QStringLiteral("/.codex/config.toml"),
              "  openai_base_url = \"https://elsewhere/v1\"\nmodel = "
              "\"o3\"\n[profiles.a]\nopenai_base_url = \"x\"\n");
        const QMap<QString, QByteArray> before = snapshot();
        AppSetup setup(params());
        for (const QString &app : AppSetup::apps()) {
            const AppSetupResult r = setup.apply(app);
            QVERIFY2(r.ok, qPrintable(app + QStringLiteral(": ") + r.error));
            QVERIFY2(!r.changed.isEmpty(), qPrintable(app));
        }
        const QMap<QString, QByteArray> applied = snapshot();
        QVERIFY(applied != before);
        const QJsonObject claude =
            QJsonDocument::fromJson(read(home() + QStringLiteral("/.claude/settings.json")))
                .object();
        QCOMPARE(claude.value(QStringLiteral("env"))
                     .toObject()
                     .value(QStringLiteral("ANTHROPIC_BASE_URL"))
                     .toString(),
                 QStringLiteral("http://127.0.0.1:18484"));
        QCOMPARE(
            claude.value(QStringLiteral("env")).toObject().value(QStringLiteral("FOO")).toString(),
            QStringLiteral("bar"));
        QCOMPARE(claude.value(QStringLiteral("theme")).toString(), QStringLiteral("dark"));
        const QByteArray codex = read(home() + QStringLiteral("/.codex/config.toml"));
        QVERIFY(codex.startsWith(AppSetup::kBeginMarker));
        QVERIFY(codex.contains("openai_base_url = \"http://127.0.0.1:18484/v1\"\n"));
        QVERIFY(codex.contains("# airlock disabled:   openai_base_url = \"https://elsewhere/v1\""));
        QVERIFY2(codex.contains("[profiles.a]\nopenai_base_url = \"x\""),
                 "keys inside tables are left alone");
        QVERIFY(read(params().caBundlePath).contains("SYSTEM"));
        QVERIFY(read(params().caBundlePath).contains("AIRLOCK"));

        // Idempotent.
        for (const QString &app : AppSetup::apps()) {
            const AppSetupResult r = setup.apply(app);
            QVERIFY(r.ok);
            QVERIFY2(r.changed.isEmpty(), qPrintable(app));
        }
        QCOMPARE(snapshot(), applied);

        for (const QString &app : AppSetup::apps()) {
            const AppSetupResult r = setup.undo(app);
            QVERIFY2(r.ok, qPrintable(r.error));
        }
        QCOMPARE(snapshot(), before);
        // A second undo has nothing to do and changes nothing.
        QVERIFY(setup.undo(QStringLiteral("claude")).ok);
        QCOMPARE(snapshot(), before);
    }

    void undoKeepsEditsMadeAfterSetupBesideTheOriginal() {
        write(home() + QStringLiteral("/.bashrc"), "# original\n");
        AppSetup setup(params());
        QVERIFY(setup.apply(QStringLiteral("shell")).ok);
        write(home() + QStringLiteral("/.bashrc"),
              read(home() + QStringLiteral("/.bashrc")) + "alias x=y\n");
        const AppSetupResult r = setup.undo(QStringLiteral("shell"));
        QVERIFY(r.ok);
        QCOMPARE(read(home() + QStringLiteral("/.bashrc")), QByteArray("# original\n"));
        QVERIFY(read(home() + QStringLiteral("/.bashrc.airlock-undo-saved")).contains("alias x=y"));
        QCOMPARE(r.notes.size(), 1);
    }

    void refusesJsonWithCommentsInsteadOfRewritingIt() {
        const QByteArray jsonc = "{\n  // my comment\n  \"editor.fontSize\": 12,\n}\n";
        write(home() + QStringLiteral("/.config/Code/User/settings.json"), jsonc);
        AppSetup setup(params());
        const AppSetupResult r = setup.apply(QStringLiteral("vscode"));
        QVERIFY(!r.ok);
        QVERIFY(r.error.contains(QLatin1String("not plain JSON")));
        QCOMPARE(read(home() + QStringLiteral("/.config/Code/User/settings.json")), jsonc);
        QVERIFY(!setup.apply(QStringLiteral("nonsense")).ok);
    }

    void statusReportsWhereEachAppPoints() {
        AppSetup setup(params());
        QVERIFY(!setup.status(QStringLiteral("claude")).configured);
        write(home() + QStringLiteral("/.claude/settings.json"),
              "{\"env\":{\"ANTHROPIC_BASE_URL\":\"http://127.0.0.1:3456\"}}");
        AppSetupStatus s = setup.status(QStringLiteral("claude"));
        QVERIFY(!s.configured);
        QCOMPARE(s.pointsTo, QStringList{QStringLiteral("http://127.0.0.1:3456")});
        QVERIFY(setup.apply(QStringLiteral("claude")).ok);
        s = setup.status(QStringLiteral("claude"));
        QVERIFY(s.configured);
        QCOMPARE(s.pointsTo, QStringList{QStringLiteral("http://127.0.0.1:18484")});
    }
};

QTEST_GUILESS_MAIN(TstAppSetup)
#include "tst_app_setup.moc"
