// HTTP/1.1 message heads as plain values: a case-insensitive header list that keeps
// order and original spelling, and request/response heads built on it.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QPair>

namespace airlock {

class HttpHeaders {
public:
    using Entry = QPair<QByteArray, QByteArray>;

    // First value whose name matches case-insensitively; empty when absent.
    QByteArray value(QByteArrayView name) const;
    bool contains(QByteArrayView name) const;
    QList<QByteArray> values(QByteArrayView name) const;
    void add(QByteArray name, QByteArray value);
    // Replaces every header of that name by one entry (added at the end when absent).
    void set(QByteArray name, QByteArray value);
    void remove(QByteArrayView name);
    // True when a comma-separated header (e.g. Connection, Transfer-Encoding) lists token.
    bool hasToken(QByteArrayView name, QByteArrayView token) const;
    const QList<Entry> &entries() const { return m_entries; }
    qsizetype size() const { return m_entries.size(); }
    // "Name: value\r\n" for each entry.
    void serialize(QByteArray &out) const;

private:
    QList<Entry> m_entries;
};

struct HttpRequestHead {
    QByteArray method;   // as sent, e.g. "POST"
    QByteArray target;   // request-target as sent: origin-form "/v1/x?y", absolute-form or authority-form
    int versionMinor = 1;  // HTTP/1.x
    HttpHeaders headers;

    QByteArray path() const;   // target up to '?', for origin-form
    QByteArray query() const;  // after '?', without it
    bool keepAlive() const;    // per version and Connection header
    QByteArray serialize() const;  // request line + headers + blank line
};

struct HttpResponseHead {
    int status = 0;
    QByteArray reason;
    int versionMinor = 1;
    HttpHeaders headers;

    bool keepAlive() const;
    QByteArray serialize() const;  // status line + headers + blank line
};

QByteArray reasonPhrase(int status);

}  // namespace airlock
