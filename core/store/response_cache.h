// The per-profile response cache (cache.db in the data dir): replays identical non-streamed AI
// answers without an upstream call. All SQLite work runs on one worker thread, off the event loop.
#pragma once

#include <QByteArray>
#include <QList>
#include <QObject>
#include <QPair>
#include <QString>
#include <QThread>
#include <functional>
#include <memory>
#include <optional>

struct sqlite3;

namespace airlock {

// What one cache key is derived from; the body is the request body after policy rewrites.
struct CacheKeyInput {
    QString provider;
    QByteArray format;
    QByteArray method;
    QByteArray path;  // upstream path including the query
    QByteArray body;
    QString app;  // only when the profile's cache is scoped per app; empty: shared per device
};

struct CachedResponse {
    int status = 0;
    QList<QPair<QByteArray, QByteArray>> headers;  // replayable headers only
    QByteArray body;
};

// The answer headers worth replaying: not hop-by-hop, not framing, not cookies, not x-airlock-*.
bool replayableCacheHeader(const QByteArray &name);

// The synchronous store. Used only from one thread at a time (the ResponseCache worker, or a test).
class ResponseCacheStore {
public:
    ResponseCacheStore();
    ~ResponseCacheStore();
    ResponseCacheStore(const ResponseCacheStore &) = delete;
    ResponseCacheStore &operator=(const ResponseCacheStore &) = delete;

    // Creates the file 0600, WAL journal, and the schema.
    bool open(const QString &path, QString *error);
    bool isOpen() const { return m_db != nullptr; }

    static QByteArray key(const CacheKeyInput &input);  // hex SHA-256

    // A live entry refreshes its last-use time; an expired one is deleted and missed.
    std::optional<CachedResponse> lookup(const QByteArray &key, qint64 nowMs);
    // Stores under `bucket` (the profile) and evicts that bucket's least recently used entries
    // until it fits in maxBytes. An entry larger than maxBytes is not stored.
    bool store(const QByteArray &key, const QString &bucket, const CachedResponse &response,
               qint64 expiresAtMs, qint64 maxBytes, qint64 nowMs, QString *error = nullptr);
    qint64 bucketBytes(const QString &bucket);
    qint64 entryCount();

private:
    bool exec(const char *sql, QString *error);
    sqlite3 *m_db = nullptr;
};

class ResponseCache : public QObject {
    Q_OBJECT
public:
    explicit ResponseCache(QObject *parent = nullptr);
    ~ResponseCache() override;

    // Opens the database on the worker thread (waits for it: startup only).
    bool open(const QString &path, QString *error);
    // Defers the worker thread and the database to start() or the first lookup or store: a
    // daemon whose profiles never cache keeps neither (~0.35 MB RSS measured). A database that
    // cannot open then is logged once and every lookup misses.
    void openOnFirstUse(const QString &path);
    // Starts the worker thread and the deferred open now, without waiting, so that the first
    // lookups do not find the database still opening. Idempotent; every call below starts it
    // too. All calls come from one thread.
    void start();

    // `done` runs on `context`'s thread, queued, unless `context` is gone. The caller applies
    // its own timeout: the worker may answer late.
    void lookup(const QByteArray &key, QObject *context,
                std::function<void(std::optional<CachedResponse>)> done);
    // Fire and forget.
    void store(const QByteArray &key, const QString &bucket, CachedResponse response,
               int ttlSeconds, qint64 maxBytes);
    // Test aid: `done` runs on `context` after all previously posted work finished.
    void whenIdle(QObject *context, std::function<void()> done);

private:
    QThread m_thread;
    std::unique_ptr<QObject> m_idleWorker;  // owns the worker until the thread starts
    QObject *m_worker = nullptr;            // lives on m_thread once started
    std::shared_ptr<ResponseCacheStore> m_store;
    QString m_deferredPath;
    bool m_started = false;
};

}  // namespace airlock
