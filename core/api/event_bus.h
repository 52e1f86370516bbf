// Fan-out of completed-request records to live subscribers (the local API's SSE feed).
#pragma once

#include "core/store/usage_record.h"

#include <QMetaMethod>
#include <QObject>

namespace airlock {

class EventBus : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;
    void publish(const UsageRecord &record) { Q_EMIT requestRecorded(record); }
    bool hasSubscribers() const { return isSignalConnected(QMetaMethod::fromSignal(&EventBus::requestRecorded)); }

Q_SIGNALS:
    void requestRecorded(const airlock::UsageRecord &record);
};

}  // namespace airlock
