#include "app/airlock/settings_page.h"

#include "app/airlock/client_session.h"
#include "platform/autostart.h"
#include "platform/secret_store.h"

#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QProcess>
#include <QPushButton>
#include <QRegularExpression>
#include <QSaveFile>
#include <QSpinBox>
#include <QStandardPaths>
#include <QVBoxLayout>

namespace airlock {

namespace {
constexpr qint64 kMaxConfigBytes = 4 * 1024 * 1024;
constexpr int kSetupTimeoutMs = 60'000;
const char *const kSetupApps[] = {"claude", "codex", "gemini", "cursor", "shell"};
}  // namespace

QString userConfigPath() {
    return QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation) +
           QStringLiteral("/airlock/config.json");
}

bool writeListenSetting(const QString &configPath, const QString &listen, QString *error) {
    QJsonObject config;
    QFile existing(configPath);
    if (existing.exists()) {
        if (!existing.open(QIODevice::ReadOnly)) {
            *error = QObject::tr("cannot read %1: %2").arg(configPath, existing.errorString());
            return false;
        }
        QJsonParseError perr;
        const QJsonDocument doc = QJsonDocument::fromJson(existing.read(kMaxConfigBytes), &perr);
        if (perr.error != QJsonParseError::NoError || !doc.isObject()) {
            *error = QObject::tr("%1 is not a JSON object (%2); fix it by hand first")
                         .arg(configPath, perr.errorString());
            return false;
        }
        config = doc.object();
    }
    config.insert(QStringLiteral("listen"), listen);
    QDir().mkpath(QFileInfo(configPath).absolutePath());
    QSaveFile file(configPath);
    if (!file.open(QIODevice::WriteOnly) || file.write(QJsonDocument(config).toJson()) < 0 ||
        !file.commit()) {
        *error = QObject::tr("cannot write %1: %2").arg(configPath, file.errorString());
        return false;
    }
    return true;
}

SettingsPage::SettingsPage(ClientSession *session, QWidget *parent)
    : QWidget(parent), m_session(session), m_configPath(userConfigPath()) {
    auto *layout = new QVBoxLayout(this);

    auto *listenBox = new QGroupBox(tr("Proxy address"), this);
    auto *lf = new QFormLayout(listenBox);
    m_port = new QSpinBox(listenBox);
    m_port->setRange(1024, 65535);
    m_port->setValue(8484);
    auto *saveListen = new QPushButton(tr("Save"), listenBox);
    auto *portRow = new QHBoxLayout;
    portRow->addWidget(m_port);
    portRow->addWidget(saveListen);
    portRow->addStretch();
    lf->addRow(tr("Listen port on 127.0.0.1:"), portRow);
    m_listenNote = new QLabel(listenBox);
    m_listenNote->setWordWrap(true);
    lf->addRow(m_listenNote);
    layout->addWidget(listenBox);

    auto *keyBox = new QGroupBox(tr("Provider keys (kept in the system keychain)"), this);
    auto *kf = new QFormLayout(keyBox);
    m_provider = new QComboBox(keyBox);
    m_provider->setEditable(true);
    m_provider->addItems(
        {QStringLiteral("openai"), QStringLiteral("anthropic"), QStringLiteral("gemini")});
    kf->addRow(tr("Provider:"), m_provider);
    m_secret = new QLineEdit(keyBox);
    m_secret->setEchoMode(QLineEdit::Password);
    m_secret->setPlaceholderText(tr("Paste a new key to store or replace it"));
    kf->addRow(tr("Key:"), m_secret);
    auto *keyButtons = new QHBoxLayout;
    auto *store = new QPushButton(tr("Store"), keyBox);
    auto *remove = new QPushButton(tr("Delete"), keyBox);
    m_keyState = new QLabel(keyBox);
    keyButtons->addWidget(store);
    keyButtons->addWidget(remove);
    keyButtons->addWidget(m_keyState, 1);
    kf->addRow(keyButtons);
    layout->addWidget(keyBox);

    auto *setupBox = new QGroupBox(tr("Point apps at Airlock"), this);
    auto *sf = new QHBoxLayout(setupBox);
    m_setupApp = new QComboBox(setupBox);
    for (const char *app : kSetupApps) m_setupApp->addItem(QString::fromLatin1(app));
    m_setup = new QPushButton(tr("Set up"), setupBox);
    m_undo = new QPushButton(tr("Undo setup"), setupBox);
    m_setupNote = new QLabel(setupBox);
    m_setupNote->setWordWrap(true);
    sf->addWidget(m_setupApp);
    sf->addWidget(m_setup);
    sf->addWidget(m_undo);
    sf->addWidget(m_setupNote, 1);
    layout->addWidget(setupBox);

    auto *autoBox = new QGroupBox(tr("Start at login"), this);
    auto *af = new QVBoxLayout(autoBox);
    m_autostart = new QCheckBox(tr("Start Airlock (tray and proxy) when I log in"), autoBox);
    m_autostartNote = new QLabel(autoBox);
    m_autostartNote->setForegroundRole(QPalette::PlaceholderText);
    af->addWidget(m_autostart);
    af->addWidget(m_autostartNote);
    layout->addWidget(autoBox);
    layout->addStretch();

    connect(saveListen, &QPushButton::clicked, this, &SettingsPage::saveListen);
    connect(store, &QPushButton::clicked, this, &SettingsPage::storeKey);
    connect(remove, &QPushButton::clicked, this, &SettingsPage::deleteKey);
    connect(m_provider, &QComboBox::currentTextChanged, this, &SettingsPage::updateKeyState);
    connect(m_setup, &QPushButton::clicked, this, [this] { runSetup(false); });
    connect(m_undo, &QPushButton::clicked, this, [this] { runSetup(true); });
    connect(m_autostart, &QCheckBox::toggled, this, [this](bool on) {
        QString error;
        AutostartEntry entry{QStringLiteral("airlock"),
                             QStringLiteral("Airlock"),
                             QCoreApplication::applicationFilePath(),
                             {QStringLiteral("--minimized")},
                             tr("AI usage and policy for this desktop")};
        const bool ok = on ? enableAutostart(entry, &error) : disableAutostart(entry.id, &error);
        m_autostartNote->setText(
            ok ? (on ? tr("Entry written to %1").arg(autostartLocation(entry.id))
                     : tr("Airlock will not start at login."))
               : error);
    });
    connect(session, &ClientSession::daemonCameUp, this, &SettingsPage::refresh);
    detectSetupSupport();
}

