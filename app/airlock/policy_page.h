// Policy: the profile in force, its version and source, last sync, and its rules in readable
// form, including per-app overrides (from /policy when the daemon serves it).
#pragma once

#include <QJsonObject>
#include <QWidget>

class QTextBrowser;
class QPushButton;

namespace airlock {

class ClientSession;
class StatePanel;

// Readable HTML for a policy bundle (or the daemon's /policy answer wrapping one).
QString describePolicy(const QJsonObject &policyAnswer);

class PolicyPage : public QWidget {
    Q_OBJECT
public:
    explicit PolicyPage(ClientSession *session, QWidget *parent = nullptr);
    QString shownText() const;
    int loadsCompleted() const { return m_loads; }

Q_SIGNALS:
    void loaded();

public Q_SLOTS:
    void refresh();

private:
    ClientSession *m_session;
    QTextBrowser *m_text;
    QPushButton *m_sync;
    StatePanel *m_panel;
    int m_loads = 0;
};

}  // namespace airlock
