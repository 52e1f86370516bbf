// libFuzzer target for the allocation-free JSON scanner: the strict validator must never accept
// what QJsonDocument refuses (and may refuse what it accepts only for the laxities it documents),
// and lookups through ObjectView/ValueView must read the values QJsonDocument reads.
#include "core/providers/endpoint.h"
#include "core/providers/json_scan.h"
#include "core/providers/request_inspector.h"
#include "core/providers/usage_accumulator.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cstdint>
#include <cstdlib>

using namespace airlock;
namespace js = airlock::json_scan;

namespace {

constexpr int kMaxCompareDepth = 4;      // nesting the value comparison descends
constexpr int kMaxComparedMembers = 16;  // members/elements compared per container

void check(bool ok) {
    if (!ok) std::abort();
}

// A key QString::toUtf8() cannot represent one-to-one (unpaired surrogates become '?').
bool lossyKey(const QString &key) {
    return QString::fromUtf8(key.toUtf8()) != key;
}

void compareValue(const QJsonValue &expected, const js::ValueView &actual, int depth);

void compareObject(const QJsonObject &expected, const js::ObjectView &actual, int depth) {
    check(actual.isValid());
    check(actual.isEmpty() == expected.isEmpty());
    int compared = 0;
    for (auto it = expected.begin(); it != expected.end() && compared < kMaxComparedMembers;
         ++it, ++compared) {
        if (lossyKey(it.key())) continue;
        const QByteArray key = it.key().toUtf8();
        bool ambiguous = false;  // a lossy key that prints the same as this one
        for (auto other = expected.begin(); other != expected.end(); ++other) {
            if (other != it && lossyKey(other.key()) && other.key().toUtf8() == key)
                ambiguous = true;
        }
        // Qt's own lookup misses keys whose UTF-8 starts with a BOM (key() drops it): skip
        // what QJsonObject::value() itself cannot find.
        const QJsonValue value = expected.value(it.key());
        if (ambiguous || value.isUndefined()) continue;
        compareValue(value, actual.value(key), depth + 1);
    }
    check(actual.contains("\x01no such key") ==
          expected.contains(QLatin1String("\x01no such key")));
}

void compareValue(const QJsonValue &expected, const js::ValueView &actual, int depth) {
    check(actual.isPresent());
    switch (expected.type()) {
        case QJsonValue::String:
            check(actual.isString());
            check(actual.toString() == expected.toString().toUtf8());
            check(actual.stringEquals(expected.toString().toUtf8()));
            break;
        case QJsonValue::Double: {
            check(actual.isNumber());
            check(actual.toDouble(-1) == expected.toDouble());
            qint64 integer = 0;
            const qint64 sentinel = -77;
            check((js::readInteger(actual.token(), &integer) ? integer : sentinel) ==
                  expected.toInteger(sentinel));
            break;
        }
        case QJsonValue::Bool:
            check(actual.isTrue() == expected.toBool());
            check(actual.token() == (expected.toBool() ? "true" : "false"));
            break;
        case QJsonValue::Null:
            check(actual.isNull());
            break;
        case QJsonValue::Object:
            check(actual.isObject());
            if (depth < kMaxCompareDepth)
                compareObject(expected.toObject(), actual.toObject(), depth);
            break;
        case QJsonValue::Array: {
            check(actual.isArray());
            if (depth >= kMaxCompareDepth) break;
            const QJsonArray array = expected.toArray();
            js::ArrayIterator it = actual.elements();
            qsizetype index = 0;
            for (js::ValueView element = it.next(); element.isPresent(); element = it.next()) {
                check(index < array.size());
                if (index < kMaxComparedMembers) compareValue(array.at(index), element, depth + 1);
                ++index;
            }
            check(index == array.size());
            break;
        }
        case QJsonValue::Undefined:
            check(false);
            break;
    }
}

// Where QJsonDocument is laxer than RFC 8259, the validator's refusal must point at exactly
// that: a raw control character, an unknown escape, or a number like "1.", ".5" or "-.5".
bool isDocumentedLaxity(const QByteArray &text, const js::Validation &v) {
    const auto at = [&text](qsizetype i) -> uchar {
        return i >= 0 && i < text.size() ? uchar(text[i]) : 0;
    };
    switch (v.error) {
        case js::JsonError::ControlCharInString:
            return at(v.offset) < 0x20;
        case js::JsonError::InvalidEscape:
            return at(v.offset) == '\\';
        case js::JsonError::IllegalValue:
            return at(v.offset) == '.';
        case js::JsonError::IllegalNumber:
            return at(v.offset) == '.' || at(v.offset - 1) == '.';
        default:
            return false;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const QByteArray text(reinterpret_cast<const char *>(data), qsizetype(size));
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(text, &error);
    const bool qtAccepts = error.error == QJsonParseError::NoError;

    js::ObjectView top(text);
    const js::Validation v = js::validate(text, [&top](const js::MemberSpan &m) { top.append(m); });
    check(v.ok() || (v.offset >= 0 && v.offset <= text.size()));
    if (v.ok()) check(qtAccepts);
    if (qtAccepts && !v.ok()) check(isDocumentedLaxity(text, v));

    // Lookups agree with QJsonDocument on whatever it accepted: through the validator's index
    // and through a fresh scan (the path the usage reader takes for lax text).
    if (qtAccepts && doc.isObject()) {
        const qsizetype open = js::skipWhitespace(text, 0);
        compareObject(doc.object(), js::ObjectView(text, open), 0);
        if (v.ok()) compareObject(doc.object(), top, 0);
    }
    if (qtAccepts && doc.isArray()) {
        const qsizetype open = js::skipWhitespace(text, 0);
        compareValue(doc.array(), js::ValueView(text, open, js::valueEnd(text, open)), 0);
    }

    // The hot-path users: no crash, and what they read matches the parser's view.
    const RequestInfo info = inspectRequest(classifyEndpoint("POST", "/v1/chat/completions"), text);
    if (info.validJson) {
        check(qtAccepts && doc.isObject());
        const QJsonValue model = doc.object().value(QLatin1String("model"));
        if (model.isString() && !lossyKey(model.toString()))
            check(info.model == model.toString().toUtf8());
        check(info.stream == doc.object().value(QLatin1String("stream")).toBool(false));
    }
    UsageAccumulator body(WireFormat::Unknown, EndpointKind::ChatCompletions);
    body.addJsonBody(text);
    UsageAccumulator stream(WireFormat::OpenAI, EndpointKind::ChatCompletions);
    SseEvent event;
    event.data = text;
    event.raw = "data: " + text + "\n\n";
    stream.addSseEvent(event);
    return 0;
}
