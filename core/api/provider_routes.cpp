#include "core/api/provider_routes.h"

#include "core/routing/router.h"

#include <QDateTime>
#include <QJsonArray>

namespace airlock {

QJsonObject providersJson(const ProxyContext &context) {
    QJsonArray targets;
    if (context.router) {
        for (const QJsonValue &v :
             context.router->targetsJson(QDateTime::currentMSecsSinceEpoch())) {
            QJsonObject o = v.toObject();
            if (const ProviderConfig *p =
                    context.config.providerByName(o.value(QLatin1String("provider")).toString()))
                o.insert(QStringLiteral("base_url"), p->baseUrl.toString());
            targets.append(o);
        }
    }
    return QJsonObject{{QStringLiteral("targets"), targets}};
}

}  // namespace airlock
