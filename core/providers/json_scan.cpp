#include "core/providers/json_scan.h"

#include <QtEndian>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace airlock::json_scan {

namespace {

// Numbers with more digits or a larger exponent than these are range-checked by Qt's own
// conversion (rare); below them a double can neither overflow nor underflow to zero.
constexpr int kFastNumberMaxDigits = 100;
constexpr int kFastNumberMaxExponent = 200;

bool isJsonWhitespace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// skipWhitespace() for positions after the first byte (no BOM to consider), inlined.
inline qsizetype skipSpaces(QByteArrayView text, qsizetype pos) {
    while (pos < text.size() && isJsonWhitespace(text[pos])) ++pos;
    return pos;
}

bool isDigit(uchar c) {
    return c >= '0' && c <= '9';
}

int hexValue(uchar c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Bytes that open or close something outside strings.
constexpr std::array<bool, 256> kStructuralByte = [] {
    std::array<bool, 256> table{};
    for (const char c : {'"', '{', '[', '}', ']'}) table[uchar(c)] = true;
    return table;
}();

// Eight bytes at a time (SWAR): a mask whose lowest set bit marks the first byte equal to a,
// equal to b, or (when controlsAndHigh) below 0x20 or above 0x7F. Borrows only produce false
// marks above a true one, so the lowest mark is exact.
template <bool controlsAndHigh>
std::uint64_t specialMask(std::uint64_t v, uchar a, uchar b) {
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t highs = 0x8080808080808080ULL;
    const std::uint64_t xa = v ^ (ones * a);
    const std::uint64_t xb = v ^ (ones * b);
    std::uint64_t marks = ((xa - ones) & ~xa) | ((xb - ones) & ~xb);
    if constexpr (controlsAndHigh) marks |= ((v - ones * 0x20) & ~v) | v;
    return marks & highs;
}

// Index of the first byte at or after i that a string scan must look at: '"' and '\\' (and,
// when controlsAndHigh, control and non-ASCII bytes); n when there is none.
template <bool controlsAndHigh>
qsizetype findStringSpecial(const uchar *s, qsizetype i, qsizetype n) {
#if defined(__SSE2__)
    // Sixteen bytes a step where SSE2 exists (every x86-64); a signed compare with 0x20 catches
    // control bytes and non-ASCII bytes (negative as signed) at once.
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (i + 16 <= n) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(s + i));
        __m128i hits = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash));
        if constexpr (controlsAndHigh) hits = _mm_or_si128(hits, _mm_cmplt_epi8(v, space));
        const auto mask = static_cast<unsigned>(_mm_movemask_epi8(hits));
        if (mask) return i + std::countr_zero(mask);
        i += 16;
    }
#endif
    while (i + 8 <= n) {
        const auto v = qFromLittleEndian<std::uint64_t>(s + i);
        const std::uint64_t mask = specialMask<controlsAndHigh>(v, '"', '\\');
        if (mask) return i + std::countr_zero(mask) / 8;
        i += 8;
    }
    for (; i < n; ++i) {
        const uchar c = s[i];
        if (c == '"' || c == '\\' || (controlsAndHigh && (c < 0x20 || c >= 0x80))) break;
    }
    return i;
}

// One past the closing quote of the string whose opening quote is at pos, or -1.
qsizetype stringEnd(QByteArrayView text, qsizetype pos) {
    const auto *s = reinterpret_cast<const uchar *>(text.data());
    const qsizetype n = text.size();
    qsizetype i = pos + 1;
    for (;;) {
        i = findStringSpecial<false>(s, i, n);
        if (i >= n) return -1;
        if (s[i] == '"') return i + 1;
        i += 2;  // a backslash and the byte it escapes
    }
}

QByteArray decodeKey(QByteArrayView token) {
    const QByteArrayView inner = token.sliced(1, token.size() - 2);
    if (!inner.contains('\\')) return inner.toByteArray();
    return decodeString(token);  // escaped: decoded as QJsonValue::toString() reads it
}

// --- strict validator ---

