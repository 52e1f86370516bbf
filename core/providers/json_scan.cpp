#include "core/providers/json_scan.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace airlock::json_scan {

namespace {

bool isJsonWhitespace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// One past the closing quote of the string whose opening quote is at pos, or -1.
qsizetype stringEnd(QByteArrayView text, qsizetype pos) {
    const qsizetype n = text.size();
    for (qsizetype i = pos + 1; i < n; ++i) {
        if (text[i] == '\\') {
            ++i;
        } else if (text[i] == '"') {
            return i + 1;
        }
    }
    return -1;
}

QByteArray decodeKey(QByteArrayView token) {
    const QByteArrayView inner = token.sliced(1, token.size() - 2);
    if (!inner.contains('\\')) return inner.toByteArray();
    // Escaped keys are rare: let the real parser decode them.
    const QByteArray wrapped = '[' + token.toByteArray() + ']';
    const QJsonDocument doc = QJsonDocument::fromJson(wrapped);
    return doc.array().at(0).toString().toUtf8();
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

}  // namespace airlock::json_scan
