#include "commands_pause.h"

#include "api_client.h"

#include "core/config/config.h"

#include <QDateTime>
#include <QJsonDocument>

#include <cstdio>

namespace airlock {

const char *const kPauseCommandsHelp =
    "  pause MINUTES [--json]      stop TLS interception of AI hosts for MINUTES (if the\n"
    "                              policy allows; capped to its limit); base-URL traffic\n"
    "                              is still proxied. Ends by itself, or on restart\n"
    "  resume [--json]             end a pause now";

namespace {

void out(const QString &text) {
    std::fputs(text.toUtf8().constData(), stdout);
}
void err(const QString &text) {
    std::fputs(("airlockctl: " + text + "\n").toUtf8().constData(), stderr);
}

QString localTime(const QString &iso) {
    const QDateTime t = QDateTime::fromString(iso, Qt::ISODateWithMs);
    return t.isValid() ? t.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss")) : iso;
}

}  // namespace

int runPauseCommand(const QStringList &argv) {
    QString dataDir;
    bool json = false;
    QStringList positional;
    for (qsizetype i = 0; i < argv.size(); ++i) {
        const QString &s = argv[i];
        if (s == QLatin1String("--data-dir") && i + 1 < argv.size())
            dataDir = argv[++i];
        else if (s.startsWith(QLatin1String("--data-dir=")))
            dataDir = s.mid(11);
        else if (s == QLatin1String("--json"))
            json = true;
        else
            positional.append(s);
    }
    const QString cmd = positional.value(0);
    if (cmd != QLatin1String("pause") && cmd != QLatin1String("resume")) return -1;
    int minutes = 0;
    if (cmd == QLatin1String("pause")) {
        bool ok = false;
        minutes = positional.value(1).toInt(&ok);
        if (!ok || minutes <= 0 || positional.size() != 2) {
            err(
                QStringLiteral("usage: airlockctl pause MINUTES (a whole number > 0); "
                               "`airlockctl resume` ends a pause"));
            return 2;
        }
    } else if (positional.size() != 1) {
        err(QStringLiteral("usage: airlockctl resume"));
        return 2;
    }
    if (dataDir.isEmpty()) dataDir = defaultDataDir();
    ApiClient api(dataDir);
    const ApiResult r = api.post(QStringLiteral("/airlock/v1/pause"),
                                 QJsonDocument(QJsonObject{{QStringLiteral("minutes"), minutes}})
                                     .toJson(QJsonDocument::Compact));
    if (!r.reachable || r.status != 200) {
        if (r.status == 404)
            err(QStringLiteral("this airlockd does not support pausing interception"));
        else
            err(r.error.isEmpty() ? QStringLiteral("airlockd is not running") : r.error);
        return 1;
    }
    if (json) {
        out(QString::fromUtf8(QJsonDocument(r.json).toJson(QJsonDocument::Indented)));
        return 0;
    }
    if (cmd == QLatin1String("resume")) {
        out(QStringLiteral("TLS interception is on.\n"));
        return 0;
    }
    const int granted = r.json.value(QStringLiteral("minutes")).toInt();
    out(QStringLiteral("TLS interception paused for %1 minute(s), until %2.\n")
            .arg(granted)
            .arg(localTime(r.json.value(QStringLiteral("paused_until")).toString())));
    if (r.json.value(QStringLiteral("capped")).toBool())
        out(QStringLiteral("(%1 minutes is the longest pause allowed here.)\n").arg(granted));
    out(
        QStringLiteral("Apps pointed at the base URL are still proxied; `airlockctl resume` "
                       "ends the pause.\n"));
    return 0;
}

}  // namespace airlock
