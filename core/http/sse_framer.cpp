#include "core/http/sse_framer.h"

#include <utility>

namespace airlock {

namespace {

constexpr QByteArrayView kUtf8Bom("\xEF\xBB\xBF");

bool isLineEnd(char c) {
    return c == '\n' || c == '\r';
}

// Index of the next CR or LF at or after `from`, or `size` when there is none.
qsizetype findLineEnd(const char *data, qsizetype from, qsizetype size) {
    while (from < size && !isLineEnd(data[from])) ++from;
    return from;
}

// Parses the fields of one complete event; `raw` ends with its blank line (or is a trailing
// unterminated event at end of stream).
SseEvent parseEvent(QByteArrayView raw, bool streamStart) {
    SseEvent event;
    event.raw = raw.toByteArray();

    const char *d = raw.data();
    const qsizetype n = raw.size();
    qsizetype pos = (streamStart && raw.startsWith(kUtf8Bom)) ? kUtf8Bom.size() : 0;
    bool anyField = false;
    bool anyComment = false;
    bool anyData = false;
    while (pos < n) {
        const qsizetype end = findLineEnd(d, pos, n);
        const QByteArrayView line(d + pos, end - pos);
        pos = end;
        if (pos < n) pos += (d[pos] == '\r' && pos + 1 < n && d[pos + 1] == '\n') ? 2 : 1;
        if (line.isEmpty()) break;
        if (line.front() == ':') {
            anyComment = true;
            continue;
        }
        anyField = true;
        QByteArrayView name = line;
        QByteArrayView value;
        const qsizetype colon = line.indexOf(':');
        if (colon >= 0) {
            name = line.first(colon);
            value = line.sliced(colon + 1);
            if (value.startsWith(' ')) value = value.sliced(1);
        }
        if (name == "data") {
            if (anyData) event.data.append('\n');
            event.data.append(value);
            anyData = true;
        } else if (name == "event") {
            event.event = value.toByteArray();
        } else if (name == "id") {
            if (!value.contains('\0')) event.id = value.toByteArray();
        }
        // "retry" and unknown fields are ignored, as the spec says.
    }
    event.commentOnly = anyComment && !anyField;
    return event;
}

}  // namespace

SseFramer::SseFramer(qint64 maxEventBytes) : m_maxEventBytes(maxEventBytes) {}

QList<SseEvent> SseFramer::feed(QByteArrayView bytes) {
    QList<SseEvent> events;
    while (!bytes.isEmpty()) {
        if (m_skipping) {
            bytes = bytes.sliced(passThroughOversized(bytes, &events));
            continue;
        }
        m_buffer.append(bytes);
        bytes = {};
        frameBuffered(&events);
        // A CR at the very end may still pair with an LF: decide on the next feed, one byte later.
        if (m_maxEventBytes > 0 && m_buffer.size() > m_maxEventBytes && !m_buffer.endsWith('\r')) {
            // Bounded memory: hand the oversized event on unparsed and resynchronise at the
            // next blank line.
            m_overflow = true;
            m_skipping = true;
            m_skipAtLineStart = m_buffer.endsWith('\n');
            m_skipAfterCr = false;
            SseEvent passThrough;
            passThrough.raw = std::exchange(m_buffer, {});
            m_scanFrom = 0;
            m_atStreamStart = false;
            events.append(std::move(passThrough));
        }
    }
    return events;
}

void SseFramer::frameBuffered(QList<SseEvent> *events) {
    const char *d = m_buffer.constData();
    const qsizetype n = m_buffer.size();
    qsizetype eventStart = 0;
    qsizetype i = m_scanFrom;
    // m_scanFrom is either a line start, a point inside a line, or a CR that ended the buffer.
    bool lineEmpty = i == 0 || isLineEnd(d[i - 1]);
    while (i < n) {
        const qsizetype end = findLineEnd(d, i, n);
        if (end == n) {
            if (end > i) lineEmpty = false;
            i = n;
            break;
        }
        if (end > i) lineEmpty = false;
        qsizetype eolLength = 1;
        if (d[end] == '\r') {
            if (end + 1 == n) {  // CR LF may be split across two feeds
                i = end;
                break;
            }
            if (d[end + 1] == '\n') eolLength = 2;
        }
        i = end + eolLength;
        if (lineEmpty) {
            events->append(
                parseEvent(QByteArrayView(d + eventStart, i - eventStart), m_atStreamStart));
            m_atStreamStart = false;
            eventStart = i;
        }
        lineEmpty = true;
    }
    if (eventStart > 0) m_buffer.remove(0, eventStart);
    m_scanFrom = i - eventStart;
}

qsizetype SseFramer::passThroughOversized(QByteArrayView bytes, QList<SseEvent> *events) {
    const qsizetype n = bytes.size();
    qsizetype i = 0;
    bool resynchronised = false;
    while (i < n) {
        const char c = bytes[i];
        if (c == '\n' && m_skipAfterCr) {  // second half of a CR LF line end
            m_skipAfterCr = false;
            ++i;
            continue;
        }
        m_skipAfterCr = false;
        if (!isLineEnd(c)) {
            m_skipAtLineStart = false;
            ++i;
            continue;
        }
        if (m_skipAtLineStart) {  // blank line: the oversized event ends here
            ++i;
            if (c == '\r' && i < n && bytes[i] == '\n') ++i;
            resynchronised = true;
            break;
        }
        m_skipAtLineStart = true;
        m_skipAfterCr = c == '\r';
        ++i;
    }
    SseEvent passThrough;
    passThrough.raw = bytes.first(i).toByteArray();
    events->append(std::move(passThrough));
    if (resynchronised) {
        m_skipping = false;
        m_skipAtLineStart = false;
        m_skipAfterCr = false;
    }
    return i;
}

QList<SseEvent> SseFramer::finish() {
    QList<SseEvent> events;
    if (!m_buffer.isEmpty()) events.append(parseEvent(m_buffer, m_atStreamStart));
    m_buffer.clear();
    m_scanFrom = 0;
    m_skipping = false;
    m_skipAtLineStart = false;
    m_skipAfterCr = false;
    m_atStreamStart = true;
    return events;
}

}  // namespace airlock