// Length of the valid UTF-8 sequence starting with lead byte s[i] (>= 0x80), or 0.
int utf8SequenceLength(const uchar *s, qsizetype i, qsizetype n) {
    const uchar c = s[i];
    auto cont = [&](qsizetype k, uchar lo, uchar hi) {
        return i + k < n && s[i + k] >= lo && s[i + k] <= hi;
    };
    if (c < 0xC2) return 0;
    if (c < 0xE0) return cont(1, 0x80, 0xBF) ? 2 : 0;
    if (c < 0xF0) {
        const uchar lo = c == 0xE0 ? 0xA0 : 0x80;
        const uchar hi = c == 0xED ? 0x9F : 0xBF;  // no UTF-8-encoded surrogates
        return cont(1, lo, hi) && cont(2, 0x80, 0xBF) ? 3 : 0;
    }
    if (c < 0xF5) {
        const uchar lo = c == 0xF0 ? 0x90 : 0x80;
        const uchar hi = c == 0xF4 ? 0x8F : 0xBF;  // nothing beyond U+10FFFF
        return cont(1, lo, hi) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
    }
    return 0;
}

class Validator {
public:
    Validator(QByteArrayView text, MemberCallback onMember, void *context)
        : m_s(reinterpret_cast<const uchar *>(text.data())),
          m_n(text.size()),
          m_text(text),
          m_onMember(onMember),
          m_context(context) {}

    Validation run();

private:
    bool fail(JsonError error, qsizetype offset) {
        m_result.error = error;
        m_result.offset = offset;
        return false;
    }
    qsizetype skipSpace(qsizetype i) const {
        while (i < m_n && isJsonWhitespace(char(m_s[i]))) ++i;
        return i;
    }
    bool inObject() const { return (m_kinds[(m_depth - 1) / 64] >> ((m_depth - 1) % 64)) & 1U; }
    bool push(bool object, qsizetype at) {
        if (m_depth >= kMaxNestingDepth) return fail(JsonError::DeepNesting, at);
        const std::uint64_t bit = std::uint64_t(1) << (m_depth % 64);
        if (object)
            m_kinds[m_depth / 64] |= bit;
        else
            m_kinds[m_depth / 64] &= ~bit;
        ++m_depth;
        return true;
    }
    bool scanString(qsizetype *pos, bool *escaped);
    bool scanNumber(qsizetype *pos);
    bool numberInRange(qsizetype begin, qsizetype end, bool integerLike, int digits,
                       qint64 exponent) const;

    const uchar *m_s;
    qsizetype m_n;
    QByteArrayView m_text;
    MemberCallback m_onMember;
    void *m_context;
    Validation m_result;
    int m_depth = 0;
    std::array<std::uint64_t, (kMaxNestingDepth + 63) / 64> m_kinds{};  // 1 bit per level
};

bool Validator::scanString(qsizetype *pos, bool *escaped) {
    qsizetype i = *pos + 1;
    for (;;) {
        i = findStringSpecial<true>(m_s, i, m_n);
        if (i >= m_n) return fail(JsonError::UnterminatedString, m_n);
        const uchar c = m_s[i];
        if (c == '"') {
            *pos = i + 1;
            return true;
        }
        if (c == '\\') {
            if (i + 1 >= m_n) return fail(JsonError::UnterminatedString, m_n);
            *escaped = true;
            const uchar e = m_s[i + 1];
            if (e == 'u') {
                if (i + 6 > m_n) return fail(JsonError::UnterminatedString, m_n);
                for (int k = 2; k < 6; ++k) {
                    if (hexValue(m_s[i + k]) < 0) return fail(JsonError::InvalidEscape, i);
                }
                // Unpaired surrogates are grammatical JSON (RFC 8259 section 8.2); QJsonDocument
                // takes them too.
                i += 6;
            } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' ||
                       e == 'r' || e == 't') {
                i += 2;
            } else {
                return fail(JsonError::InvalidEscape, i);
            }
        } else if (c < 0x20) {
            return fail(JsonError::ControlCharInString, i);
        } else if (c >= 0x80) {
            const int len = utf8SequenceLength(m_s, i, m_n);
            if (len == 0) return fail(JsonError::InvalidUtf8, i);
            i += len;
        } else {
            ++i;
        }
    }
}

bool Validator::numberInRange(qsizetype begin, qsizetype end, bool integerLike, int digits,
                              qint64 exponent) const {
    if (digits <= kFastNumberMaxDigits && exponent <= kFastNumberMaxExponent &&
        exponent >= -kFastNumberMaxExponent)
        return true;
    // Extreme spellings: decide exactly as QJsonDocument does (integer first, then double),
    // so both agree on 1e400 and 1e-400 (refused) and 0e999 (accepted).
    const QByteArray number = m_text.sliced(begin, end - begin).toByteArray();
    bool ok = false;
    if (integerLike) {
        number.toLongLong(&ok);
        if (ok) return true;
    }
    number.toDouble(&ok);
    return ok;
}

