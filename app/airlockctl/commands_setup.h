// airlockctl's interception verbs: `ca export|install|uninstall|rotate`, `setup <app> [--undo]`
// and `doctor`. They parse their own arguments so main.cpp needs a single dispatch line.
#pragma once

#include <QStringList>

namespace airlock {

// Runs the command in `arguments` (QCoreApplication::arguments()) when it is one of these verbs:
// sets *exitCode and returns true; returns false for any other command.
bool runInterceptionCommand(const QStringList &arguments, int *exitCode);

// The help lines main.cpp shows for these verbs.
extern const char *const kInterceptionHelp;

}  // namespace airlock
