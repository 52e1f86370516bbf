// Byte-exact navigation and allocation-free validation of JSON text: edits a body without
// re-serialising it, and reads the few members the hot path needs without building a document.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>

#include <array>
#include <type_traits>

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

// --- Validation -----------------------------------------------------------------------------

// Same limit as QJsonDocument, so that both agree on what is too deep.
inline constexpr int kMaxNestingDepth = 1024;

enum class JsonError : quint8 {
    None,
    NotAContainer,          // the document is not an object or an array
    UnexpectedEnd,          // the text ends inside a value
    IllegalValue,           // a byte that starts no value
    IllegalNumber,          // not an RFC 8259 number (leading zero, "1.", ".5", "-")
    NumberOutOfRange,       // overflows or underflows a double (QJsonDocument refuses it too)
    UnterminatedString,     // the text ends inside a string
    ControlCharInString,    // U+0000..U+001F must be escaped
    InvalidEscape,          // an escape other than \" \\ \/ \b \f \n \r \t \uXXXX
    InvalidUtf8,            // overlong, surrogate, beyond U+10FFFF or cut-off sequence
    MissingNameSeparator,   // no ':' after a key
    MissingValueSeparator,  // no ',' or closing bracket after a value
    ExpectedKey,            // no string where an object key must be (also a trailing comma)
    DeepNesting,            // more than kMaxNestingDepth open containers
    GarbageAtEnd,           // something after the document
};

// Short English reason, e.g. "unterminated string".
const char *errorText(JsonError error);

struct Validation {
    JsonError error = JsonError::None;
    qsizetype offset = 0;  // byte offset of the problem
    bool ok() const { return error == JsonError::None; }
};

// A member of the top-level object as the validator passes it: key still escaped.
struct MemberSpan {
    QByteArrayView rawKey;  // the key's bytes between its quotes, escapes not decoded
    qsizetype keyBegin = 0;
    qsizetype valueBegin = 0;
    qsizetype valueEnd = 0;
    bool keyEscaped = false;  // the key holds a backslash escape
};

using MemberCallback = void (*)(void *context, const MemberSpan &member);

// Strict RFC 8259 check of a whole document that must be an object or an array (after an
// optional UTF-8 BOM), in one pass without allocating. Strings must be valid UTF-8 (the rules
// QJsonDocument applies) and escape their control characters. Everything accepted here
// QJsonDocument accepts too; it is laxer in a few places (raw control characters, unknown
// escapes, "1." and ".5"), which are refused here. onMember, when set, sees each member of a
// top-level object as it completes, so a caller can pick its members in the same pass.
Validation validate(QByteArrayView text, MemberCallback onMember = nullptr,
                    void *context = nullptr);

// The same with a lambda (or any callable object) for onMember.
template <typename F, typename = std::enable_if_t<std::is_class_v<std::remove_cvref_t<F>>>>
Validation validate(QByteArrayView text, F &&onMember) {
    using Fn = std::remove_reference_t<F>;
    return validate(
        text, [](void *context, const MemberSpan &m) { (*static_cast<Fn *>(context))(m); },
        const_cast<void *>(static_cast<const void *>(&onMember)));
}

// --- Readers for validated text (tolerant of the laxities QJsonDocument accepts) ---------------

// Whether a key's raw bytes (between the quotes) decode to name; no allocation.
bool keyEquals(QByteArrayView rawKey, QByteArrayView name);

// The UTF-8 of the string token (quotes included) as QJsonValue::toString().toUtf8() gives it:
// escapes decoded, an unpaired surrogate becomes '?', a leading raw BOM of a string without
// escapes is dropped. Empty when token is not a string.
QByteArray decodeString(QByteArrayView token);

// Whether the string token (quotes included) decodes to exactly text; no allocation.
bool stringEquals(QByteArrayView token, QByteArrayView text);

// The number token's value as QJsonValue::toDouble() gives it; false when not a number.
bool readDouble(QByteArrayView token, double *out);

