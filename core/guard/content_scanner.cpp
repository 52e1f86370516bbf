#include "core/guard/content_scanner.h"

#include <algorithm>

namespace airlock {

namespace {

constexpr qsizetype kMaxEmailLocalChars = 64;
constexpr qsizetype kMaxEmailDomainChars = 255;
constexpr qsizetype kMaxPrivateKeyChars = 64 * 1024;
constexpr qsizetype kMinIbanChars = 15;
constexpr qsizetype kMaxIbanChars = 34;

using Ch = char16_t;

inline bool isDigit(Ch c) {
    return c >= '0' && c <= '9';
}
inline bool isUpper(Ch c) {
    return c >= 'A' && c <= 'Z';
}
inline bool isLower(Ch c) {
    return c >= 'a' && c <= 'z';
}
inline bool isAlnum(Ch c) {
    return isDigit(c) || isUpper(c) || isLower(c);
}
inline bool isWord(Ch c) {
    return isAlnum(c) || c == '_';
}
inline bool isB64Url(Ch c) {
    return isAlnum(c) || c == '_' || c == '-';
}
inline bool isEmailLocal(Ch c) {
    return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
inline bool isDomainChar(Ch c) {
    return isAlnum(c) || c == '-' || c == '.';
}

// Characters at which some detector can start (or, for '@', be anchored).
enum : quint8 {
    kNone = 0,
    kDigit = 1,
    kAt = 2,
    kPlus = 4,
    kParen = 8,
    kDash = 16,
    kUpper = 32,
    kKeyStart = 64
};

struct StartTable {
    std::array<quint8, 128> cls{};
    constexpr StartTable() {
        for (int c = '0'; c <= '9'; ++c) cls[size_t(c)] = kDigit;
        for (int c = 'A'; c <= 'Z'; ++c) cls[size_t(c)] = kUpper;
        cls['@'] = kAt;
        cls['+'] = kPlus;
        cls['('] = kParen;
        cls['-'] = kDash;
        for (char c : {'s', 'r', 'g', 'x', 'e', 'h'}) cls[size_t(c)] = kKeyStart;
    }
};
constexpr StartTable kStarts;

bool startsWith(const Ch *p, qsizetype n, qsizetype i, const char *lit) {
    for (qsizetype k = 0; lit[k]; ++k)
        if (i + k >= n || p[i + k] != Ch(uchar(lit[k]))) return false;
    return true;
}

qsizetype runOf(const Ch *p, qsizetype n, qsizetype i, bool (*pred)(Ch)) {
    qsizetype j = i;
    while (j < n && pred(p[j])) ++j;
    return j;
}

bool endsCleanly(const Ch *p, qsizetype n, qsizetype end) {
    return end >= n || !isWord(p[end]);
}

// Reads exactly `count` digits at i; returns the value or -1.
int digitsAt(const Ch *p, qsizetype n, qsizetype i, int count) {
    if (i + count > n) return -1;
    int v = 0;
    for (int k = 0; k < count; ++k) {
        if (!isDigit(p[i + k])) return -1;
        v = v * 10 + (p[i + k] - '0');
    }
    return v;
}

qsizetype matchSsn(const Ch *p, qsizetype n, qsizetype i) {
    const int area = digitsAt(p, n, i, 3);
    if (area < 0 || i + 11 > n) return -1;
    const Ch sep = p[i + 3];
    if ((sep != '-' && sep != ' ') || p[i + 6] != sep) return -1;
    const int group = digitsAt(p, n, i + 4, 2);
    const int serial = digitsAt(p, n, i + 7, 4);
    if (group < 0 || serial < 0) return -1;
    // SSA never issues area 000, 666 or 900-999, group 00 or serial 0000.
    if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0) return -1;
    const qsizetype end = i + 11;
    if (!endsCleanly(p, n, end) || (end < n && p[end] == '-')) return -1;
    return end;
}

qsizetype matchIpv4(const Ch *p, qsizetype n, qsizetype i) {
    qsizetype j = i;
    for (int octet = 0; octet < 4; ++octet) {
        if (octet > 0) {
            if (j >= n || p[j] != '.') return -1;
            ++j;
        }
        int v = 0, digits = 0;
        while (j < n && isDigit(p[j]) && digits < 4) {
            v = v * 10 + (p[j] - '0');
            ++j;
            ++digits;
        }
        if (digits == 0 || digits > 3 || v > 255) return -1;
    }
    if (!endsCleanly(p, n, j)) return -1;
    if (j + 1 < n && p[j] == '.' && isDigit(p[j + 1])) return -1;  // 1.2.3.4.5 is not an address
    return j;
}

// NANP-style 3-3-4 with one separator kind, optionally with a leading "1-".
qsizetype matchPhoneDigits(const Ch *p, qsizetype n, qsizetype i) {
    qsizetype j = i;
    if (j + 1 < n && p[j] == '1' && (p[j + 1] == '-' || p[j + 1] == ' ' || p[j + 1] == '.') &&
        digitsAt(p, n, j + 2, 3) >= 0)
        j += 2;
    if (digitsAt(p, n, j, 3) < 0 || j + 12 > n) return -1;
    const Ch sep = p[j + 3];
    if (sep != '-' && sep != '.' && sep != ' ') return -1;
    if (digitsAt(p, n, j + 4, 3) < 0 || p[j + 7] != sep || digitsAt(p, n, j + 8, 4) < 0) return -1;
    const qsizetype end = j + 12;
    if (!endsCleanly(p, n, end) ||
        (end + 1 < n && (p[end] == '-' || p[end] == '.') && isDigit(p[end + 1])))
        return -1;
    return end;
}

// "+<country> …" (8-15 digits in groups) or "(ddd) ddd-dddd".
qsizetype matchPhoneSymbol(const Ch *p, qsizetype n, qsizetype i) {
    if (p[i] == '(') {
        if (digitsAt(p, n, i + 1, 3) < 0 || i + 5 >= n || p[i + 4] != ')') return -1;
        qsizetype j = i + 5;
        if (j < n && p[j] == ' ') ++j;
        if (digitsAt(p, n, j, 3) < 0 || j + 8 > n ||
            (p[j + 3] != '-' && p[j + 3] != ' ' && p[j + 3] != '.') || digitsAt(p, n, j + 4, 4) < 0)
            return -1;
        return endsCleanly(p, n, j + 8) ? j + 8 : -1;
    }
    // '+'
    qsizetype j = i + 1, lastDigitEnd = -1;
    int digits = 0;
    bool prevSep = true;
    while (j < n) {
        const Ch c = p[j];
        if (isDigit(c)) {
            ++digits;
            prevSep = false;
            lastDigitEnd = j + 1;
        } else if ((c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') && !prevSep &&
                   j > i + 1) {
            prevSep = true;
        } else {
            break;
        }
        if (digits > 15) return -1;
        ++j;
    }
    if (digits < 8 || lastDigitEnd < 0 || !endsCleanly(p, n, lastDigitEnd)) return -1;
    return lastDigitEnd;
}

qsizetype matchCard(const Ch *p, qsizetype n, qsizetype i) {
    if (p[i] < '2' || p[i] > '6') return -1;
    std::array<Ch, 19> digits{};
    int count = 0;
    qsizetype j = i, end = -1;
    while (j < n) {
        if (isDigit(p[j])) {
            if (count == 19) return -1;
            digits[size_t(count++)] = p[j];
            end = ++j;
        } else if ((p[j] == ' ' || p[j] == '-') && j + 1 < n && isDigit(p[j + 1]) && count > 0) {
            ++j;
        } else {
            break;
        }
    }
    if (count < 13 || !endsCleanly(p, n, end)) return -1;
    if (!ContentScanner::luhnValid(QStringView(digits.data(), count))) return -1;
    return end;
}

qsizetype matchIban(const Ch *p, qsizetype n, qsizetype i) {
    if (i + 4 > n || !isUpper(p[i + 1]) || !isDigit(p[i + 2]) || !isDigit(p[i + 3])) return -1;
    std::array<Ch, kMaxIbanChars> compact{};
    std::array<qsizetype, kMaxIbanChars + 1> endAt{};  // source end after compact[k-1]
    qsizetype count = 0, j = i;
    while (j < n && count < kMaxIbanChars) {
        const Ch c = p[j];
        if (isUpper(c) || isDigit(c)) {
            compact[size_t(count++)] = c;
            endAt[size_t(count)] = ++j;
        } else if (c == ' ' && count % 4 == 0 && j + 1 < n &&
                   (isUpper(p[j + 1]) || isDigit(p[j + 1]))) {
            ++j;
        } else {
            break;
        }
    }
    // Longest prefix that ends at a word boundary and passes mod-97 (the text may go on after it).
    for (qsizetype len = count; len >= kMinIbanChars; --len) {
        const qsizetype end = endAt[size_t(len)];
        if (!endsCleanly(p, n, end)) continue;
        if (ContentScanner::ibanChecksumValid(QStringView(compact.data(), len))) return end;
    }
    return -1;
}

qsizetype matchRun(const Ch *p, qsizetype n, qsizetype bodyStart, qsizetype minBody,
                   bool (*pred)(Ch)) {
    const qsizetype end = runOf(p, n, bodyStart, pred);
    return end - bodyStart >= minBody ? end : -1;
}

bool isUpperAlnum(Ch c) {
    return isUpper(c) || isDigit(c);
}
bool isAlnumPred(Ch c) {
    return isAlnum(c);
}
bool isB64UrlPred(Ch c) {
    return isB64Url(c);
}
bool isWordPred(Ch c) {
    return isWord(c);
}
bool isSlackChar(Ch c) {
    return isAlnum(c) || c == '-';
}

bool hasDigitAndLetter(const Ch *p, qsizetype from, qsizetype to) {
    bool d = false, l = false;
    for (qsizetype k = from; k < to && !(d && l); ++k) {
        d |= isDigit(p[k]);
        l |= isUpper(p[k]) || isLower(p[k]);
    }
    return d && l;
}

qsizetype matchApiKey(const Ch *p, qsizetype n, qsizetype i) {
    const Ch c = p[i];
    qsizetype end = -1;
    if (c == 's' || c == 'r') {
        if (startsWith(p, n, i, "sk-")) {
            end = matchRun(p, n, i + 3, 20, isB64UrlPred);
            if (end > 0 && !hasDigitAndLetter(p, i + 3, end)) end = -1;
        } else if (startsWith(p, n, i, "sk_live_") || startsWith(p, n, i, "sk_test_") ||
                   startsWith(p, n, i, "rk_live_") || startsWith(p, n, i, "rk_test_")) {
            end = matchRun(p, n, i + 8, 16, isAlnumPred);
        }
    } else if (c == 'g') {
        if (startsWith(p, n, i, "github_pat_"))
            end = matchRun(p, n, i + 11, 22, isWordPred);
        else if (i + 4 < n && p[i + 1] == 'h' && p[i + 3] == '_' &&
                 (p[i + 2] == 'p' || p[i + 2] == 'o' || p[i + 2] == 'u' || p[i + 2] == 's' ||
                  p[i + 2] == 'r'))
            end = matchRun(p, n, i + 4, 36, isAlnumPred);
        else if (startsWith(p, n, i, "glpat-"))
            end = matchRun(p, n, i + 6, 20, isB64UrlPred);
    } else if (c == 'x') {
        if (i + 5 < n && p[i + 1] == 'o' && p[i + 2] == 'x' && p[i + 4] == '-' &&
            (p[i + 3] == 'a' || p[i + 3] == 'b' || p[i + 3] == 'p' || p[i + 3] == 'o' ||
             p[i + 3] == 's' || p[i + 3] == 'r'))
            end = matchRun(p, n, i + 5, 10, isSlackChar);
    } else if (c == 'h') {
        if (startsWith(p, n, i, "hf_")) end = matchRun(p, n, i + 3, 30, isAlnumPred);
    } else if (c == 'A') {
        if (startsWith(p, n, i, "AIza"))
            end = matchRun(p, n, i + 4, 35, isB64UrlPred);
        else if (startsWith(p, n, i, "AKIA") || startsWith(p, n, i, "ASIA")) {
            end = runOf(p, n, i + 4, isUpperAlnum);
            if (end - (i + 4) != 16) end = -1;
        }
    }
    if (end > 0 && end < n && isWord(p[end])) return -1;
    return end;
}

qsizetype matchJwt(const Ch *p, qsizetype n, qsizetype i) {
    if (!startsWith(p, n, i, "eyJ")) return -1;
    const qsizetype h = runOf(p, n, i, isB64UrlPred);
    if (h - i < 10 || h >= n || p[h] != '.' || !startsWith(p, n, h + 1, "eyJ")) return -1;
    const qsizetype pl = runOf(p, n, h + 1, isB64UrlPred);
    if (pl - h - 1 < 10 || pl >= n || p[pl] != '.') return -1;
    return runOf(p, n, pl + 1, isB64UrlPred);
}

qsizetype matchPrivateKey(const Ch *p, qsizetype n, qsizetype i) {
    if (!startsWith(p, n, i, "-----BEGIN ")) return -1;
    qsizetype j = i + 11;
    const qsizetype labelLimit = qMin(n, j + 40);
    while (j < labelLimit && (isUpper(p[j]) || p[j] == ' ')) ++j;
    if (!startsWith(p, n, j, "-----")) return -1;
    const QStringView label(p + i + 11, j - i - 11);
    if (!label.endsWith(QLatin1String("PRIVATE KEY"))) return -1;
    // The whole block up to its END line (or what the text holds of it) is the secret.
    const qsizetype limit = qMin(n, i + kMaxPrivateKeyChars);
    for (qsizetype k = j + 5; k + 9 <= limit; ++k) {
        if (p[k] == '-' && startsWith(p, n, k, "-----END ")) {
            qsizetype e = k + 9;
            while (e < limit && (isUpper(p[e]) || p[e] == ' ')) ++e;
            return startsWith(p, n, e, "-----") ? e + 5 : e;
        }
    }
    return limit;
}

qsizetype matchEmail(const Ch *p, qsizetype n, qsizetype at, qsizetype *start) {
    qsizetype s = at;
    while (s > 0 && at - s < kMaxEmailLocalChars && isEmailLocal(p[s - 1])) --s;
    while (s < at && (p[s] == '.' || p[s] == '-' || p[s] == '+')) ++s;
    if (s == at) return -1;
    qsizetype e = at + 1;
    const qsizetype limit = qMin(n, at + 1 + kMaxEmailDomainChars);
    while (e < limit && isDomainChar(p[e])) ++e;
    while (e > at + 1 && (p[e - 1] == '.' || p[e - 1] == '-')) --e;
    // Needs a dot and a TLD of two or more letters.
    qsizetype lastDot = -1;
    for (qsizetype k = at + 1; k < e; ++k)
        if (p[k] == '.') lastDot = k;
    if (lastDot <= at + 1 || e - lastDot - 1 < 2) return -1;
    for (qsizetype k = lastDot + 1; k < e; ++k)
        if (!isUpper(p[k]) && !isLower(p[k])) return -1;
    *start = s;
    return e;
}

}  // namespace

QString detectorName(Detector d) {
    switch (d) {
        case Detector::Email:
            return QStringLiteral("email");
        case Detector::Phone:
            return QStringLiteral("phone");
        case Detector::CreditCard:
            return QStringLiteral("credit_card");
        case Detector::UsSsn:
            return QStringLiteral("us_ssn");
        case Detector::Iban:
            return QStringLiteral("iban");
        case Detector::IpAddress:
            return QStringLiteral("ip_address");
        case Detector::ApiKey:
            return QStringLiteral("api_key");
        case Detector::PrivateKey:
            return QStringLiteral("private_key");
        case Detector::Jwt:
            return QStringLiteral("jwt");
        case Detector::Pattern:
            return QStringLiteral("pattern");
    }
    return {};
}

bool detectorFromName(const QString &name, Detector *out) {
    for (int k = 0; k < kBuiltInDetectorCount; ++k) {
        if (detectorName(Detector(k)) == name) {
            *out = Detector(k);
            return true;
        }
    }
    return false;
}

ContentScanner::ContentScanner(const GuardrailRules &rules) {
    for (auto it = rules.detectors.begin(); it != rules.detectors.end(); ++it) {
        Detector d;
        if (!detectorFromName(it.key(), &d)) continue;
        m_enabled[size_t(d)] = true;
        m_actions[size_t(d)] = it.value();
        m_anyBuiltIn = true;
    }
    for (const PatternRule &r : rules.patterns) {
        QRegularExpression re(r.regex);
        if (!re.isValid()) continue;  // validated when the bundle was parsed
        re.optimize();
        m_patterns.append(Pattern{r.name, re, r.action});
    }
}

GuardAction ContentScanner::actionOf(const GuardMatch &m) const {
    if (m.detector == Detector::Pattern) return m_patterns.value(m.pattern).action;
    return m_actions[size_t(m.detector)];
}

QString ContentScanner::ruleName(const GuardMatch &m) const {
    if (m.detector == Detector::Pattern) return m_patterns.value(m.pattern).name;
    return detectorName(m.detector);
}

bool ContentScanner::luhnValid(QStringView digits) {
    int sum = 0;
    bool doubleIt = false;
    for (qsizetype k = digits.size() - 1; k >= 0; --k) {
        const char16_t c = digits[k].unicode();
        if (c < '0' || c > '9') return false;
        int d = c - '0';
        if (doubleIt) {
            d *= 2;
            if (d > 9) d -= 9;
        }
        sum += d;
        doubleIt = !doubleIt;
    }
    return !digits.isEmpty() && sum % 10 == 0;
}

bool ContentScanner::ibanChecksumValid(QStringView iban) {
    if (iban.size() < kMinIbanChars || iban.size() > kMaxIbanChars) return false;
    // Move the first four characters to the end, letters become 10..35, the number mod 97 must
    // be 1.
    int rem = 0;
    for (qsizetype k = 0; k < iban.size(); ++k) {
        const char16_t c = iban[(k + 4) % iban.size()].unicode();
        if (c >= '0' && c <= '9')
            rem = (rem * 10 + (c - '0')) % 97;
        else if (c >= 'A' && c <= 'Z')
            rem = (rem * 100 + (c - 'A' + 10)) % 97;
        else
            return false;
    }
    return rem == 1;
}

void ContentScanner::scanBuiltIns(QStringView text, QList<GuardMatch> *out) const {
    const Ch *p = text.utf16();
    const qsizetype n = text.size();
    const bool digitsOn = enabled(Detector::UsSsn) || enabled(Detector::IpAddress) ||
                          enabled(Detector::Phone) || enabled(Detector::CreditCard);
    const bool keysOn = enabled(Detector::ApiKey) || enabled(Detector::Jwt);
    auto push = [out](qsizetype s, qsizetype e, Detector d) {
        out->append(GuardMatch{s, e - s, d, -1});
    };
    for (qsizetype i = 0; i < n; ++i) {
        const Ch c = p[i];
        if (c >= 128) continue;
        const quint8 cls = kStarts.cls[c];
        if (cls == kNone) continue;
        const bool atBoundary = i == 0 || !(isWord(p[i - 1]) || p[i - 1] == '-' || p[i - 1] == '.');
        qsizetype end = -1;
        switch (cls) {
            case kAt:
                if (enabled(Detector::Email)) {
                    qsizetype s = 0;
                    end = matchEmail(p, n, i, &s);
                    if (end > 0) {
                        push(s, end, Detector::Email);
                        i = end - 1;
                    }
                }
                continue;
            case kDigit:
                if (!atBoundary || !digitsOn) continue;
                if (enabled(Detector::UsSsn) && (end = matchSsn(p, n, i)) > 0)
                    push(i, end, Detector::UsSsn);
                else if (enabled(Detector::IpAddress) && (end = matchIpv4(p, n, i)) > 0)
                    push(i, end, Detector::IpAddress);
                else if (enabled(Detector::Phone) && (end = matchPhoneDigits(p, n, i)) > 0)
                    push(i, end, Detector::Phone);
                else if (enabled(Detector::CreditCard) && (end = matchCard(p, n, i)) > 0)
                    push(i, end, Detector::CreditCard);
                else {
                    // Skip the rest of this number: no detector starts inside it.
                    while (i + 1 < n && isDigit(p[i + 1])) ++i;
                    continue;
                }
                break;
            case kPlus:
            case kParen:
                if (enabled(Detector::Phone) && (end = matchPhoneSymbol(p, n, i)) > 0)
                    push(i, end, Detector::Phone);
                break;
            case kDash:
                if (enabled(Detector::PrivateKey) && (end = matchPrivateKey(p, n, i)) > 0)
                    push(i, end, Detector::PrivateKey);
                break;
            case kUpper:
                if (!atBoundary) continue;
                if (c == 'A' && enabled(Detector::ApiKey) && (end = matchApiKey(p, n, i)) > 0)
                    push(i, end, Detector::ApiKey);
                else if (enabled(Detector::Iban) && (end = matchIban(p, n, i)) > 0)
                    push(i, end, Detector::Iban);
                break;
            case kKeyStart:
                if (!atBoundary || !keysOn) continue;
                if (c == 'e') {
                    if (enabled(Detector::Jwt) && (end = matchJwt(p, n, i)) > 0)
                        push(i, end, Detector::Jwt);
                } else if (enabled(Detector::ApiKey) && (end = matchApiKey(p, n, i)) > 0) {
                    push(i, end, Detector::ApiKey);
                }
                break;
            default:
                break;
        }
        if (end > 0) i = end - 1;
    }
}

void ContentScanner::scan(QStringView text, QList<GuardMatch> *out) const {
    out->clear();
    if (m_anyBuiltIn) scanBuiltIns(text, out);
    for (qsizetype k = 0; k < m_patterns.size(); ++k) {
        auto it = m_patterns[k].re.globalMatch(text);
        while (it.hasNext()) {
            const QRegularExpressionMatch m = it.next();
            if (m.capturedLength() > 0)
                out->append(
                    GuardMatch{m.capturedStart(), m.capturedLength(), Detector::Pattern, int(k)});
        }
    }
    if (out->size() < 2) return;
    std::sort(out->begin(), out->end(), [](const GuardMatch &a, const GuardMatch &b) {
        return a.start != b.start ? a.start < b.start : a.length > b.length;
    });
    QList<GuardMatch> kept;
    qsizetype coveredTo = 0;
    for (const GuardMatch &m : *out) {
        if (m.start < coveredTo) continue;
        kept.append(m);
        coveredTo = m.start + m.length;
    }
    *out = std::move(kept);
}

}  // namespace airlock
