// A page area that shows either its content or an explained empty/error state, so no page
// is ever blank or broken when the daemon lacks data or an endpoint.
#pragma once

#include <QLabel>
#include <QStackedWidget>

namespace airlock {

class StatePanel : public QStackedWidget {
    Q_OBJECT
public:
    explicit StatePanel(QWidget *content, QWidget *parent = nullptr);
    void showContent();
    void showMessage(const QString &title, const QString &explanation);
    bool showingMessage() const { return currentIndex() == 1; }
    QString messageText() const;

private:
    QLabel *m_title;
    QLabel *m_text;
};

}  // namespace airlock