bool Validator::scanNumber(qsizetype *pos) {
    const qsizetype begin = *pos;
    qsizetype i = begin;
    if (m_s[i] == '-') ++i;
    if (i >= m_n) return fail(JsonError::UnexpectedEnd, m_n);
    int digits = 0;
    if (m_s[i] == '0') {
        ++i;
        ++digits;
        if (i < m_n && isDigit(m_s[i])) return fail(JsonError::IllegalNumber, i);
    } else if (isDigit(m_s[i])) {
        while (i < m_n && isDigit(m_s[i])) {
            ++i;
            ++digits;
        }
    } else {
        return fail(JsonError::IllegalNumber, i);
    }
    bool integerLike = true;
    if (i < m_n && m_s[i] == '.') {
        ++i;
        if (i >= m_n || !isDigit(m_s[i])) return fail(JsonError::IllegalNumber, i);
        while (i < m_n && isDigit(m_s[i])) {
            // QJsonDocument treats "1.000" as an integer spelling.
            integerLike = integerLike && m_s[i] == '0';
            ++i;
            ++digits;
        }
    }
    qint64 exponent = 0;
    if (i < m_n && (m_s[i] == 'e' || m_s[i] == 'E')) {
        integerLike = false;
        ++i;
        bool negative = false;
        if (i < m_n && (m_s[i] == '+' || m_s[i] == '-')) negative = m_s[i++] == '-';
        if (i >= m_n || !isDigit(m_s[i])) return fail(JsonError::IllegalNumber, i);
        while (i < m_n && isDigit(m_s[i])) {
            if (exponent < 1'000'000) exponent = exponent * 10 + (m_s[i] - '0');  // saturates
            ++i;
        }
        if (negative) exponent = -exponent;
    }
    if (i >= m_n) return fail(JsonError::UnexpectedEnd, m_n);
    if (!numberInRange(begin, i, integerLike, digits, exponent))
        return fail(JsonError::NumberOutOfRange, begin);
    *pos = i;
    return true;
}

Validation Validator::run() {
    qsizetype i = 0;
    // QJsonDocument skips a BOM only when something follows it; a BOM alone fails either way.
    if (m_n > 3 && m_s[0] == 0xEF && m_s[1] == 0xBB && m_s[2] == 0xBF) i = 3;
    i = skipSpace(i);
    if (i >= m_n || (m_s[i] != '{' && m_s[i] != '[')) {
        fail(JsonError::NotAContainer, i);
        return m_result;
    }
    MemberSpan member;  // the top-level member being read
    // A goto-free state machine over an explicit stack: deep nesting cannot exhaust ours.
    enum class State { Value, Key, AfterValue };
    State state = State::Value;
    for (;;) {
        if (state == State::Value) {
            if (i >= m_n) {
                fail(JsonError::UnexpectedEnd, m_n);
                return m_result;
            }
            const uchar c = m_s[i];
            if (c == '{' || c == '[') {
                if (!push(c == '{', i)) return m_result;
                i = skipSpace(i + 1);
                if (i < m_n && m_s[i] == (c == '{' ? '}' : ']')) {
                    --m_depth;
                    ++i;
                    state = State::AfterValue;
                } else {
                    state = c == '{' ? State::Key : State::Value;
                }
                continue;
            }
            if (c == '"') {
                bool escaped = false;
                if (!scanString(&i, &escaped)) return m_result;
            } else if (c == '-' || isDigit(c)) {
                if (!scanNumber(&i)) return m_result;
            } else if (c == 't' || c == 'f' || c == 'n') {
                const QByteArrayView literal = c == 't' ? "true" : c == 'f' ? "false" : "null";
                if (m_n - i < literal.size() ||
                    std::memcmp(m_s + i, literal.data(), size_t(literal.size())) != 0) {
                    fail(JsonError::IllegalValue, i);
                    return m_result;
                }
                i += literal.size();
            } else {
                fail(m_depth == 0 ? JsonError::NotAContainer : JsonError::IllegalValue, i);
                return m_result;
            }
            state = State::AfterValue;
        } else if (state == State::Key) {
            if (i >= m_n) {
                fail(JsonError::UnexpectedEnd, m_n);
                return m_result;
            }
            if (m_s[i] != '"') {
                fail(JsonError::ExpectedKey, i);
                return m_result;
            }
            const qsizetype keyBegin = i;
            bool escaped = false;
            if (!scanString(&i, &escaped)) return m_result;
            if (m_depth == 1) {
                member.keyBegin = keyBegin;
                member.keyEscaped = escaped;
                member.rawKey = m_text.sliced(keyBegin + 1, i - keyBegin - 2);
            }
            i = skipSpace(i);
            if (i >= m_n || m_s[i] != ':') {
                fail(i >= m_n ? JsonError::UnexpectedEnd : JsonError::MissingNameSeparator, i);
                return m_result;
            }
            i = skipSpace(i + 1);
            if (m_depth == 1) member.valueBegin = i;
            state = State::Value;
        } else {  // AfterValue
            if (m_depth == 0) {
                i = skipSpace(i);
                if (i < m_n) fail(JsonError::GarbageAtEnd, i);
                return m_result;
            }
            const bool object = inObject();
            if (m_depth == 1 && object && m_onMember) {
                member.valueEnd = i;
                m_onMember(m_context, member);
            }
            i = skipSpace(i);
            if (i >= m_n) {
                fail(JsonError::UnexpectedEnd, m_n);
                return m_result;
            }
            const uchar c = m_s[i];
            if (c == ',') {
                i = skipSpace(i + 1);
                state = object ? State::Key : State::Value;
            } else if (c == (object ? '}' : ']')) {
                --m_depth;
                ++i;
            } else {
                fail(JsonError::MissingValueSeparator, i);
                return m_result;
            }
        }
    }
}

