#include "app/airlock/screenshot_tour.h"

#include "app/airlock/client_session.h"
#include "app/airlock/dashboard_window.h"
#include "app/airlock/request_model.h"
#include "app/airlock/requests_page.h"
#include "app/airlock/tray_controller.h"

#include <QDeadlineTimer>
#include <QDir>
#include <QEventLoop>
#include <QIcon>
#include <QMenu>
#include <QPainter>
#include <QTableView>
#include <QTimer>

namespace airlock {

namespace {
constexpr int kDaemonWaitMs = 20'000;
constexpr int kPageSettleMs = 1500;

void waitMs(int ms) {
    QEventLoop loop;
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    loop.exec();
}

bool save(const QPixmap &pixmap, const QString &path, QString *error) {
    // Quality 0 is the strongest zlib compression: flat UI pixels compress well.
    if (pixmap.toImage().convertToFormat(QImage::Format_RGB32).save(path, "PNG", 0)) return true;
    *error = QStringLiteral("cannot write %1").arg(path);
    return false;
}
}  // namespace

int runScreenshotTour(ClientSession *session, TrayController *tray, const QString &dir,
                      QString *error) {
    QDir().mkpath(dir);
    const QDeadlineTimer deadline(kDaemonWaitMs);
    while (!session->daemonUp() && !deadline.hasExpired()) waitMs(100);
    if (!session->daemonUp()) {
        *error = QStringLiteral("airlockd did not answer within %1 ms").arg(kDaemonWaitMs);
        return 0;
    }
    waitMs(kPageSettleMs);
    DashboardWindow *w = tray->dashboard();
    w->resize(1400, 860);
    w->show();
    int written = 0;
    static const char *const kFiles[] = {"overview", "apps",      "requests",
                                         "policy",   "providers", "settings"};
    for (int p = 0; p < DashboardWindow::PageCount; ++p) {
        w->showPage(DashboardWindow::Page(p));
        if (p == DashboardWindow::Requests) {
            // Show a refused request's details when there is one: its reason is the interesting
            // part.
            RequestFilterProxy *proxy = w->requests()->proxy();
            int pick = proxy->rowCount() > 0 ? 0 : -1;
            for (int r = 0; r < proxy->rowCount(); ++r) {
                const QModelIndex src = proxy->mapToSource(proxy->index(r, 0));
                if (session->requests()->row(src.row()).isRefusal()) {
                    pick = r;
                    break;
                }
            }
            if (pick >= 0) w->requests()->selectRow(pick);
        }
        waitMs(kPageSettleMs);
        if (!save(w->grab(), QStringLiteral("%1/%2.png").arg(dir, QLatin1String(kFiles[p])), error))
            return written;
        ++written;
    }
    // The tray menu, opened as the person would see it, with the icon states beside it.
    QMenu *menu = tray->menu();
    menu->popup(QPoint(40, 40));
    waitMs(400);
    const QPixmap menuPixmap = menu->grab();
    menu->hide();
    const int iconSize = 48;
    const QList<QPair<ClientSession::TrayState, QString>> states = {
        {ClientSession::TrayState::Active, QObject::tr("active")},
        {ClientSession::TrayState::Paused, QObject::tr("paused / monitor")},
        {ClientSession::TrayState::BlockedRecently, QObject::tr("blocked recently")},
        {ClientSession::TrayState::DaemonDown, QObject::tr("proxy down")},
        {ClientSession::TrayState::PolicyStale, QObject::tr("policy stale")}};
    const int labelWidth = 150;
    const int stripWidth = iconSize + labelWidth + 24;
    QPixmap out(menuPixmap.width() + stripWidth + 24,
                std::max(menuPixmap.height(), int(states.size()) * (iconSize + 10)) + 24);
    out.fill(w->palette().color(QPalette::Window));
    {
        QPainter painter(&out);
        painter.drawPixmap(12, 12, menuPixmap);
        painter.setPen(w->palette().color(QPalette::WindowText));
        int y = 12;
        const int x = menuPixmap.width() + 36;
        for (const auto &[state, label] : states) {
            QIcon(QStringLiteral(":/icons/%1.svg").arg(TrayController::iconNameFor(state)))
                .paint(&painter, x, y, iconSize, iconSize);
            painter.drawText(QRect(x + iconSize + 10, y, labelWidth, iconSize), Qt::AlignVCenter,
                             label);
            y += iconSize + 10;
        }
    }
    if (save(out, dir + QStringLiteral("/tray-menu.png"), error)) ++written;
    return written;
}

}  // namespace airlock
