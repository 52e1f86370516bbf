#include "platform/autostart.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>
#include <QStandardPaths>

namespace airlock {

namespace {
// Desktop Entry Exec quoting: arguments with reserved characters go in double quotes with
// backslash escapes (freedesktop.org Desktop Entry Specification, "The Exec key").
QString quoteExecArg(const QString &arg) {
    static const QString reserved = QStringLiteral(" \t\n\"'\\><~|&;$*?#()`");
    bool needs = arg.isEmpty();
    for (QChar c : arg) needs = needs || reserved.contains(c);
    QString out = arg;
    out.replace(QLatin1Char('%'), QStringLiteral("%%"));
    if (!needs) return out;
    QString q;
    for (QChar c : out) {
        if (c == QLatin1Char('"') || c == QLatin1Char('`') || c == QLatin1Char('$') ||
            c == QLatin1Char('\\'))
            q += QLatin1Char('\\');
        q += c;
    }
    return QLatin1Char('"') + q + QLatin1Char('"');
}

QString oneLine(QString s) {
    return s.replace(QLatin1Char('\n'), QLatin1Char(' '))
        .replace(QLatin1Char('\r'), QLatin1Char(' '));
}
}  // namespace

QString autostartLocation(const QString &id) {
    return QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation) +
           QStringLiteral("/autostart/") + id + QStringLiteral(".desktop");
}

bool isAutostartEnabled(const QString &id) {
    QFile file(autostartLocation(id));
    if (!file.open(QIODevice::ReadOnly)) return false;
    // A user may have switched it off from their desktop's settings, which writes Hidden=true.
    const QByteArray text = file.read(64 * 1024);
    return !text.contains("\nHidden=true") && !text.contains("\nX-GNOME-Autostart-enabled=false");
}

bool enableAutostart(const AutostartEntry &entry, QString *error) {
    const QString path = autostartLocation(entry.id);
    if (!QDir().mkpath(QFileInfo(path).absolutePath())) {
        *error = QStringLiteral("cannot create %1").arg(QFileInfo(path).absolutePath());
        return false;
    }
    QStringList exec{quoteExecArg(entry.program)};
    for (const QString &a : entry.arguments) exec.append(quoteExecArg(a));
    const QString text = QStringLiteral(
                             "[Desktop Entry]\nType=Application\nName=%1\nComment=%2\nExec=%3\n"
                             "Icon=airlock\nTerminal=false\nX-GNOME-Autostart-enabled=true\n")
                             .arg(oneLine(entry.displayName), oneLine(entry.comment),
                                  oneLine(exec.join(QLatin1Char(' '))));
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(text.toUtf8()) < 0 || !file.commit()) {
        *error = QStringLiteral("cannot write %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

bool disableAutostart(const QString &id, QString *error) {
    const QString path = autostartLocation(id);
    if (QFile::exists(path) && !QFile::remove(path)) {
        *error = QStringLiteral("cannot remove %1").arg(path);
        return false;
    }
    return true;
}

}  // namespace airlock