// --- tolerant decoding ---

// Decodes the inside of a string token the way QJsonDocument + QString::toUtf8() do, handing
// each output byte to sink; stops early when sink returns false.
template <typename Sink>
bool decodeInner(QByteArrayView inner, Sink &&sink) {
    const auto *s = reinterpret_cast<const uchar *>(inner.data());
    const qsizetype n = inner.size();
    auto putCodePoint = [&sink](char32_t cp) {
        if (cp < 0x80) return sink(char(cp));
        if (cp < 0x800) return sink(char(0xC0 | (cp >> 6))) && sink(char(0x80 | (cp & 0x3F)));
        if (cp < 0x10000)
            return sink(char(0xE0 | (cp >> 12))) && sink(char(0x80 | ((cp >> 6) & 0x3F))) &&
                   sink(char(0x80 | (cp & 0x3F)));
        return sink(char(0xF0 | (cp >> 18))) && sink(char(0x80 | ((cp >> 12) & 0x3F))) &&
               sink(char(0x80 | ((cp >> 6) & 0x3F))) && sink(char(0x80 | (cp & 0x3F)));
    };
    auto hex4 = [&](qsizetype at) -> int {
        if (at + 4 > n) return -1;
        int value = 0;
        for (int k = 0; k < 4; ++k) {
            const int h = hexValue(s[at + k]);
            if (h < 0) return -1;
            value = value * 16 + h;
        }
        return value;
    };
    for (qsizetype i = 0; i < n;) {
        if (s[i] != '\\') {
            if (!sink(char(s[i]))) return false;
            ++i;
            continue;
        }
        if (i + 1 >= n) return true;
        const uchar e = s[i + 1];
        char32_t cp = 0;
        switch (e) {
            case 'b':
                cp = 0x8;
                break;
            case 'f':
                cp = 0xC;
                break;
            case 'n':
                cp = 0xA;
                break;
            case 'r':
                cp = 0xD;
                break;
            case 't':
                cp = 0x9;
                break;
            case 'u': {
                const int unit = hex4(i + 2);
                if (unit < 0) return true;  // QJsonDocument refuses such text
                i += 6;
                if (unit >= 0xD800 && unit <= 0xDBFF && i + 1 < n && s[i] == '\\' &&
                    s[i + 1] == 'u') {
                    const int low = hex4(i + 2);
                    if (low >= 0xDC00 && low <= 0xDFFF) {
                        i += 6;
                        if (!putCodePoint(0x10000 + ((char32_t(unit) - 0xD800) << 10) +
                                          (char32_t(low) - 0xDC00)))
                            return false;
                        continue;
                    }
                }
                // QString::toUtf8() writes an unpaired surrogate as '?'.
                const bool surrogate = unit >= 0xD800 && unit <= 0xDFFF;
                if (!putCodePoint(surrogate ? char32_t('?') : char32_t(unit))) return false;
                continue;
            }
            default:
                // QJsonDocument keeps the escaped byte itself (as Latin-1) for unknown escapes.
                cp = e;
                break;
        }
        if (!putCodePoint(cp)) return false;
        i += 2;
    }
    return true;
}

