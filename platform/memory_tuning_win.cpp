#include "platform/memory_tuning.h"

namespace airlock::memory {

// The system allocator keeps and returns memory by its own rules here.
void keepLargeBuffers(qint64) {}
void releaseFreeMemory() {}

}  // namespace airlock::memory
