// Starting a program when the person logs in: an XDG autostart entry on Linux, a LaunchAgent
// or Run key elsewhere. One interface; the per-OS file does the writing.
#pragma once

#include <QString>
#include <QStringList>

namespace airlock {

struct AutostartEntry {
    QString id;           // file/key name, e.g. "airlock"
    QString displayName;  // "Airlock"
    QString program;      // absolute path
    QStringList arguments;
    QString comment;
};

// Where the entry for id lives (a file path on Linux); for display.
QString autostartLocation(const QString &id);
bool isAutostartEnabled(const QString &id);
bool enableAutostart(const AutostartEntry &entry, QString *error);
bool disableAutostart(const QString &id, QString *error);

}  // namespace airlock
