// --screenshot-dir: opens each dashboard page in turn with live data and saves it as PNG,
// plus the tray menu and the tray icon states, for the README.
#pragma once

#include <QString>

namespace airlock {

class ClientSession;
class TrayController;

// Runs the tour with a local event loop; returns the number of files written.
int runScreenshotTour(ClientSession *session, TrayController *tray, const QString &dir,
                      QString *error);

}  // namespace airlock
