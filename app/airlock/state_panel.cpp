#include "app/airlock/state_panel.h"

#include <QVBoxLayout>

namespace airlock {

StatePanel::StatePanel(QWidget *content, QWidget *parent) : QStackedWidget(parent) {
    addWidget(content);
    auto *box = new QWidget(this);
    auto *layout = new QVBoxLayout(box);
    m_title = new QLabel(box);
    QFont f = m_title->font();
    f.setPointSizeF(f.pointSizeF() * 1.3);
    f.setBold(true);
    m_title->setFont(f);
    m_title->setAlignment(Qt::AlignCenter);
    m_title->setWordWrap(true);
    m_text = new QLabel(box);
    m_text->setAlignment(Qt::AlignCenter);
    m_text->setWordWrap(true);
    m_text->setForegroundRole(QPalette::PlaceholderText);
    m_text->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addStretch();
    layout->addWidget(m_title);
    layout->addWidget(m_text);
    layout->addStretch();
    addWidget(box);
}

void StatePanel::showContent() {
    setCurrentIndex(0);
}

void StatePanel::showMessage(const QString &title, const QString &explanation) {
    m_title->setText(title);
    m_text->setText(explanation);
    setCurrentIndex(1);
}

QString StatePanel::messageText() const {
    return m_title->text() + QLatin1Char('\n') + m_text->text();
}

}  // namespace airlock
