// airlockctl policy and budgets verbs: the admin side (example, keygen, sign, verify, lint) works
// offline; show, sync and budgets ask the daemon through the local API.
#pragma once

#include <QStringList>

namespace airlock {

// Runs `policy …` or `budgets` when args (argv without argv[0]) name one; -1 otherwise.
int runPolicyCommand(const QStringList &args);
extern const char *const kPolicyCommandsHelp;

}  // namespace airlock
