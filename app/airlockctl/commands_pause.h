// airlockctl pause MINUTES / resume: pause TLS interception for a while (if the policy allows)
// or end the pause, through the daemon's local API.
#pragma once

#include <QStringList>

namespace airlock {

// Runs `pause …` or `resume` when args (argv without argv[0]) name one; -1 otherwise.
int runPauseCommand(const QStringList &args);
extern const char *const kPauseCommandsHelp;

}  // namespace airlock
