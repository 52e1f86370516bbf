// Settings: listen port (user config file), provider keys in the OS keychain (never shown
// back), app setup through airlockctl when it supports it, and start at login.
#pragma once

#include <QWidget>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace airlock {

class ClientSession;

// Sets the "listen" key of the JSON config at path, keeping every other key. Refuses to
// overwrite a file it cannot parse.
bool writeListenSetting(const QString &configPath, const QString &listen, QString *error);
QString userConfigPath();

class SettingsPage : public QWidget {
    Q_OBJECT
public:
    explicit SettingsPage(ClientSession *session, QWidget *parent = nullptr);
    void setConfigPathForTesting(const QString &path) { m_configPath = path; }

public Q_SLOTS:
    void refresh();

private:
    void saveListen();
    void storeKey();
    void deleteKey();
    void updateKeyState();
    void detectSetupSupport();
    void runSetup(bool undo);
    QString airlockctlPath() const;

    ClientSession *m_session;
    QString m_configPath;
    QSpinBox *m_port;
    QLabel *m_listenNote;
    QComboBox *m_provider;
    QLineEdit *m_secret;
    QLabel *m_keyState;
    QComboBox *m_setupApp;
    QPushButton *m_setup;
    QPushButton *m_undo;
    QLabel *m_setupNote;
    QCheckBox *m_autostart;
    QLabel *m_autostartNote;
};

}  // namespace airlock
