// The usage ledger's writer: a background thread that batches records into SQLite (WAL).
// append() never blocks on disk; rows are committed within flushIntervalMs.
#pragma once

#include "core/store/usage_record.h"

#include <QObject>
#include <QString>
#include <memory>

namespace airlock {

struct LedgerOptions {
    int flushIntervalMs = 100;      // a completed request is on disk within this (plus commit time)
    int maxBatchRows = 512;         // commit early when this many are waiting
    qint64 maxQueuedRows = 200000;  // beyond this, append() drops the oldest and counts it
    int busyTimeoutMs = 5000;       // how long one commit waits for another writer's lock
};

class LedgerWriter {
public:
    LedgerWriter(QString dbPath, LedgerOptions options = {});
    ~LedgerWriter();  // flushes what is queued, then stops the thread

    // Opens/creates the database and its schema; starts the thread. False with *error on failure.
    bool start(QString *error);
    // Thread-safe, non-blocking.
    void append(UsageRecord record);
    // Blocks until every record appended before this call is committed (tests, shutdown).
    // Returns early if a commit attempt started after the call fails; the rows stay queued
    // and are retried with backoff (see commitErrors() and lastError()).
    void flush();
    qint64 droppedRows() const;   // dropped by the maxQueuedRows bound or given up at shutdown
    qint64 writtenRows() const;   // rows inserted (a duplicate id is ignored, not counted)
    qint64 commitErrors() const;  // failed commit attempts (disk full, SQLITE_BUSY, ...)
    QString lastError() const;    // message of the last failure, empty if none

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

}  // namespace airlock
