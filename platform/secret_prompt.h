// Reads one line from standard input without echoing it when stdin is a terminal
// (for `airlockctl keys set`), so a key typed by hand never shows on screen.
#pragma once

#include <QByteArray>
#include <QString>

namespace airlock {

QByteArray readSecretLine(const QString &prompt);

}  // namespace airlock
