// Providers: health, latency and error rate per routing target (/providers), or the configured
// providers from /status when the daemon does not report target health.
#pragma once

#include <QStandardItemModel>
#include <QWidget>

class QLabel;
class QTableView;

namespace airlock {

class ClientSession;
class StatePanel;

class ProvidersPage : public QWidget {
    Q_OBJECT
public:
    explicit ProvidersPage(ClientSession *session, QWidget *parent = nullptr);
    const QStandardItemModel *model() const { return &m_model; }
    int loadsCompleted() const { return m_loads; }

Q_SIGNALS:
    void loaded();

public Q_SLOTS:
    void refresh();

private:
    void showFromStatus();
    ClientSession *m_session;
    QStandardItemModel m_model;
    QLabel *m_note;
    QTableView *m_table;
    StatePanel *m_panel;
    int m_loads = 0;
};

}  // namespace airlock
