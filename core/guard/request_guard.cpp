#include "core/guard/request_guard.h"

#include <QVarLengthArray>

#include <cstdio>

namespace airlock {

namespace {

constexpr int kMaxJsonDepth = 512;
constexpr qsizetype kMinScannedChars = 4;  // nothing a detector finds is shorter

// Members that carry no text a person wrote: binary payloads, ids, signatures, enums.
bool skippedKey(QByteArrayView key) {
    static const QByteArrayView skip[] = {"data",
                                          "image_url",
                                          "signature",
                                          "encrypted_content",
                                          "id",
                                          "tool_call_id",
                                          "tool_use_id",
                                          "call_id",
                                          "model",
                                          "role",
                                          "type",
                                          "file_data",
                                          "previous_response_id"};
    for (QByteArrayView s : skip)
        if (key == s) return true;
    return false;
}

void appendJsonString(QByteArray *out, const QString &s) {
    const QByteArray utf8 = s.toUtf8();
    const char *d = utf8.constData();
    const qsizetype len = utf8.size();
    out->append('"');
    qsizetype run = 0;  // start of the bytes not yet copied; copied in runs, escaped one by one
    for (qsizetype i = 0; i < len; ++i) {
        const uchar c = uchar(d[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out->append(d + run, i - run);
        run = i + 1;
        switch (c) {
            case '"':
                out->append("\\\"");
                break;
            case '\\':
                out->append("\\\\");
                break;
            case '\n':
                out->append("\\n");
                break;
            case '\r':
                out->append("\\r");
                break;
            case '\t':
                out->append("\\t");
                break;
            default: {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
                out->append(buf);
            }
        }
    }
    out->append(d + run, len - run);
    out->append('"');
}

int hexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// One pass over the JSON text: validates it, scans every string value (outside skipped keys)
// and splices redactions into a copy, so untouched bytes stay exactly as the client sent them.
struct Walker {
    const ContentScanner &scanner;
    bool applyRedaction;
    const char *p;
    qsizetype n;
    qsizetype pos = 0;
    GuardOutcome out;
    QByteArray rewritten;
    qsizetype copiedTo = 0;
    QList<GuardMatch> matches;
    // The path to the current value, rendered only when a block needs to name it.
    struct Segment {
        QByteArrayView key;
        qsizetype index = -1;
    };
    QVarLengthArray<Segment, 32> path;

    void ws() {
        while (pos < n && (p[pos] == ' ' || p[pos] == '\n' || p[pos] == '\r' || p[pos] == '\t'))
            ++pos;
    }

    QString renderPath() const {
        QString s;
        for (const Segment &seg : path) {
            if (seg.index >= 0)
                s += QLatin1Char('[') + QString::number(seg.index) + QLatin1Char(']');
            else
                s += (s.isEmpty() ? QString() : QStringLiteral(".")) + QString::fromUtf8(seg.key);
        }
        return s;
    }

    // Parses the string at pos ('"'); *decoded gets its text when wanted.
    bool string(QString *decoded, QByteArrayView *raw) {
        const qsizetype start = ++pos;
        bool escapes = false;
        bool nonAscii = false;
        while (pos < n && p[pos] != '"') {
            const uchar c = uchar(p[pos]);
            if (c < 0x20) return false;
            nonAscii |= c >= 0x80;
            if (c == '\\') {
                escapes = true;
                if (++pos >= n) return false;
            }
            ++pos;
        }
        if (pos >= n) return false;
        const qsizetype end = pos++;
        // Invalid UTF-8 is invalid JSON: refuse it rather than scan a lossy decoding.
        if (nonAscii && !QByteArrayView(p + start, end - start).isValidUtf8()) return false;
        if (raw) *raw = QByteArrayView(p + start, end - start);
        if (!decoded) return !escapes || validEscapes(start, end);
        if (!escapes) {
            *decoded = QString::fromUtf8(p + start, end - start);
            return true;
        }
        return decode(start, end, decoded);
    }

    bool validEscapes(qsizetype start, qsizetype end) const {
        QString ignored;
        return decode(start, end, &ignored);
    }

    bool decode(qsizetype start, qsizetype end, QString *outText) const {
        QByteArray utf8;
        utf8.reserve(end - start);
        QString result;
        for (qsizetype i = start; i < end; ++i) {
            if (p[i] != '\\') {
                utf8.append(p[i]);
                continue;
            }
            const char e = p[++i];
            switch (e) {
                case '"':
                    utf8.append('"');
                    break;
                case '\\':
                    utf8.append('\\');
                    break;
                case '/':
                    utf8.append('/');
                    break;
                case 'b':
                    utf8.append('\b');
                    break;
                case 'f':
                    utf8.append('\f');
                    break;
                case 'n':
                    utf8.append('\n');
                    break;
                case 'r':
                    utf8.append('\r');
                    break;
                case 't':
                    utf8.append('\t');
                    break;
                case 'u': {
                    if (i + 4 >= end) return false;
                    int v = 0;
                    for (int k = 1; k <= 4; ++k) {
                        const int h = hexValue(p[i + k]);
                        if (h < 0) return false;
                        v = v * 16 + h;
                    }
                    i += 4;
                    result += QString::fromUtf8(utf8);
                    utf8.clear();
                    result +=
                        QChar(char16_t(v));  // surrogate halves pair up in UTF-16 as they come
                    break;
                }
                default:
                    return false;
            }
        }
        result += QString::fromUtf8(utf8);
        *outText = result;
        return true;
    }

    bool scalar() {
        const char c = p[pos];
        auto literal = [&](const char *word, qsizetype len) {
            if (n - pos < len || QByteArrayView(p + pos, len) != QByteArrayView(word, len))
                return false;
            pos += len;
            return true;
        };
        if (c == 't') return literal("true", 4);
        if (c == 'f') return literal("false", 5);
        if (c == 'n') return literal("null", 4);
        // number: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
        if (c == '-') ++pos;
        if (pos >= n || p[pos] < '0' || p[pos] > '9') return false;
        if (p[pos] == '0')
            ++pos;
        else
            while (pos < n && p[pos] >= '0' && p[pos] <= '9') ++pos;
        if (pos < n && p[pos] == '.') {
            const qsizetype d = ++pos;
            while (pos < n && p[pos] >= '0' && p[pos] <= '9') ++pos;
            if (pos == d) return false;
        }
        if (pos < n && (p[pos] == 'e' || p[pos] == 'E')) {
            ++pos;
            if (pos < n && (p[pos] == '+' || p[pos] == '-')) ++pos;
            const qsizetype d = pos;
            while (pos < n && p[pos] >= '0' && p[pos] <= '9') ++pos;
            if (pos == d) return false;
        }
        return true;
    }

    void scanText(qsizetype rawStart, qsizetype rawEnd, const QString &text) {
        scanner.scan(text, &matches);
        if (matches.isEmpty()) return;
        QString redacted;
        qsizetype keptTo = 0;  // text before this offset is already in `redacted`
        for (const GuardMatch &m : std::as_const(matches)) {
            ++out.matchCount;
            const QString rule = scanner.ruleName(m);
            switch (scanner.actionOf(m)) {
                case GuardAction::Block:
                    if (!out.blocked) {
                        out.blocked = true;
                        out.blockRule = rule;
                        out.blockWhere = renderPath();
                    }
                    break;
                case GuardAction::Redact:
                    if (!out.redactedRules.contains(rule)) out.redactedRules.append(rule);
                    if (applyRedaction) {
                        // Built front to back in one pass: no quadratic replace on many matches.
                        if (redacted.isEmpty()) redacted.reserve(text.size());
                        redacted.append(QStringView(text).mid(keptTo, m.start - keptTo));
                        redacted.append(QLatin1String("[REDACTED:"))
                            .append(rule)
                            .append(QLatin1Char(']'));
                        keptTo = m.start + m.length;
                    }
                    break;
                case GuardAction::Warn:
                    if (!out.warnedRules.contains(rule)) out.warnedRules.append(rule);
                    break;
            }
        }
        if (keptTo == 0) return;
        redacted.append(QStringView(text).mid(keptTo));
        if (rewritten.isEmpty()) rewritten.reserve(n + 1024);
        rewritten.append(p + copiedTo, rawStart - copiedTo);
        appendJsonString(&rewritten, redacted);
        copiedTo = rawEnd;
    }

    bool value(int depth, bool scanStrings) {
        if (depth > kMaxJsonDepth) return false;
        ws();
        if (pos >= n) return false;
        const char c = p[pos];
        if (c == '"') {
            const qsizetype rawStart = pos;
            QString text;
            QByteArrayView raw;
            if (!string(scanStrings ? &text : nullptr, &raw)) return false;
            if (scanStrings && text.size() >= kMinScannedChars &&
                !text.startsWith(QLatin1String("data:")))
                scanText(rawStart, pos, text);
            return true;
        }
        if (c == '{') {
            ++pos;
            ws();
            if (pos < n && p[pos] == '}') {
                ++pos;
                return true;
            }
            for (;;) {
                ws();
                if (pos >= n || p[pos] != '"') return false;
                QByteArrayView key;
                if (!string(nullptr, &key)) return false;
                ws();
                if (pos >= n || p[pos] != ':') return false;
                ++pos;
                path.append(Segment{key, -1});
                const bool ok = value(depth + 1, scanStrings && !skippedKey(key));
                path.removeLast();
                if (!ok) return false;
                ws();
                if (pos < n && p[pos] == ',') {
                    ++pos;
                    continue;
                }
                if (pos < n && p[pos] == '}') {
                    ++pos;
                    return true;
                }
                return false;
            }
        }
        if (c == '[') {
            ++pos;
            ws();
            if (pos < n && p[pos] == ']') {
                ++pos;
                return true;
            }
            for (qsizetype index = 0;; ++index) {
                path.append(Segment{{}, index});
                const bool ok = value(depth + 1, scanStrings);
                path.removeLast();
                if (!ok) return false;
                ws();
                if (pos < n && p[pos] == ',') {
                    ++pos;
                    continue;
                }
                if (pos < n && p[pos] == ']') {
                    ++pos;
                    return true;
                }
                return false;
            }
        }
        return scalar();
    }
};

}  // namespace

GuardOutcome guardRequestBody(const ContentScanner &scanner, QByteArray *body,
                              bool applyRedaction) {
    Walker w{scanner, applyRedaction, body->constData(), body->size()};
    if (scanner.isEmpty()) return w.out;
    // Every string value is scanned, whatever the format: chat messages and content parts, tool
    // results and tool call arguments, Responses input items, prompts, embeddings input,
    // Anthropic system and content blocks, Gemini contents/parts and systemInstruction. New
    // fields are covered without code changes, so nothing fails open.
    w.ws();
    const bool container = w.pos < w.n && (w.p[w.pos] == '{' || w.p[w.pos] == '[');
    if (!container || !w.value(0, true)) {
        w.out = GuardOutcome{};
        w.out.parsed = false;
        return w.out;
    }
    w.ws();
    if (w.pos != w.n) {
        w.out = GuardOutcome{};
        w.out.parsed = false;
        return w.out;
    }
    if (w.copiedTo > 0) {
        w.rewritten.append(w.p + w.copiedTo, w.n - w.copiedTo);
        *body = std::move(w.rewritten);
        w.out.bodyChanged = true;
    }
    return w.out;
}

}  // namespace airlock
