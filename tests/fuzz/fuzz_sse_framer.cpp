// libFuzzer target for SseFramer (and the per-event parsers behind it): input is fed in
// pseudo-random splits; no byte may be lost, duplicated or reordered, and framing must not
// depend on where the splits fall.
#include "core/http/sse_framer.h"
#include "core/providers/usage_accumulator.h"

#include <cstdint>
#include <cstdlib>

using namespace airlock;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

// Small deterministic generator so a crash reproduces from the input alone.
struct SplitMix {
    std::uint64_t state;
    std::uint64_t next() {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
};

QByteArray concatRaw(const QList<SseEvent> &events) {
    QByteArray all;
    for (const SseEvent &e : events) all += e.raw;
    return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    if (size < 2) return 0;
    // Byte 0 picks the event size limit (small ones exercise the overflow path), byte 1 seeds
    // the splits; the rest is the stream.
    const qint64 maxEventBytes = data[0] < 64 ? 16 + data[0] * 4 : 16 * 1024 * 1024;
    SplitMix rng{data[1] * 0x100000001B3ULL + size};
    const QByteArray input(reinterpret_cast<const char *>(data + 2), qsizetype(size - 2));

    SseFramer framer(maxEventBytes);
    QList<SseEvent> events;
    for (qsizetype pos = 0; pos < input.size();) {
        const qsizetype piece = qMin<qsizetype>(input.size() - pos, qsizetype(1 + rng.next() % 64));
        events += framer.feed(QByteArrayView(input).sliced(pos, piece));
        pos += piece;
        check(concatRaw(events) + framer.pending() == input.left(pos));
    }
    events += framer.finish();
    check(framer.pending().isEmpty());
    check(concatRaw(events) == input);

    if (!framer.overflowed()) {
        // Without overflow, the events do not depend on the splits.
        SseFramer whole(maxEventBytes);
        QList<SseEvent> reference = whole.feed(input);
        check(!whole.overflowed());
        reference += whole.finish();
        check(reference.size() == events.size());
        for (qsizetype i = 0; i < events.size(); ++i) {
            check(reference[i].raw == events[i].raw);
            check(reference[i].data == events[i].data);
            check(reference[i].event == events[i].event);
            check(reference[i].id == events[i].id);
            check(reference[i].commentOnly == events[i].commentOnly);
        }
    }

    // The consumers of events must survive anything the framer hands them.
    UsageAccumulator openAi(WireFormat::OpenAI, EndpointKind::ChatCompletions);
    UsageAccumulator anthropic(WireFormat::Anthropic, EndpointKind::Messages);
    UsageAccumulator gemini(WireFormat::Gemini, EndpointKind::StreamGenerateContent);
    for (const SseEvent &e : events) {
        openAi.addSseEvent(e);
        anthropic.addSseEvent(e);
        gemini.addSseEvent(e);
        check(stripNullUsage(e).size() <= e.raw.size());
    }
    check(openAi.usage().inputTokens >= 0 && anthropic.usage().inputTokens >= 0);
    return 0;
}
