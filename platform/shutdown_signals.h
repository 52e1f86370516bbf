// Turns SIGTERM/SIGINT (console close events elsewhere) into a call on the Qt event loop, so
// the daemon can flush its ledger and exit cleanly.
#pragma once

#include <QObject>
#include <functional>

namespace airlock {

// Installs the handler once; fn runs on the thread that owns `context`, on its event loop.
void onShutdownRequest(QObject *context, std::function<void()> fn);

}  // namespace airlock
