#include "core/http/http_message.h"

namespace airlock {

namespace {

char asciiLower(char c) {
    return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
}

// Header names and tokens are ASCII; locale-aware comparison would be wrong and slow.
bool equalsIgnoreCase(QByteArrayView a, QByteArrayView b) {
    if (a.size() != b.size()) return false;
    for (qsizetype i = 0; i < a.size(); ++i) {
        if (asciiLower(a[i]) != asciiLower(b[i])) return false;
    }
    return true;
}

bool isOws(char c) {
    return c == ' ' || c == '\t';
}

QByteArrayView trimOws(QByteArrayView v) {
    while (!v.isEmpty() && isOws(v.front())) v = v.sliced(1);
    while (!v.isEmpty() && isOws(v.back())) v.chop(1);
    return v;
}

bool listContainsToken(QByteArrayView list, QByteArrayView token) {
    while (!list.isEmpty()) {
        const qsizetype comma = list.indexOf(',');
        const QByteArrayView item = comma < 0 ? list : list.first(comma);
        if (equalsIgnoreCase(trimOws(item), token)) return true;
        if (comma < 0) break;
        list = list.sliced(comma + 1);
    }
    return false;
}

void appendVersion(QByteArray &out, int versionMinor) {
    out += "HTTP/1.";
    out += char('0' + (versionMinor == 0 ? 0 : 1));
}

bool keepAliveFor(int versionMinor, const HttpHeaders &headers) {
    if (headers.hasToken("Connection", "close")) return false;
    if (versionMinor >= 1) return true;
    return headers.hasToken("Connection", "keep-alive");
}

}  // namespace

QByteArray HttpHeaders::value(QByteArrayView name) const {
    for (const Entry &e : m_entries) {
        if (equalsIgnoreCase(e.first, name)) return e.second;
    }
    return {};
}

bool HttpHeaders::contains(QByteArrayView name) const {
    for (const Entry &e : m_entries) {
        if (equalsIgnoreCase(e.first, name)) return true;
    }
    return false;
}

QList<QByteArray> HttpHeaders::values(QByteArrayView name) const {
    QList<QByteArray> out;
    for (const Entry &e : m_entries) {
        if (equalsIgnoreCase(e.first, name)) out.append(e.second);
    }
    return out;
}

void HttpHeaders::add(QByteArray name, QByteArray value) {
    m_entries.append(Entry(std::move(name), std::move(value)));
}

void HttpHeaders::set(QByteArray name, QByteArray value) {
    // Keep the position of the first occurrence so serialized order stays stable.
    qsizetype first = -1;
    for (qsizetype i = 0; i < m_entries.size();) {
        if (equalsIgnoreCase(m_entries.at(i).first, name)) {
            if (first < 0) {
                first = i;
                ++i;
            } else {
                m_entries.removeAt(i);
            }
        } else {
            ++i;
        }
    }
    if (first < 0) {
        add(std::move(name), std::move(value));
    } else {
        m_entries[first] = Entry(std::move(name), std::move(value));
    }
}

void HttpHeaders::remove(QByteArrayView name) {
    m_entries.removeIf([name](const Entry &e) { return equalsIgnoreCase(e.first, name); });
}

bool HttpHeaders::hasToken(QByteArrayView name, QByteArrayView token) const {
    for (const Entry &e : m_entries) {
        if (equalsIgnoreCase(e.first, name) && listContainsToken(e.second, token)) return true;
    }
    return false;
}

void HttpHeaders::serialize(QByteArray &out) const {
    qsizetype needed = 0;
    for (const Entry &e : m_entries) needed += e.first.size() + e.second.size() + 4;
    out.reserve(out.size() + needed);
    for (const Entry &e : m_entries) {
        out += e.first;
        out += ": ";
        out += e.second;
        out += "\r\n";
    }
}

QByteArray HttpRequestHead::path() const {
    QByteArrayView t = target;
    // Forward-proxy requests carry absolute-form ("http://host/p?q"); their path is the part
    // after the authority, so routing by path works the same in both modes.
    const qsizetype scheme = t.indexOf("://");
    if (!t.startsWith('/') && scheme > 0) {
        t = t.sliced(scheme + 3);
        qsizetype slash = 0;
        while (slash < t.size() && t[slash] != '/' && t[slash] != '?' && t[slash] != '#') ++slash;
        t = t.sliced(slash);
        if (t.isEmpty() || t.front() != '/') return QByteArrayLiteral("/");
    }
    const qsizetype q = t.indexOf('?');
    return (q < 0 ? t : t.first(q)).toByteArray();
}

QByteArray HttpRequestHead::query() const {
    const qsizetype q = target.indexOf('?');
    if (q < 0) return {};
    return target.mid(q + 1);
}

bool HttpRequestHead::keepAlive() const {
    return keepAliveFor(versionMinor, headers);
}

QByteArray HttpRequestHead::serialize() const {
    QByteArray out;
    out.reserve(method.size() + target.size() + 16 + headers.size() * 32);
    out += method;
    out += ' ';
    out += target;
    out += ' ';
    appendVersion(out, versionMinor);
    out += "\r\n";
    headers.serialize(out);
    out += "\r\n";
    return out;
}

bool HttpResponseHead::keepAlive() const {
    return keepAliveFor(versionMinor, headers);
}

QByteArray HttpResponseHead::serialize() const {
    QByteArray out;
    out.reserve(reason.size() + 32 + headers.size() * 32);
    appendVersion(out, versionMinor);
    out += ' ';
    out += QByteArray::number(status);
    out += ' ';
    out += reason.isEmpty() ? reasonPhrase(status) : reason;
    out += "\r\n";
    headers.serialize(out);
    out += "\r\n";
    return out;
}

QByteArray reasonPhrase(int status) {
    switch (status) {
        case 100:
            return QByteArrayLiteral("Continue");
        case 101:
            return QByteArrayLiteral("Switching Protocols");
        case 200:
            return QByteArrayLiteral("OK");
        case 201:
            return QByteArrayLiteral("Created");
        case 202:
            return QByteArrayLiteral("Accepted");
        case 204:
            return QByteArrayLiteral("No Content");
        case 206:
            return QByteArrayLiteral("Partial Content");
        case 301:
            return QByteArrayLiteral("Moved Permanently");
        case 302:
            return QByteArrayLiteral("Found");
        case 304:
            return QByteArrayLiteral("Not Modified");
        case 307:
            return QByteArrayLiteral("Temporary Redirect");
        case 308:
            return QByteArrayLiteral("Permanent Redirect");
        case 400:
            return QByteArrayLiteral("Bad Request");
        case 401:
            return QByteArrayLiteral("Unauthorized");
        case 403:
            return QByteArrayLiteral("Forbidden");
        case 404:
            return QByteArrayLiteral("Not Found");
        case 405:
            return QByteArrayLiteral("Method Not Allowed");
        case 408:
            return QByteArrayLiteral("Request Timeout");
        case 409:
            return QByteArrayLiteral("Conflict");
        case 411:
            return QByteArrayLiteral("Length Required");
        case 412:
            return QByteArrayLiteral("Precondition Failed");
        case 413:
            return QByteArrayLiteral("Content Too Large");
        case 414:
            return QByteArrayLiteral("URI Too Long");
        case 415:
            return QByteArrayLiteral("Unsupported Media Type");
        case 417:
            return QByteArrayLiteral("Expectation Failed");
        case 422:
            return QByteArrayLiteral("Unprocessable Content");
        case 426:
            return QByteArrayLiteral("Upgrade Required");
        case 429:
            return QByteArrayLiteral("Too Many Requests");
        case 431:
            return QByteArrayLiteral("Request Header Fields Too Large");
        case 500:
            return QByteArrayLiteral("Internal Server Error");
        case 501:
            return QByteArrayLiteral("Not Implemented");
        case 502:
            return QByteArrayLiteral("Bad Gateway");
        case 503:
            return QByteArrayLiteral("Service Unavailable");
        case 504:
            return QByteArrayLiteral("Gateway Timeout");
        case 505:
            return QByteArrayLiteral("HTTP Version Not Supported");
        default:
            break;
    }
    return {};
}

}  // namespace airlock
