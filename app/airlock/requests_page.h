// Requests: the live table of recent requests (filter by app and outcome, free-text search)
// with a detail pane showing the recorded fields of the selected request.
#pragma once

#include <QWidget>

class QComboBox;
class QLineEdit;
class QLabel;
class QTableView;
class QTextBrowser;

namespace airlock {

class ClientSession;
class RequestFilterProxy;
class StatePanel;

class RequestsPage : public QWidget {
    Q_OBJECT
public:
    explicit RequestsPage(ClientSession *session, QWidget *parent = nullptr);
    RequestFilterProxy *proxy() const { return m_proxy; }
    QTableView *table() const { return m_table; }
    QString detailText() const;
    void selectRow(int proxyRow);

private:
    void updateCount();
    void showDetail();
    void refreshAppChoices();
    ClientSession *m_session;
    RequestFilterProxy *m_proxy;
    QComboBox *m_app;
    QComboBox *m_outcome;
    QLineEdit *m_search;
    QLabel *m_count;
    QTableView *m_table;
    QTextBrowser *m_detail;
    StatePanel *m_panel;
};

}  // namespace airlock
