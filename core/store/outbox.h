// A durable queue of usage records waiting for upload to the central usage endpoint (SQLite,
// outbox.db in the data dir). Records keep their ids, so redelivery is idempotent downstream.
#pragma once

#include <QByteArray>
#include <QList>
#include <QPair>
#include <QString>
#include <memory>
#include <mutex>

struct sqlite3;

namespace airlock {

class Outbox {
public:
    static constexpr qint64 kMaxQueuedRecords =
        1'000'000;  // ~ months of heavy use; oldest dropped beyond

    explicit Outbox(QString dbPath);
    ~Outbox();
    bool open(QString *error);
    // Adds a record; the same id twice is stored once.
    bool enqueue(const QByteArray &id, const QByteArray &json);
    // The oldest `limit` records, in insertion order.
    QList<QPair<QByteArray, QByteArray>> peek(int limit);
    bool remove(const QList<QByteArray> &ids);
    qint64 count();

private:
    QString m_path;
    std::mutex m_mutex;
    sqlite3 *m_db = nullptr;
};

}  // namespace airlock
