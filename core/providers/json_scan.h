// Byte-exact navigation of JSON text, for the few places that must edit a body without
// re-serialising it (key order, number spelling and whitespace stay as the client sent them).
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>

namespace airlock::json_scan {

// One member of an object: offsets into the scanned text, value end exclusive.
struct Member {
    QByteArray key;            // decoded key
    qsizetype keyBegin = 0;    // the opening quote of the key
    qsizetype valueBegin = 0;  // first byte of the value
    qsizetype valueEnd = 0;    // one past the last byte of the value
};

// First byte at or after pos that is not JSON whitespace (or a leading UTF-8 BOM at 0).
qsizetype skipWhitespace(QByteArrayView text, qsizetype pos);

// One past the end of the value starting at pos, or -1 when it is cut off or not a value.
// Strings, nesting and escapes are honoured; the structure is not otherwise validated, so
// callers scan text a JSON parser has accepted, or re-parse what they cut out.
qsizetype valueEnd(QByteArrayView text, qsizetype pos);

// Members of the object whose '{' is at openBrace, in text order. False when the text there is
// not a complete object; *closeBrace (optional) gets the index of its '}'.
bool objectMembers(QByteArrayView text, qsizetype openBrace, QList<Member> *members,
                   qsizetype *closeBrace = nullptr);

// The last member named key, or nullptr.
const Member *findMember(const QList<Member> &members, QByteArrayView key);

}  // namespace airlock::json_scan
