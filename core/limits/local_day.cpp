#include "core/limits/local_day.h"

#include <QDateTime>
#include <QTime>

namespace airlock {

QDate LocalDayCache::dayOf(qint64 msSinceEpoch) {
    const qint64 sinceAsked = msSinceEpoch - m_askedAtMs;
    if (msSinceEpoch >= m_startMs && msSinceEpoch < m_endMs && sinceAsked >= 0 &&
        sinceAsked < kRecheckMs)
        return m_day;
    m_day = QDateTime::fromMSecsSinceEpoch(msSinceEpoch).date();
    // startOfDay/endOfDay handle days that do not begin at 00:00 (DST jumps at midnight).
    m_startMs = m_day.startOfDay().toMSecsSinceEpoch();
    m_endMs = m_day.addDays(1).startOfDay().toMSecsSinceEpoch();
    m_askedAtMs = msSinceEpoch;
    return m_day;
}

}  // namespace airlock
