#include "core/api/policy_routes.h"

#include "core/policy/policy_enforcer.h"
#include "core/proxy/client_connection.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QPointer>

namespace airlock {

namespace {

void sendJson(ClientConnection *conn, int status, const QJsonObject &o) {
    HttpHeaders h;
    h.add("Content-Type", "application/json");
    h.add("Cache-Control", "no-store");
    conn->sendComplete(status, h, QJsonDocument(o).toJson(QJsonDocument::Compact));
}

}  // namespace

bool servePolicyRoute(ProxyContext *ctx, ClientConnection *conn, const HttpRequestHead &head,
                      QObject *guard) {
    const QByteArray path = head.path();
    if (path != "/airlock/v1/policy" && path != "/airlock/v1/policy/sync" &&
        path != "/airlock/v1/budgets")
        return false;
    auto *enforcer = dynamic_cast<PolicyEnforcer *>(ctx->policy);
    if (path == "/airlock/v1/policy" && head.method == "GET") {
        sendJson(conn, 200,
                 enforcer ? enforcer->statusJson()
                          : QJsonObject{{QStringLiteral("state"), QStringLiteral("none")},
                                        {QStringLiteral("version"), 0},
                                        {QStringLiteral("bundle"), QJsonValue()}});
    } else if (path == "/airlock/v1/budgets" && head.method == "GET") {
        sendJson(conn, 200,
                 enforcer ? enforcer->budgetsJson()
                          : QJsonObject{{QStringLiteral("budgets"), QJsonArray()}});
    } else if (path == "/airlock/v1/policy/sync" && head.method == "POST") {
        if (!enforcer) {
            sendJson(
                conn, 200,
                QJsonObject{{QStringLiteral("ok"), false},
                            {QStringLiteral("version"), 0},
                            {QStringLiteral("error"), QStringLiteral("no policy is configured")}});
            return true;
        }
        QPointer<QObject> alive(guard);
        QPointer<ClientConnection> c(conn);
        enforcer->syncNow([alive, c](bool ok, qint64 version, const QString &error) {
            if (!alive || !c) return;
            sendJson(c, 200,
                     QJsonObject{{QStringLiteral("ok"), ok},
                                 {QStringLiteral("version"), version},
                                 {QStringLiteral("error"), ok ? QJsonValue() : QJsonValue(error)}});
        });
    } else {
        sendJson(conn, 405,
                 QJsonObject{
                     {QStringLiteral("error"),
                      QJsonObject{{QStringLiteral("message"), QStringLiteral("method not allowed")},
                                  {QStringLiteral("type"), QStringLiteral("airlock_api_error")}}}});
    }
    return true;
}

}  // namespace airlock
