#include "core/api/pause_routes.h"

#include "core/policy/policy_bundle.h"
#include "core/proxy/client_connection.h"
#include "core/proxy/interception_pause.h"

#include <QDateTime>
#include <QJsonDocument>

namespace airlock {

namespace {

constexpr qsizetype kMaxPauseBodyBytes = 4096;

void sendJson(ClientConnection *conn, int status, const QJsonObject &o) {
    HttpHeaders h;
    h.add("Content-Type", "application/json");
    h.add("Cache-Control", "no-store");
    conn->sendComplete(status, h, QJsonDocument(o).toJson(QJsonDocument::Compact));
}

void sendError(ClientConnection *conn, int status, const QString &message) {
    sendJson(
        conn, status,
        QJsonObject{{QStringLiteral("error"),
                     QJsonObject{{QStringLiteral("message"), message},
                                 {QStringLiteral("type"), QStringLiteral("airlock_api_error")}}}});
}

QJsonValue isoOrNull(qint64 ms) {
    if (ms <= 0) return QJsonValue();
    return QDateTime::fromMSecsSinceEpoch(ms).toUTC().toString(Qt::ISODateWithMs);
}

}  // namespace

QJsonObject pauseStatusJson(const ProxyContext *ctx) {
    const qint64 until = ctx->pause ? ctx->pause->pausedUntilMs() : 0;
    return QJsonObject{{QStringLiteral("paused"), until > 0},
                       {QStringLiteral("paused_until"), isoOrNull(until)}};
}

bool servePauseRoute(ProxyContext *ctx, ClientConnection *conn, const HttpRequestHead &head,
                     const QByteArray &body) {
    if (head.path() != "/airlock/v1/pause") return false;
    InterceptionPause *pause = ctx->pause;
    if (!pause) {
        sendError(conn, 503, QStringLiteral("pausing is not available in this daemon"));
        return true;
    }
    if (head.method == "GET") {
        const InterceptionPause::Allowance a = pause->allowance();
        if (a.maxMinutes <= 0) {
            sendError(conn, 403, a.reason);
            return true;
        }
        QJsonObject o = pauseStatusJson(ctx);
        o.insert(QStringLiteral("allowed"), true);
        o.insert(QStringLiteral("max_minutes"), a.maxMinutes);
        sendJson(conn, 200, o);
        return true;
    }
    if (head.method != "POST") {
        sendError(conn, 405, QStringLiteral("use GET or POST on /airlock/v1/pause"));
        return true;
    }
    const QString usage = QStringLiteral(
        "POST /airlock/v1/pause wants {\"minutes\": N}, N a "
        "whole number; 0 resumes interception");
    if (body.size() > kMaxPauseBodyBytes) {
        sendError(conn, 400, usage);
        return true;
    }
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(body, &parseError);
    const QJsonValue v = doc.object().value(QLatin1String("minutes"));
    const double minutes = v.toDouble(-1);
    if (parseError.error != QJsonParseError::NoError || !doc.isObject() || !v.isDouble() ||
        minutes < 0 || minutes > kMaxAllowPauseMinutes || minutes != double(qint64(minutes))) {
        sendError(conn, 400, usage + QStringLiteral(" (at most %1)").arg(kMaxAllowPauseMinutes));
        return true;
    }
    const InterceptionPause::Result r =
        pause->request(int(minutes), QStringLiteral("the local API"));
    if (!r.ok) {
        sendError(conn, r.httpStatus, r.error);
        return true;
    }
    QJsonObject o = pauseStatusJson(ctx);
    o.insert(QStringLiteral("minutes"), r.minutes);
    o.insert(QStringLiteral("capped"), r.capped);
    sendJson(conn, 200, o);
    return true;
}

}  // namespace airlock
