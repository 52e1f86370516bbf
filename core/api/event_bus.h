// Fan-out of completed-request records to live subscribers (the local API's SSE feed).
#pragma once

#include "core/store/usage_record.h"

#include <QJsonObject>
#include <QMetaMethod>
#include <QObject>

namespace airlock {

class EventBus : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;
    void publish(const UsageRecord &record) { Q_EMIT requestRecorded(record); }
    // Other live events for the GUI: type is the SSE event name ("budget", "policy", "health"),
    // data a JSON object (never secrets or request content).
    void notify(const QByteArray &type, const QJsonObject &data) { Q_EMIT notice(type, data); }
    bool hasSubscribers() const { return isSignalConnected(QMetaMethod::fromSignal(&EventBus::requestRecorded)); }

Q_SIGNALS:
    void requestRecorded(const airlock::UsageRecord &record);
    void notice(const QByteArray &type, const QJsonObject &data);
};

}  // namespace airlock
