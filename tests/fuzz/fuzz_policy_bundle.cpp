// libFuzzer target: policy bundles and signed envelopes from untrusted bytes (the policy server,
// the cache file) must parse or fail with an error, never crash.
#include "core/policy/policy_bundle.h"
#include "core/policy/policy_signature.h"

#include <QByteArray>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const QByteArray bytes(reinterpret_cast<const char *>(data), qsizetype(size));
    airlock::PolicyBundle bundle;
    QString error;
    if (airlock::parsePolicyBundle(bytes, &bundle, &error)) {
        for (auto it = bundle.profiles.cbegin(); it != bundle.profiles.cend(); ++it)
            (void)bundle.profileFor(it.key(), QStringLiteral("curl"));
    }
    airlock::SignedEnvelope envelope;
    if (airlock::parseEnvelope(bytes, &envelope, &error))
        (void)airlock::verifyEnvelope(
            envelope,
            {QByteArray(
                "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n")},
            &error);
    return 0;
}
