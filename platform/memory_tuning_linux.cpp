#include "platform/memory_tuning.h"

#include <malloc.h>

namespace airlock::memory {

void keepLargeBuffers(qint64 bytes) {
    // glibc refuses an mmap threshold above 32 MB (64-bit); fixed values also switch off its
    // sliding threshold, which unmapped and re-faulted every large buffer here.
    constexpr qint64 kMaxThreshold = 32 * 1024 * 1024;
    const int capped = int(qBound(qint64(128 * 1024), bytes, kMaxThreshold));
    mallopt(M_MMAP_THRESHOLD, capped);
    mallopt(M_TRIM_THRESHOLD, capped);
}

void releaseFreeMemory() {
    malloc_trim(0);
}

}  // namespace airlock::memory
