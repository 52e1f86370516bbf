// Allocator settings for a process that handles request bodies of several megabytes: freed
// buffers are kept for the next large body instead of being unmapped and faulted in again.
#pragma once

#include <QtGlobal>

namespace airlock::memory {

// Buffers up to `bytes` come from the heap and up to `bytes` of free heap is kept (glibc: a
// 1 MB body otherwise costs ~1,200 page faults, about 1 ms). Call once, before the event loop.
void keepLargeBuffers(qint64 bytes);

// Returns free heap memory to the OS; for after a burst of large bodies, off the hot path.
void releaseFreeMemory();

}  // namespace airlock::memory