void SettingsPage::refresh() {
    const QString listen = m_session->lastStatus().value(QStringLiteral("listen")).toString();
    const int colon = listen.lastIndexOf(QLatin1Char(':'));
    if (colon > 0) m_port->setValue(listen.mid(colon + 1).toInt());
    m_listenNote->setText(
        listen.isEmpty() ? tr("Saved to %1.").arg(m_configPath)
                         : tr("airlockd listens on %1. Changes are saved to %2 and take effect "
                              "when airlockd restarts.")
                               .arg(listen, m_configPath));
    for (const QJsonValue &v :
         m_session->lastStatus().value(QStringLiteral("providers")).toArray()) {
        const QString name = v.toObject().value(QStringLiteral("name")).toString();
        if (!name.isEmpty() && m_provider->findText(name) < 0) m_provider->addItem(name);
    }
    {
        const QSignalBlocker block(m_autostart);
        m_autostart->setChecked(isAutostartEnabled(QStringLiteral("airlock")));
    }
    m_autostartNote->setText(tr("Uses %1").arg(autostartLocation(QStringLiteral("airlock"))));
    updateKeyState();
}

void SettingsPage::saveListen() {
    QString error;
    const QString listen = QStringLiteral("127.0.0.1:%1").arg(m_port->value());
    if (writeListenSetting(m_configPath, listen, &error))
        m_listenNote->setText(
            tr("Saved %1 to %2. Restart airlockd (quit it or log out and in) to apply; "
               "apps configured for the old port must be set up again.")
                .arg(listen, m_configPath));
    else
        m_listenNote->setText(error);
}

void SettingsPage::updateKeyState() {
    const QString name = m_provider->currentText().trimmed();
    if (name.isEmpty()) return;
    QPointer<SettingsPage> self(this);
    SecretStore().read(SecretStore::providerKey(name), [self, name](SecretStore::Result r) {
        if (!self || self->m_provider->currentText().trimmed() != name) return;
        // Only whether a key exists is shown; the secret itself is dropped here.
        r.secret.fill('\0');
        self->m_keyState->setText(r.ok ? tr("stored") : r.notFound ? tr("not stored") : r.error);
    });
}

