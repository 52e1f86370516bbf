// The "policy" and "usage_upload" config keys: where bundles come from, which keys are trusted,
// which profile (device group) applies and what to do while no bundle is in force.
#pragma once

#include "core/policy/policy_bundle.h"

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QUrl>

namespace airlock {

struct PolicyConfig {
    bool configured = false;        // a "policy" key exists: governance is on
    QUrl url;                       // bundle URL (https, or http on loopback for tests)
    QList<QByteArray> trustedKeys;  // PEM public keys
    int pollSeconds = 300;
    QString tokenEnv;  // env var with the device token (when the keychain is unusable)
    QString group = QStringLiteral("default");  // profile name for this device
    FailMode failMode = FailMode::Closed;       // while no bundle was ever in force
    QUrl usageUrl;                              // usage_upload.url
    int usageBatch = 100;
};

// Reads "policy" from a config object. `trustKeys`: whether this file may name trust anchors
// (the managed config, or a file given explicitly with --config). Relative key paths are
// resolved against `baseDir`.
bool applyPolicyConfigJson(const QJsonObject &config, bool trustKeys, const QString &baseDir,
                           PolicyConfig *out, QString *error);
// The user config (explicitPath, else the default user config) then the managed config on top.
bool loadPolicyConfig(const QString &explicitPath, PolicyConfig *out, QString *error);

// Whether the bundle server's device token is read from the keychain entry `device-token`:
// a bundle URL is set and the variable named by token_env is unset or empty (the env var wins).
bool deviceTokenFromKeychain(const PolicyConfig &config);

}  // namespace airlock
