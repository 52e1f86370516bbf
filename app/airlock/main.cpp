// airlock: the tray app and dashboard. Talks to airlockd only through its local API, starts
// it when none is running and keeps it running; quitting the GUI leaves the proxy up.
#include "app/airlock/client_session.h"
#include "app/airlock/dashboard_window.h"
#include "app/airlock/screenshot_tour.h"
#include "app/airlock/tray_controller.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QStandardPaths>
#include <QSystemTrayIcon>

#include <cstdio>

int main(int argc, char **argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("airlock"));
    QApplication::setApplicationDisplayName(QStringLiteral("Airlock"));
    QApplication::setApplicationVersion(QStringLiteral(AIRLOCK_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("airlock"));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/airlock.svg")));
    // The tray keeps the app alive with the dashboard closed.
    QApplication::setQuitOnLastWindowClosed(false);

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Airlock tray app and dashboard."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption dataOpt(QStringLiteral("data-dir"),
                                     QStringLiteral("airlockd's data directory."),
                                     QStringLiteral("DIR"));
    const QCommandLineOption daemonOpt(
        QStringLiteral("airlockd"),
        QStringLiteral("airlockd binary to start (default: next to airlock, then PATH)."),
        QStringLiteral("PATH"));
    const QCommandLineOption daemonArgOpt(
        QStringLiteral("daemon-arg"),
        QStringLiteral("Extra flag for an airlockd this app starts; repeatable."),
        QStringLiteral("ARG"));
    const QCommandLineOption noSuperviseOpt(QStringLiteral("no-supervise"),
                                            QStringLiteral("Never start or restart airlockd."));
    const QCommandLineOption minimizedOpt(QStringLiteral("minimized"),
                                          QStringLiteral("Start in the tray only."));
    const QCommandLineOption shotsOpt(
        QStringLiteral("screenshot-dir"),
        QStringLiteral("Save a PNG of each page and the tray menu to DIR, then exit."),
        QStringLiteral("DIR"));
    parser.addOptions({dataOpt, daemonOpt, daemonArgOpt, noSuperviseOpt, minimizedOpt, shotsOpt});
    parser.process(app);

    airlock::SessionOptions options;
    options.dataDir = parser.isSet(dataOpt)
                          ? parser.value(dataOpt)
                          : QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) +
                                QStringLiteral("/airlock");
    options.airlockdPath = parser.value(daemonOpt);
    options.daemonArgs = parser.values(daemonArgOpt);
    options.supervise = !parser.isSet(noSuperviseOpt);

    airlock::ClientSession session(options);
    airlock::TrayController tray(&session);
    session.start();

    if (parser.isSet(shotsOpt)) {
        QString error;
        const int written =
            airlock::runScreenshotTour(&session, &tray, parser.value(shotsOpt), &error);
        std::fprintf(stderr, "airlock: wrote %d screenshots to %s%s%s\n", written,
                     qPrintable(parser.value(shotsOpt)), error.isEmpty() ? "" : ": ",
                     qPrintable(error));
        return error.isEmpty() ? 0 : 1;
    }
    // Without a system tray (some desktops) the dashboard is the only way in, so show it.
    if (!parser.isSet(minimizedOpt) || !QSystemTrayIcon::isSystemTrayAvailable())
        tray.showDashboard();
    return app.exec();
}
