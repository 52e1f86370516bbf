// Splits a text/event-stream byte stream into events as they complete (WHATWG SSE rules:
// LF, CRLF or CR line ends; "field: value" lines; blank line ends an event; ':' comments).
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>

namespace airlock {

struct SseEvent {
    QByteArray event;  // "event:" field, empty when absent
    QByteArray data;   // "data:" lines joined with '\n'
    QByteArray id;
    QByteArray raw;            // the exact bytes of this event incl. its terminating blank line
    bool commentOnly = false;  // only ':' comment lines (keep-alive pings)
};

class SseFramer {
public:
    explicit SseFramer(qint64 maxEventBytes = 16 * 1024 * 1024);

    // Appends bytes; returns the events completed by them, in order.
    QList<SseEvent> feed(QByteArrayView bytes);
    // Bytes of an unfinished event still held.
    QByteArray pending() const { return m_buffer; }
    // Stream ended: an unterminated trailing event is returned (per spec it would be dropped;
    // we still return it so usage in it is not lost), with its raw bytes.
    QList<SseEvent> finish();
    // Sticky: the unfinished event held between feeds grew past maxEventBytes. Its bytes were
    // then passed on as events with only `raw` set (nothing parsed) until the next blank line,
    // where framing resumes; so memory stays bounded and no byte is lost.
    bool overflowed() const { return m_overflow; }

private:
    void frameBuffered(QList<SseEvent> *events);
    qsizetype passThroughOversized(QByteArrayView bytes, QList<SseEvent> *events);

    QByteArray m_buffer;
    qint64 m_scanFrom = 0;
    qint64 m_maxEventBytes;
    bool m_overflow = false;
    bool m_skipping = false;         // inside an oversized event, passing bytes through
    bool m_skipAtLineStart = false;  // skipping: the last byte ended a line
    bool m_skipAfterCr = false;      // skipping: the last byte was CR (an LF next is its pair)
    bool m_atStreamStart = true;     // a UTF-8 BOM is ignored before the first event only
};

}  // namespace airlock