bool sameBytes(QByteArrayView a, QByteArrayView b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), size_t(a.size())) == 0;
}

bool hasBackslash(QByteArrayView text) {
    return std::memchr(text.data(), '\\', size_t(text.size())) != nullptr;
}

// QJsonDocument keeps an unescaped string as UTF-8 and QString::fromUtf8() drops a leading BOM
// from it (an escaped string is built as UTF-16 and keeps it): read strings the same way.
QByteArrayView withoutLeadingBom(QByteArrayView inner) {
    return inner.startsWith("\xEF\xBB\xBF") ? inner.sliced(3) : inner;
}

QByteArrayView innerOf(QByteArrayView token) {
    if (token.size() < 2 || token.front() != '"' || token.back() != '"') return {};
    return token.sliced(1, token.size() - 2);
}

}  // namespace

qsizetype skipWhitespace(QByteArrayView text, qsizetype pos) {
    if (pos == 0 && text.startsWith("\xEF\xBB\xBF")) pos = 3;
    while (pos < text.size() && isJsonWhitespace(text[pos])) ++pos;
    return pos;
}

qsizetype valueEnd(QByteArrayView text, qsizetype pos) {
    const qsizetype n = text.size();
    if (pos < 0 || pos >= n) return -1;
    const char first = text[pos];
    if (first == '"') return stringEnd(text, pos);
    if (first == '{' || first == '[') {
        // A depth counter instead of recursion: nesting depth cannot exhaust the stack.
        qsizetype depth = 0;
        for (qsizetype i = pos; i < n; ++i) {
            const char c = text[i];
            if (!kStructuralByte[uchar(c)]) continue;
            if (c == '"') {
                const qsizetype end = stringEnd(text, i);
                if (end < 0) return -1;
                i = end - 1;
            } else if (c == '{' || c == '[') {
                ++depth;
            } else if (c == '}' || c == ']') {
                if (--depth == 0) return i + 1;
            }
        }
        return -1;
    }
    if (first == ',' || first == ':' || first == '}' || first == ']' || isJsonWhitespace(first))
        return -1;
    qsizetype i = pos;
    while (i < n) {
        const char c = text[i];
        if (c == ',' || c == '}' || c == ']' || c == ':' || isJsonWhitespace(c)) break;
        ++i;
    }
    return i;
}

bool objectMembers(QByteArrayView text, qsizetype openBrace, QList<Member> *members,
                   qsizetype *closeBrace) {
    const qsizetype n = text.size();
    if (openBrace < 0 || openBrace >= n || text[openBrace] != '{') return false;
    qsizetype pos = skipWhitespace(text, openBrace + 1);
    if (pos < n && text[pos] == '}') {
        if (closeBrace) *closeBrace = pos;
        return true;
    }
    while (pos < n) {
        if (text[pos] != '"') return false;
        Member member;
        member.keyBegin = pos;
        const qsizetype keyEnd = stringEnd(text, pos);
        if (keyEnd < 0) return false;
        member.key = decodeKey(text.sliced(pos, keyEnd - pos));
        pos = skipWhitespace(text, keyEnd);
        if (pos >= n || text[pos] != ':') return false;
        pos = skipWhitespace(text, pos + 1);
        member.valueBegin = pos;
        member.valueEnd = valueEnd(text, pos);
        if (member.valueEnd < 0) return false;
        members->append(std::move(member));
        pos = skipWhitespace(text, members->constLast().valueEnd);
        if (pos >= n) return false;
        if (text[pos] == '}') {
            if (closeBrace) *closeBrace = pos;
            return true;
        }
        if (text[pos] != ',') return false;
        pos = skipWhitespace(text, pos + 1);
    }
    return false;
}

const Member *findMember(const QList<Member> &members, QByteArrayView key) {
    for (qsizetype i = members.size() - 1; i >= 0; --i) {
        if (members[i].key == key) return &members[i];
    }
    return nullptr;
}

