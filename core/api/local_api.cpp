#include "core/api/local_api.h"

#include "core/api/provider_routes.h"
#include "core/api/policy_routes.h"
#include "core/api/pause_routes.h"
#include "core/http/upstream_pool.h"
#include "core/proxy/provider_keys.h"
#include "core/store/ledger_reader.h"
#include "core/store/ledger_writer.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QPointer>
#include <QThreadPool>
#include <QTimeZone>
#include <QTimer>
#include <QUrlQuery>

namespace airlock {

namespace {

constexpr int kEventsKeepAliveMs = 15'000;
constexpr int kMaxRequestsPage = 100'000;

bool tokenMatches(const QByteArray &given, const QByteArray &expected)
{
    // Constant-time compare: the token guards the local admin API.
    if (given.size() != expected.size() || expected.isEmpty()) return false;
    unsigned char diff = 0;
    for (qsizetype i = 0; i < given.size(); ++i) diff |= uchar(given[i]) ^ uchar(expected[i]);
    return diff == 0;
}

qint64 parseTime(const QString &text)
{
    if (text.isEmpty()) return 0;
    bool ok = false;
    const qint64 ms = text.toLongLong(&ok);
    if (ok) return ms;
    const QDateTime dt = QDateTime::fromString(text, Qt::ISODateWithMs);
    return dt.isValid() ? dt.toMSecsSinceEpoch() : -1;
}

}  // namespace

LocalApiHandler::LocalApiHandler(ProxyContext *context, ClientConnection *connection)
    : ExchangeHandler(connection), m_ctx(context), m_conn(connection)
{
}

bool LocalApiHandler::handles(const QByteArray &path)
{
    return path == "/healthz" || path == "/metrics" || path.startsWith("/airlock/");
}

void LocalApiHandler::sendJson(int status, const QJsonObject &object)
{
    HttpHeaders h;
    h.add("Content-Type", "application/json");
    h.add("Cache-Control", "no-store");
    m_conn->sendComplete(status, h, QJsonDocument(object).toJson(QJsonDocument::Compact));
}

void LocalApiHandler::sendError(int status, const QString &message)
{
    sendJson(status, QJsonObject{{QStringLiteral("error"),
                                  QJsonObject{{QStringLiteral("message"), message},
                                              {QStringLiteral("type"), QStringLiteral("airlock_api_error")}}}});
}

void LocalApiHandler::start(const HttpRequestHead &head, QByteArray body)
{
    Q_UNUSED(body);
    const QByteArray path = head.path();
    if (path == "/healthz") {
        sendJson(200, QJsonObject{{QStringLiteral("status"), QStringLiteral("ok")},
                                  {QStringLiteral("version"), QStringLiteral(AIRLOCK_VERSION)}});
        return;
    }
    if (path == "/metrics") {
        HttpHeaders h;
        h.add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        m_conn->sendComplete(200, h, m_ctx->metrics.render(m_ctx->pool->idleCount(), m_ctx->pool->activeCount()));
        return;
    }
    QByteArray auth = head.headers.value("authorization");
    if (auth.startsWith("Bearer ")) auth = auth.mid(7).trimmed();
    if (!tokenMatches(auth, m_ctx->apiToken)) {
        sendError(401, QStringLiteral("the local API needs the token from %1/api-token as "
                                      "'Authorization: Bearer <token>'")
                           .arg(m_ctx->dataDir));
        return;
    }
    if (servePolicyRoute(m_ctx, m_conn, head, this)) return;
    if (servePauseRoute(m_ctx, m_conn, head, body)) return;
    const QUrlQuery query(QString::fromUtf8(head.query()));
    if (path == "/airlock/v1/status" && head.method == "GET") {
        serveStatus();
    } else if (path == "/airlock/v1/usage" && head.method == "GET") {
        UsageQuery q;
        q.fromMs = parseTime(query.queryItemValue(QStringLiteral("from")));
        q.toMs = parseTime(query.queryItemValue(QStringLiteral("to")));
        if (q.fromMs < 0 || q.toMs < 0) {
            sendError(400, QStringLiteral("from/to must be ms since the epoch or ISO 8601"));
            return;
        }
        const QString groupBy = query.queryItemValue(QStringLiteral("group_by"));
        if (!groupBy.isEmpty()) q.groupBy = groupBy.split(QLatin1Char(','), Qt::SkipEmptyParts);
        q.app = query.queryItemValue(QStringLiteral("app"));
        runQuery([q](LedgerReader &reader, QString *error) {
            const QList<UsageRow> rows = reader.usage(q, error);
            return QJsonObject{{QStringLiteral("rows"), usageRowsToJson(q.groupBy, rows)},
                               {QStringLiteral("group_by"), QJsonArray::fromStringList(q.groupBy)}};
        });
    } else if (path == "/airlock/v1/requests" && head.method == "GET") {
        RequestsQuery q;
        bool ok = true;
        if (query.hasQueryItem(QStringLiteral("limit")))
            q.limit = query.queryItemValue(QStringLiteral("limit")).toInt(&ok);
        if (ok && query.hasQueryItem(QStringLiteral("offset")))
            q.offset = query.queryItemValue(QStringLiteral("offset")).toInt(&ok);
        q.fromMs = parseTime(query.queryItemValue(QStringLiteral("from")));
        q.toMs = parseTime(query.queryItemValue(QStringLiteral("to")));
        if (!ok || q.limit < 1 || q.limit > kMaxRequestsPage || q.offset < 0 || q.fromMs < 0 || q.toMs < 0) {
            sendError(400, QStringLiteral("limit must be 1..%1, offset >= 0, from/to valid times").arg(kMaxRequestsPage));
            return;
        }
        q.app = query.queryItemValue(QStringLiteral("app"));
        q.outcome = query.queryItemValue(QStringLiteral("outcome"));
        runQuery([q](LedgerReader &reader, QString *error) {
            QJsonArray list;
            for (const UsageRecord &r : reader.requests(q, error)) list.append(usageRecordToJson(r));
            return QJsonObject{{QStringLiteral("requests"), list}};
        });
    } else if (path == "/airlock/v1/providers" && head.method == "GET") {
        sendJson(200, providersJson(*m_ctx));
    } else if (path == "/airlock/v1/events" && head.method == "GET") {
        serveEvents();
    } else if (path == "/airlock/v1/keys/reload" && head.method == "POST") {
        m_ctx->keys->reload(m_ctx->config.providers);
        sendJson(200, QJsonObject{{QStringLiteral("reloading"), true}});
    } else {
        sendError(404, QStringLiteral("no such local API endpoint: %1 %2")
                           .arg(QString::fromUtf8(head.method), QString::fromUtf8(path.left(200))));
    }
}

template <typename Query>
void LocalApiHandler::runQuery(Query query)
{
    // SQLite reads happen on the thread pool; the proxy's loop only gets the finished JSON.
    QPointer<LocalApiHandler> self(this);
    const QString dbPath = m_ctx->ledgerPath();
    LedgerWriter *ledger = m_ctx->ledger;
    QThreadPool::globalInstance()->start([self, dbPath, query, ledger] {
        // Read-your-writes: rows of requests finished before this query are committed first.
        if (ledger) ledger->flush();
        LedgerReader reader(dbPath);
        QString error;
        QJsonObject result;
        if (reader.open(&error)) result = query(reader, &error);
        QMetaObject::invokeMethod(QCoreApplication::instance(), [self, result, error] {
            if (!self || self->m_gone) return;
            if (!error.isEmpty()) self->sendError(400, error);
            else self->sendJson(200, result);
        });
    });
}

void LocalApiHandler::serveStatus()
{
    QJsonArray providers;
    for (const ProviderConfig &p : m_ctx->config.providers) {
        QJsonObject o{{QStringLiteral("name"), p.name},
                      {QStringLiteral("format"), QString::fromUtf8(wireFormatName(p.format))},
                      {QStringLiteral("base_url"), p.baseUrl.toString()},
                      {QStringLiteral("auth"), p.auth == AuthMode::Inject ? QStringLiteral("inject")
                                                                           : QStringLiteral("passthrough")}};
        if (p.auth == AuthMode::Inject) {
            o.insert(QStringLiteral("key_present"), m_ctx->keys->hasKey(p.name));
            o.insert(QStringLiteral("key_source"), m_ctx->keys->sourceOf(p.name));
        }
        providers.append(o);
    }
    const Config &c = m_ctx->config;
    const QString listen = (c.listenAddress.protocol() == QAbstractSocket::IPv6Protocol
                                ? QLatin1Char('[') + c.listenAddress.toString() + QLatin1Char(']')
                                : c.listenAddress.toString()) +
                           QLatin1Char(':') + QString::number(c.listenPort);
    sendJson(200, QJsonObject{
                      {QStringLiteral("version"), QStringLiteral(AIRLOCK_VERSION)},
                      {QStringLiteral("pid"), qint64(QCoreApplication::applicationPid())},
                      {QStringLiteral("listen"), listen},
                      {QStringLiteral("data_dir"), m_ctx->dataDir},
                      {QStringLiteral("config_source"), c.sourceDescription},
                      {QStringLiteral("started_at"),
                       QDateTime::fromMSecsSinceEpoch(m_ctx->startedMs, Qt::UTC).toString(Qt::ISODateWithMs)},
                      {QStringLiteral("uptime_s"), qint64((QDateTime::currentMSecsSinceEpoch() - m_ctx->startedMs) / 1000)},
                      {QStringLiteral("requests_total"), m_ctx->metrics.requestsTotal()},
                      {QStringLiteral("open_connections"), m_ctx->metrics.openConnections()},
                      {QStringLiteral("ledger_rows_written"), m_ctx->ledger ? m_ctx->ledger->writtenRows() : 0},
                      {QStringLiteral("ledger_rows_dropped"), m_ctx->ledger ? m_ctx->ledger->droppedRows() : 0},
                      {QStringLiteral("outbound_proxy"), m_ctx->pool->outboundProxy().describe()},
                      {QStringLiteral("providers"), providers},
                      {QStringLiteral("paused"), pauseStatusJson(m_ctx).value(QLatin1String("paused"))},
                      {QStringLiteral("paused_until"), pauseStatusJson(m_ctx).value(QLatin1String("paused_until"))},
                  });
}

void LocalApiHandler::serveEvents()
{
    m_streaming = true;
    HttpResponseHead head;
    head.status = 200;
    head.headers.add("Content-Type", "text/event-stream");
    head.headers.add("Cache-Control", "no-store");
    m_conn->sendHead(std::move(head), -1);
    m_conn->sendBody(": airlock live events\n\n");
    connect(m_ctx->events, &EventBus::requestRecorded, this, [this](const UsageRecord &r) {
        if (m_gone) return;
        // A subscriber that stops reading is dropped rather than buffered without bound.
        if (m_conn->pendingWriteBytes() > 4 * 1024 * 1024) {
            m_gone = true;
            m_conn->abortResponse();
            return;
        }
        m_conn->sendBody("event: request\ndata: " +
                         QJsonDocument(usageRecordToJson(r)).toJson(QJsonDocument::Compact) + "\n\n");
    });
    connect(m_ctx->events, &EventBus::notice, this, [this](const QByteArray &type, const QJsonObject &data) {
        if (m_gone) return;
        m_conn->sendBody("event: " + type + "\ndata: " + QJsonDocument(data).toJson(QJsonDocument::Compact) + "\n\n");
    });
    auto *keepAlive = new QTimer(this);
    connect(keepAlive, &QTimer::timeout, this, [this] {
        if (!m_gone) m_conn->sendBody(": keep-alive\n\n");
    });
    keepAlive->start(kEventsKeepAliveMs);
}

void LocalApiHandler::clientGone()
{
    m_gone = true;
}

}  // namespace airlock
