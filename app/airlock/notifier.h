// Turns live events into desktop notifications: budget thresholds, refused requests (at most
// one per window, with a count) and policy changes. Emits them; the tray shows them.
#pragma once

#include <QElapsedTimer>
#include <QJsonObject>
#include <QObject>
#include <QString>
#include <QTimer>

namespace airlock {

struct RequestRow;

class Notifier : public QObject {
    Q_OBJECT
public:
    enum class Kind { Budget, Blocked, Policy, Daemon };
    Q_ENUM(Kind)
    static constexpr int kBlockedWindowMs = 30'000;

    explicit Notifier(QObject *parent = nullptr);
    void setBlockedWindowMs(int ms) { m_blockedWindowMs = ms; }

    void onRequest(const RequestRow &row);
    void onNotice(const QString &type, const QJsonObject &data);
    void onDaemonDown(const QString &why);
    qint64 lastRefusalMs() const { return m_lastRefusalMs; }

    static QString describeBudget(const QJsonObject &data);

Q_SIGNALS:
    // The seam tests watch; the tray turns it into QSystemTrayIcon::showMessage.
    void notificationRaised(airlock::Notifier::Kind kind, const QString &title,
                            const QString &body);

private:
    void flushBlocked();
    int m_blockedWindowMs = kBlockedWindowMs;
    QElapsedTimer m_sinceLastBlocked;
    int m_suppressedBlocked = 0;
    QString m_lastBlockedApp;
    QTimer m_blockedTimer;
    qint64 m_lastRefusalMs = 0;
};

}  // namespace airlock