// The value as QJsonValue::toInteger() gives it (exact for integers within qint64, integral
// doubles converted); false when not a number or not integral.
bool readInteger(QByteArrayView token, qint64 *out);

class ArrayIterator;
class ObjectView;

// One value inside JSON text, by position; an absent value when the lookup found nothing.
class ValueView {
public:
    ValueView() = default;
    ValueView(QByteArrayView text, qsizetype begin, qsizetype end)
        : m_text(text), m_begin(begin), m_end(end) {}

    bool isPresent() const { return m_begin >= 0 && m_end > m_begin; }
    bool isObject() const { return firstByte() == '{'; }
    bool isArray() const { return firstByte() == '['; }
    bool isString() const { return firstByte() == '"'; }
    bool isNumber() const;
    bool isTrue() const { return token() == "true"; }
    bool isNull() const { return token() == "null"; }

    QByteArrayView token() const {
        return isPresent() ? m_text.sliced(m_begin, m_end - m_begin) : QByteArrayView();
    }
    qsizetype begin() const { return m_begin; }
    qsizetype end() const { return m_end; }

    // QJsonValue-like conversions: the default (or empty) when the type does not match.
    QByteArray toString() const { return isString() ? decodeString(token()) : QByteArray(); }
    bool stringEquals(QByteArrayView text) const;
    double toDouble(double defaultValue = 0) const;
    ObjectView toObject() const;

    // The index-th element when this is an array, else absent.
    ValueView arrayAt(qsizetype index) const;
    // The elements when this is an array (else none).
    ArrayIterator elements() const;

private:
    char firstByte() const { return isPresent() ? m_text[m_begin] : '\0'; }

    QByteArrayView m_text;
    qsizetype m_begin = -1;
    qsizetype m_end = -1;
};

// Iterates the elements of an array in JSON text.
class ArrayIterator {
public:
    ArrayIterator(QByteArrayView text, qsizetype openBracket);
    // The next element, or an absent value at the end (or where the text is cut off).
    ValueView next();

private:
    QByteArrayView m_text;
    qsizetype m_pos = -1;  // next element, -1 when done
};

// Walks the members of an object in text order without allocating (keys stay escaped).
class MemberIterator {
public:
    MemberIterator(QByteArrayView text, qsizetype openBrace);
    // The next member; false at the closing brace or where the text is not an object.
    bool next(MemberSpan *member);
    // Whether the walk reached the object's closing brace (a complete object).
    bool complete() const { return m_complete; }

private:
    QByteArrayView m_text;
    qsizetype m_pos = -1;  // next key, -1 when done
    bool m_complete = false;
};

// The members of one object, indexed in one pass so that several lookups do not rescan it:
// no heap use for up to kIndexedMembers members; beyond that lookups scan the text again.
class ObjectView {
public:
    static constexpr int kIndexedMembers = 32;  // an OpenAI Responses object has ~30

    ObjectView() = default;
    // The object whose '{' is at openBrace (not an object: an empty view).
    ObjectView(QByteArrayView text, qsizetype openBrace);
    // An empty view to fill with append() (e.g. from validate()'s member callback).
    explicit ObjectView(QByteArrayView text) : m_text(text), m_valid(true) {}

    void append(const MemberSpan &member);

    bool isValid() const { return m_valid; }  // the text had a complete object there
    bool isEmpty() const { return m_count == 0; }
    // The last member named key (QJsonObject keeps the last of duplicates), or absent.
    ValueView value(QByteArrayView key) const;
    bool contains(QByteArrayView key) const { return value(key).isPresent(); }

private:
    struct Entry {
        QByteArrayView rawKey;
        qsizetype valueBegin;
        qsizetype valueEnd;
        bool escaped;
    };

    QByteArrayView m_text;
    qsizetype m_openBrace = -1;  // for the rescan when the index overflowed
    qsizetype m_count = 0;
    bool m_valid = false;
    std::array<Entry, kIndexedMembers> m_entries;  // the first m_count are set
};

}  // namespace airlock::json_scan
