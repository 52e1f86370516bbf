// Which local calendar day an instant falls on, cheaply: the C library re-reads the time zone
// (a stat of /etc/localtime, often the whole file) on every conversion, once per request here.
#pragma once

#include <QDate>

namespace airlock {

class LocalDayCache {
public:
    // The local date of msSinceEpoch. Asks the C library only when the instant leaves the day
    // it knows, or a minute after it last asked (so a time zone change is followed).
    QDate dayOf(qint64 msSinceEpoch);

private:
    static constexpr qint64 kRecheckMs = 60'000;
    QDate m_day;
    qint64 m_startMs = 0;  // local midnight that starts m_day
    qint64 m_endMs = 0;    // local midnight that ends it (exclusive); empty range until asked
    qint64 m_askedAtMs = 0;
};

}  // namespace airlock