void SettingsPage::storeKey() {
    const QString name = m_provider->currentText().trimmed();
    QByteArray secret = m_secret->text().trimmed().toUtf8();
    m_secret->clear();
    if (name.isEmpty() || secret.isEmpty()) {
        m_keyState->setText(tr("Enter a provider name and a key."));
        return;
    }
    QPointer<SettingsPage> self(this);
    SecretStore().write(SecretStore::providerKey(name), secret, [self](SecretStore::Result r) {
        if (!self) return;
        self->m_keyState->setText(r.ok ? tr("stored") : r.error);
        if (r.ok)
            self->m_session->client()->post(QStringLiteral("/airlock/v1/keys/reload"), {}, self,
                                            [](const ApiReply &) {});
    });
    secret.fill('\0');
}

void SettingsPage::deleteKey() {
    const QString name = m_provider->currentText().trimmed();
    if (name.isEmpty()) return;
    QPointer<SettingsPage> self(this);
    SecretStore().remove(SecretStore::providerKey(name), [self](SecretStore::Result r) {
        if (!self) return;
        self->m_keyState->setText(r.ok || r.notFound ? tr("not stored") : r.error);
        self->m_session->client()->post(QStringLiteral("/airlock/v1/keys/reload"), {}, self,
                                        [](const ApiReply &) {});
    });
}

QString SettingsPage::airlockctlPath() const {
    const QString dir = QCoreApplication::applicationDirPath();
    for (const QString &candidate :
         {dir + QStringLiteral("/airlockctl"), dir + QStringLiteral("/../airlockctl/airlockctl")})
        if (QFileInfo(candidate).isExecutable()) return QFileInfo(candidate).canonicalFilePath();
    return QStandardPaths::findExecutable(QStringLiteral("airlockctl"));
}

void SettingsPage::detectSetupSupport() {
    m_setup->setEnabled(false);
    m_undo->setEnabled(false);
    const QString ctl = airlockctlPath();
    if (ctl.isEmpty()) {
        m_setupNote->setText(tr("airlockctl was not found, so apps cannot be set up from here."));
        return;
    }
    auto *probe = new QProcess(this);
    connect(probe, &QProcess::finished, this, [this, probe](int code, QProcess::ExitStatus status) {
        probe->deleteLater();
        // A generic --help also exits 0, so the help text must name the setup verb as well.
        const QString help = QString::fromUtf8(probe->readAll());
        const bool supported =
            status == QProcess::NormalExit && code == 0 &&
            (help.contains(QLatin1String("--undo")) ||
             help.contains(QRegularExpression(QStringLiteral("(^|\\n)\\s+setup\\s"))));
        m_setup->setEnabled(supported);
        m_undo->setEnabled(supported);
        m_setupNote->setText(
            supported ? tr("Runs airlockctl setup; undo restores the app's previous settings.")
                      : tr("This airlockctl cannot set up apps yet (no setup command)."));
    });
    connect(probe, &QProcess::errorOccurred, this, [this, probe](QProcess::ProcessError) {
        m_setupNote->setText(tr("airlockctl could not be run: %1").arg(probe->errorString()));
    });
    probe->setProcessChannelMode(QProcess::MergedChannels);
    probe->start(ctl, {QStringLiteral("setup"), QStringLiteral("--help")});
}

void SettingsPage::runSetup(bool undo) {
    const QString app = m_setupApp->currentText();
    QStringList args{QStringLiteral("--data-dir"), m_session->client()->dataDir(),
                     QStringLiteral("setup"), app};
    if (undo) args << QStringLiteral("--undo");
    auto *proc = new QProcess(this);
    proc->setProcessChannelMode(QProcess::MergedChannels);
    m_setup->setEnabled(false);
    m_undo->setEnabled(false);
    m_setupNote->setText(tr("Running airlockctl %1…").arg(args.mid(2).join(QLatin1Char(' '))));
    connect(proc, &QProcess::finished, this, [this, proc](int code, QProcess::ExitStatus) {
        proc->deleteLater();
        const QString out = QString::fromUtf8(proc->readAll().left(2000)).trimmed();
        m_setupNote->setText(code == 0 ? (out.isEmpty() ? tr("Done.") : out)
                                       : tr("Failed: %1").arg(out));
        m_setup->setEnabled(true);
        m_undo->setEnabled(true);
    });
    QTimer::singleShot(kSetupTimeoutMs, proc, [proc] { proc->kill(); });
    proc->start(airlockctlPath(), args);
}

}  // namespace airlock