const char *errorText(JsonError error) {
    switch (error) {
        case JsonError::None:
            return "no error";
        case JsonError::NotAContainer:
            return "document is not an object or an array";
        case JsonError::UnexpectedEnd:
            return "unexpected end of document";
        case JsonError::IllegalValue:
            return "illegal value";
        case JsonError::IllegalNumber:
            return "illegal number";
        case JsonError::NumberOutOfRange:
            return "number out of range";
        case JsonError::UnterminatedString:
            return "unterminated string";
        case JsonError::ControlCharInString:
            return "unescaped control character in string";
        case JsonError::InvalidEscape:
            return "invalid escape sequence";
        case JsonError::InvalidUtf8:
            return "invalid UTF-8 in string";
        case JsonError::MissingNameSeparator:
            return "missing name separator";
        case JsonError::MissingValueSeparator:
            return "missing value separator";
        case JsonError::ExpectedKey:
            return "expected a member name";
        case JsonError::DeepNesting:
            return "too deeply nested document";
        case JsonError::GarbageAtEnd:
            return "garbage at the end of the document";
    }
    return "invalid JSON";
}

Validation validate(QByteArrayView text, MemberCallback onMember, void *context) {
    return Validator(text, onMember, context).run();
}

bool keyEquals(QByteArrayView rawKey, QByteArrayView name) {
    if (sameBytes(rawKey, name) && !hasBackslash(name)) return true;
    // Escapes never make a key longer, and without one the bytes must match as they are.
    if (rawKey.size() < name.size() || !hasBackslash(rawKey)) return false;
    qsizetype at = 0;
    const bool prefix = decodeInner(rawKey, [&](char c) {
        if (at >= name.size() || name[at] != c) return false;
        ++at;
        return true;
    });
    return prefix && at == name.size();
}

QByteArray decodeString(QByteArrayView token) {
    if (token.size() < 2 || token.front() != '"') return {};
    const QByteArrayView inner = innerOf(token);
    if (!hasBackslash(inner)) return withoutLeadingBom(inner).toByteArray();
    QByteArray out;
    out.reserve(inner.size());
    decodeInner(inner, [&out](char c) {
        out.append(c);
        return true;
    });
    return out;
}

bool stringEquals(QByteArrayView token, QByteArrayView text) {
    if (token.size() < 2 || token.front() != '"') return false;
    const QByteArrayView inner = innerOf(token);
    return keyEquals(hasBackslash(inner) ? inner : withoutLeadingBom(inner), text);
}

bool readDouble(QByteArrayView token, double *out) {
    if (token.isEmpty()) return false;
    const char *begin = token.data();
    const char *end = begin + token.size();
    double value = 0;
    const auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec == std::errc() && ptr == end) {
        // QJsonDocument stores integral values as integers: -0 reads back as +0.
        *out = value == 0 ? 0.0 : value;
        return true;
    }
    // Denormals (and laxer spellings QJsonDocument took): its own conversion, exactly.
    bool ok = false;
    value = token.toByteArray().toDouble(&ok);
    if (!ok) return false;
    *out = value == 0 ? 0.0 : value;
    return true;
}

bool readInteger(QByteArrayView token, qint64 *out) {
    if (token.isEmpty()) return false;
    const char *begin = token.data();
    const char *end = begin + token.size();
    qint64 value = 0;
    const auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec == std::errc() && ptr == end) {
        *out = value;
        return true;
    }
    double d = 0;
    if (!readDouble(token, &d)) return false;
    constexpr double kTwoPow63 = 9223372036854775808.0;
    if (!(d >= -kTwoPow63 && d < kTwoPow63) || std::trunc(d) != d) return false;
    *out = static_cast<qint64>(d);
    return true;
}

bool ValueView::isNumber() const {
    const char c = firstByte();
    return c == '-' || c == '.' || (c >= '0' && c <= '9');
}

bool ValueView::stringEquals(QByteArrayView text) const {
    return isString() && json_scan::stringEquals(token(), text);
}

double ValueView::toDouble(double defaultValue) const {
    double value = 0;
    if (!isNumber() || !readDouble(token(), &value)) return defaultValue;
    return value;
}

ObjectView ValueView::toObject() const {
    return isObject() ? ObjectView(m_text, m_begin) : ObjectView();
}

ValueView ValueView::arrayAt(qsizetype index) const {
    if (!isArray()) return {};
    ArrayIterator it(m_text, m_begin);
    for (qsizetype k = 0;; ++k) {
        const ValueView element = it.next();
        if (!element.isPresent() || k == index) return element;
    }
}

ArrayIterator ValueView::elements() const {
    return ArrayIterator(m_text, isArray() ? m_begin : -1);
}

ArrayIterator::ArrayIterator(QByteArrayView text, qsizetype openBracket) : m_text(text) {
    if (openBracket < 0 || openBracket >= text.size() || text[openBracket] != '[') return;
    const qsizetype pos = skipSpaces(text, openBracket + 1);
    if (pos < text.size() && text[pos] != ']') m_pos = pos;
}

ValueView ArrayIterator::next() {
    if (m_pos < 0) return {};
    const qsizetype begin = m_pos;
    const qsizetype end = valueEnd(m_text, begin);
    m_pos = -1;
    if (end < 0) return {};
    const qsizetype after = skipSpaces(m_text, end);
    if (after < m_text.size() && m_text[after] == ',') m_pos = skipSpaces(m_text, after + 1);
    return ValueView(m_text, begin, end);
}

MemberIterator::MemberIterator(QByteArrayView text, qsizetype openBrace) : m_text(text) {
    if (openBrace < 0 || openBrace >= text.size() || text[openBrace] != '{') return;
    const qsizetype pos = skipSpaces(text, openBrace + 1);
    if (pos < text.size() && text[pos] == '}')
        m_complete = true;
    else
        m_pos = pos;
}

bool MemberIterator::next(MemberSpan *member) {
    const qsizetype n = m_text.size();
    qsizetype pos = m_pos;
    m_pos = -1;
    if (pos < 0 || pos >= n || m_text[pos] != '"') return false;
    const qsizetype keyEnd = stringEnd(m_text, pos);
    if (keyEnd < 0) return false;
    member->keyBegin = pos;
    member->rawKey = m_text.sliced(pos + 1, keyEnd - pos - 2);
    member->keyEscaped = hasBackslash(member->rawKey);
    pos = skipSpaces(m_text, keyEnd);
    if (pos >= n || m_text[pos] != ':') return false;
    member->valueBegin = skipSpaces(m_text, pos + 1);
    member->valueEnd = valueEnd(m_text, member->valueBegin);
    if (member->valueEnd < 0) return false;
    pos = skipSpaces(m_text, member->valueEnd);
    if (pos < n && m_text[pos] == '}') {
        m_complete = true;
    } else if (pos < n && m_text[pos] == ',') {
        m_pos = skipSpaces(m_text, pos + 1);
    } else {
        return false;  // cut off or malformed: this member does not count
    }
    return true;
}

ObjectView::ObjectView(QByteArrayView text, qsizetype openBrace)
    : m_text(text), m_openBrace(openBrace) {
    MemberIterator it(text, openBrace);
    MemberSpan member;
    while (it.next(&member)) append(member);
    m_valid = it.complete();
    // Not a complete object: behave like QJsonValue::toObject() on a non-object.
    if (!m_valid) m_count = 0;
}

void ObjectView::append(const MemberSpan &member) {
    if (m_count < kIndexedMembers)
        m_entries[size_t(m_count)] =
            Entry{member.rawKey, member.valueBegin, member.valueEnd, member.keyEscaped};
    ++m_count;
}

ValueView ObjectView::value(QByteArrayView key) const {
    if (m_count <= kIndexedMembers) {
        for (qsizetype i = m_count - 1; i >= 0; --i) {
            const Entry &e = m_entries[size_t(i)];
            // Without escapes the bytes are the key: no decoding, no scan for a backslash.
            if (e.escaped ? keyEquals(e.rawKey, key) : sameBytes(e.rawKey, key))
                return ValueView(m_text, e.valueBegin, e.valueEnd);
        }
        return {};
    }
    // More members than the index holds: rescan, keeping the last match.
    const qsizetype open = m_openBrace >= 0 ? m_openBrace : skipWhitespace(m_text, 0);
    MemberIterator it(m_text, open);
    MemberSpan member;
    ValueView found;
    while (it.next(&member)) {
        if (keyEquals(member.rawKey, key))
            found = ValueView(m_text, member.valueBegin, member.valueEnd);
    }
    return found;
}

}  // namespace airlock::json_scan
