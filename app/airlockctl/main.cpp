// airlockctl: the Airlock command line. Talks to airlockd through its local API; usage and
// requests fall back to reading the ledger directly when no daemon is running.
#include "api_client.h"
#include "commands_pause.h"
#include "commands_policy.h"
#include "table_printer.h"
#include "commands_setup.h"

#include "core/config/config.h"
#include "core/store/ledger_reader.h"
#include "platform/secret_prompt.h"
#include "platform/secret_store.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QUrlQuery>

#include <cstdio>

using namespace airlock;

namespace {

void out(const QString &text) { std::fputs(text.toUtf8().constData(), stdout); }
void err(const QString &text) { std::fputs(("airlockctl: " + text + "\n").toUtf8().constData(), stderr); }
void printJson(const QJsonObject &o) { out(QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Indented))); }

struct Cli {
    QCommandLineParser parser;
    QCommandLineOption dataDir{QStringLiteral("data-dir"), QStringLiteral("Airlock data dir."), QStringLiteral("DIR")};
    QCommandLineOption json{QStringLiteral("json"), QStringLiteral("Print JSON.")};
    QCommandLineOption groupBy{QStringLiteral("group-by"),
                               QStringLiteral("usage: comma-separated app,provider,model,day,format,outcome."),
                               QStringLiteral("KEYS"), QStringLiteral("app,provider,model")};
    QCommandLineOption from{QStringLiteral("from"), QStringLiteral("Start time (ISO 8601 or ms)."), QStringLiteral("TIME")};
    QCommandLineOption to{QStringLiteral("to"), QStringLiteral("End time (ISO 8601 or ms)."), QStringLiteral("TIME")};
    QCommandLineOption since{QStringLiteral("since"), QStringLiteral("Only the last N days, e.g. 7d, or 'today'."), QStringLiteral("SPAN")};
    QCommandLineOption app{QStringLiteral("app"), QStringLiteral("Only this app."), QStringLiteral("NAME")};
    QCommandLineOption outcome{QStringLiteral("outcome"), QStringLiteral("requests: only this outcome."), QStringLiteral("OUTCOME")};
    QCommandLineOption limit{QStringLiteral("limit"), QStringLiteral("requests: how many (default 50)."), QStringLiteral("N"), QStringLiteral("50")};
    QCommandLineOption offset{QStringLiteral("offset"), QStringLiteral("requests: skip N."), QStringLiteral("N"), QStringLiteral("0")};
    QCommandLineOption fromEnv{QStringLiteral("from-env"), QStringLiteral("keys set: read the key from this environment variable."), QStringLiteral("VAR")};

    QString dir() const { return parser.isSet(dataDir) ? parser.value(dataDir) : defaultDataDir(); }
};

qint64 timeArg(const QString &text, bool *ok)
{
    *ok = true;
    if (text.isEmpty()) return 0;
    bool num = false;
    const qint64 ms = text.toLongLong(&num);
    if (num) return ms;
    QDateTime dt = QDateTime::fromString(text, Qt::ISODateWithMs);
    if (!dt.isValid()) dt = QDateTime(QDate::fromString(text, Qt::ISODate), QTime(0, 0));
    *ok = dt.isValid();
    return dt.isValid() ? dt.toMSecsSinceEpoch() : 0;
}

bool timeRange(const Cli &cli, qint64 *fromMs, qint64 *toMs)
{
    bool ok1 = true, ok2 = true;
    *fromMs = timeArg(cli.parser.value(cli.from), &ok1);
    *toMs = timeArg(cli.parser.value(cli.to), &ok2);
    if (!ok1 || !ok2) {
        err(QStringLiteral("--from/--to take ISO 8601 times (2026-11-25 or 2026-11-25T10:00:00) or ms"));
        return false;
    }
    const QString since = cli.parser.value(cli.since);
    if (since == QLatin1String("today")) {
        *fromMs = QDateTime(QDate::currentDate(), QTime(0, 0)).toMSecsSinceEpoch();
    } else if (since.endsWith(QLatin1Char('d'))) {
        bool ok = false;
        const int days = since.chopped(1).toInt(&ok);
        if (!ok || days < 1) {
            err(QStringLiteral("--since takes Nd (e.g. 7d) or 'today'"));
            return false;
        }
        *fromMs = QDateTime(QDate::currentDate().addDays(1 - days), QTime(0, 0)).toMSecsSinceEpoch();
    } else if (!since.isEmpty()) {
        err(QStringLiteral("--since takes Nd (e.g. 7d) or 'today'"));
        return false;
    }
    return true;
}

int cmdStatus(const Cli &cli)
{
    ApiClient api(cli.dir());
    const ApiResult r = api.get(QStringLiteral("/airlock/v1/status"));
    if (!r.reachable || r.status != 200) {
        if (cli.parser.isSet(cli.json)) printJson(QJsonObject{{QStringLiteral("running"), false}, {QStringLiteral("error"), r.error}});
        else err(r.error.isEmpty() ? QStringLiteral("airlockd is not running") : r.error);
        return 3;
    }
    if (cli.parser.isSet(cli.json)) {
        QJsonObject o = r.json;
        o.insert(QStringLiteral("running"), true);
        printJson(o);
        return 0;
    }
    const QJsonObject s = r.json;
    out(QStringLiteral("airlockd %1 running (pid %2) on %3, up %4 s\n")
            .arg(s.value(QStringLiteral("version")).toString())
            .arg(s.value(QStringLiteral("pid")).toInteger())
            .arg(s.value(QStringLiteral("listen")).toString())
            .arg(s.value(QStringLiteral("uptime_s")).toInteger()));
    out(QStringLiteral("config: %1\ndata dir: %2\nrequests since start: %3, open connections: %4\n\n")
            .arg(s.value(QStringLiteral("config_source")).toString(), s.value(QStringLiteral("data_dir")).toString())
            .arg(s.value(QStringLiteral("requests_total")).toInteger())
            .arg(s.value(QStringLiteral("open_connections")).toInteger()));
    TablePrinter t({QStringLiteral("PROVIDER"), QStringLiteral("FORMAT"), QStringLiteral("BASE URL"), QStringLiteral("AUTH")});
    for (const QJsonValue &v : s.value(QStringLiteral("providers")).toArray()) {
        const QJsonObject p = v.toObject();
        QString auth = p.value(QStringLiteral("auth")).toString();
        if (auth == QLatin1String("inject"))
            auth += p.value(QStringLiteral("key_present")).toBool()
                        ? QStringLiteral(" (key from %1)").arg(p.value(QStringLiteral("key_source")).toString())
                        : QStringLiteral(" (NO KEY: airlockctl keys set %1)").arg(p.value(QStringLiteral("name")).toString());
        t.addRow({p.value(QStringLiteral("name")).toString(), p.value(QStringLiteral("format")).toString(),
                  p.value(QStringLiteral("base_url")).toString(), auth});
    }
    out(t.render());
    return 0;
}

// Runs a ledger query through the daemon, or directly on usage.db when no daemon answers.
template <typename Direct>
bool fetch(const Cli &cli, const QString &apiPath, Direct direct, QJsonObject *result)
{
    ApiClient api(cli.dir());
    if (api.daemonKnown()) {
        const ApiResult r = api.get(apiPath);
        if (r.reachable) {
            if (r.status != 200) {
                err(r.error);
                return false;
            }
            *result = r.json;
            return true;
        }
    }
    LedgerReader reader(cli.dir() + QStringLiteral("/usage.db"));
    QString error;
    if (!reader.open(&error)) {
        err(error);
        return false;
    }
    *result = direct(reader, &error);
    if (!error.isEmpty()) {
        err(error);
        return false;
    }
    return true;
}

int cmdUsage(const Cli &cli)
{
    UsageQuery q;
    if (!timeRange(cli, &q.fromMs, &q.toMs)) return 2;
    q.groupBy = cli.parser.value(cli.groupBy).split(QLatin1Char(','), Qt::SkipEmptyParts);
    q.app = cli.parser.value(cli.app);
    QUrlQuery query;
    query.addQueryItem(QStringLiteral("group_by"), q.groupBy.join(QLatin1Char(',')));
    if (q.fromMs) query.addQueryItem(QStringLiteral("from"), QString::number(q.fromMs));
    if (q.toMs) query.addQueryItem(QStringLiteral("to"), QString::number(q.toMs));
    if (!q.app.isEmpty()) query.addQueryItem(QStringLiteral("app"), q.app);
    QJsonObject result;
    if (!fetch(cli, QStringLiteral("/airlock/v1/usage?") + query.toString(QUrl::FullyEncoded),
               [&](LedgerReader &r, QString *e) {
                   return QJsonObject{{QStringLiteral("rows"), usageRowsToJson(q.groupBy, r.usage(q, e))}};
               },
               &result))
        return 1;
    const QJsonArray rows = result.value(QStringLiteral("rows")).toArray();
    if (cli.parser.isSet(cli.json)) {
        printJson(QJsonObject{{QStringLiteral("rows"), rows}});
        return 0;
    }
    QStringList headers;
    QList<bool> right;
    for (const QString &k : q.groupBy) {
        headers.append(k.toUpper());
        right.append(false);
    }
    headers << QStringLiteral("REQUESTS") << QStringLiteral("INPUT") << QStringLiteral("OUTPUT")
            << QStringLiteral("COST") << QStringLiteral("ERRORS");
    right << true << true << true << true << true;
    TablePrinter t(headers, right);
    qint64 req = 0, in = 0, outTok = 0;
    double cost = 0;
    for (const QJsonValue &v : rows) {
        const QJsonObject o = v.toObject();
        QStringList cells;
        for (const QString &k : q.groupBy) cells.append(o.value(k).toString());
        cells << formatCount(o.value(QStringLiteral("requests")).toInteger())
              << formatCount(o.value(QStringLiteral("input_tokens")).toInteger())
              << formatCount(o.value(QStringLiteral("output_tokens")).toInteger())
              << formatCost(o.value(QStringLiteral("cost_usd")).toDouble())
              << formatCount(o.value(QStringLiteral("errors")).toInteger());
        req += o.value(QStringLiteral("requests")).toInteger();
        in += o.value(QStringLiteral("input_tokens")).toInteger();
        outTok += o.value(QStringLiteral("output_tokens")).toInteger();
        cost += o.value(QStringLiteral("cost_usd")).toDouble();
        t.addRow(cells);
    }
    if (rows.isEmpty()) {
        out(QStringLiteral("No usage recorded yet.\n"));
        return 0;
    }
    out(t.render());
    out(QStringLiteral("\nTotal: %1 requests, %2 input + %3 output tokens, %4\n")
            .arg(formatCount(req), formatCount(in), formatCount(outTok), formatCost(cost)));
    return 0;
}

int cmdRequests(const Cli &cli)
{
    RequestsQuery q;
    bool ok1 = false, ok2 = false;
    q.limit = cli.parser.value(cli.limit).toInt(&ok1);
    q.offset = cli.parser.value(cli.offset).toInt(&ok2);
    if (!ok1 || !ok2 || q.limit < 1 || q.limit > 100000 || q.offset < 0) {
        err(QStringLiteral("--limit takes 1..100000 and --offset a number >= 0"));
        return 2;
    }
    if (!timeRange(cli, &q.fromMs, &q.toMs)) return 2;
    q.app = cli.parser.value(cli.app);
    q.outcome = cli.parser.value(cli.outcome);
    QUrlQuery query;
    query.addQueryItem(QStringLiteral("limit"), QString::number(q.limit));
    query.addQueryItem(QStringLiteral("offset"), QString::number(q.offset));
    if (q.fromMs) query.addQueryItem(QStringLiteral("from"), QString::number(q.fromMs));
    if (q.toMs) query.addQueryItem(QStringLiteral("to"), QString::number(q.toMs));
    if (!q.app.isEmpty()) query.addQueryItem(QStringLiteral("app"), q.app);
    if (!q.outcome.isEmpty()) query.addQueryItem(QStringLiteral("outcome"), q.outcome);
    QJsonObject result;
    if (!fetch(cli, QStringLiteral("/airlock/v1/requests?") + query.toString(QUrl::FullyEncoded),
               [&](LedgerReader &r, QString *e) {
                   QJsonArray list;
                   for (const UsageRecord &rec : r.requests(q, e)) list.append(usageRecordToJson(rec));
                   return QJsonObject{{QStringLiteral("requests"), list}};
               },
               &result))
        return 1;
    const QJsonArray list = result.value(QStringLiteral("requests")).toArray();
    if (cli.parser.isSet(cli.json)) {
        printJson(QJsonObject{{QStringLiteral("requests"), list}});
        return 0;
    }
    if (list.isEmpty()) {
        out(QStringLiteral("No requests recorded yet.\n"));
        return 0;
    }
    TablePrinter t({QStringLiteral("TIME"), QStringLiteral("APP"), QStringLiteral("PID"), QStringLiteral("PROVIDER"),
                    QStringLiteral("MODEL"), QStringLiteral("STATUS"), QStringLiteral("IN"), QStringLiteral("OUT"),
                    QStringLiteral("COST"), QStringLiteral("LATENCY"), QStringLiteral("OUTCOME")},
                   {false, false, true, false, false, true, true, true, true, true, false});
    for (const QJsonValue &v : list) {
        const QJsonObject o = v.toObject();
        const QDateTime ts = QDateTime::fromMSecsSinceEpoch(o.value(QStringLiteral("ts_ms")).toInteger());
        t.addRow({ts.toString(QStringLiteral("yyyy-MM-dd HH:mm:ss")), o.value(QStringLiteral("app")).toString(),
                  QString::number(o.value(QStringLiteral("pid")).toInteger()), o.value(QStringLiteral("provider")).toString(),
                  o.value(QStringLiteral("model")).toString(), QString::number(o.value(QStringLiteral("status")).toInt()),
                  formatCount(o.value(QStringLiteral("input_tokens")).toInteger()),
                  formatCount(o.value(QStringLiteral("output_tokens")).toInteger()),
                  formatCost(o.value(QStringLiteral("cost_usd")).toDouble()),
                  QStringLiteral("%1 ms").arg(o.value(QStringLiteral("latency_ms")).toDouble(), 0, 'f', 1),
                  o.value(QStringLiteral("outcome")).toString()});
    }
    out(t.render());
    return 0;
}

int cmdKeys(const Cli &cli, const QStringList &args)
{
    const QString verb = args.value(1);
    const QString provider = args.value(2);
    if ((verb != QLatin1String("set") && verb != QLatin1String("delete") && verb != QLatin1String("status")) ||
        provider.isEmpty()) {
        err(QStringLiteral("usage: airlockctl keys set|delete|status PROVIDER [--from-env VAR]"));
        return 2;
    }
    SecretStore store;
    const QString entry = SecretStore::providerKey(provider);
    if (verb == QLatin1String("status")) {
        const SecretStore::Result r = store.readSync(entry);
        if (r.ok) out(QStringLiteral("%1: a key is stored in the keychain (%2 characters)\n").arg(provider).arg(r.secret.size()));
        else if (r.notFound) out(QStringLiteral("%1: no key stored\n").arg(provider));
        else {
            err(r.error);
            return 1;
        }
        return r.ok ? 0 : 4;
    }
    SecretStore::Result r;
    if (verb == QLatin1String("set")) {
        QByteArray key;
        if (cli.parser.isSet(cli.fromEnv)) key = qgetenv(cli.parser.value(cli.fromEnv).toUtf8().constData());
        else key = readSecretLine(QStringLiteral("API key for %1 (input hidden): ").arg(provider));
        if (key.isEmpty()) {
            err(QStringLiteral("no key given (type it, pipe it on stdin, or use --from-env VAR)"));
            return 2;
        }
        r = store.writeSync(entry, key);
        key.fill('\0');
    } else {
        r = store.removeSync(entry);
        if (r.notFound) r.ok = true;
    }
    if (!r.ok) {
        err(QStringLiteral("keychain: %1").arg(r.error));
        return 1;
    }
    out(verb == QLatin1String("set") ? QStringLiteral("Stored the key of %1 in the keychain.\n").arg(provider)
                                     : QStringLiteral("Deleted the key of %1 from the keychain.\n").arg(provider));
    ApiClient api(cli.dir());
    if (api.daemonKnown() && api.post(QStringLiteral("/airlock/v1/keys/reload")).status == 200)
        out(QStringLiteral("airlockd reloaded its keys.\n"));
    return 0;
}

}  // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("airlockctl"));
    QCoreApplication::setApplicationVersion(QStringLiteral(AIRLOCK_VERSION));
    Cli cli;
    cli.parser.setApplicationDescription(QStringLiteral(
        "Airlock command line.\n\nCommands:\n"
        "  status                      daemon state, providers and keys\n"
        "  usage [--group-by K] [--since 7d|today] [--from T] [--to T] [--app A]\n"
        "                              tokens and cost per app/provider/model\n"
        "  requests [--limit N] [--app A] [--outcome O]\n"
        "                              recent requests, newest first\n"
        "  keys set|delete|status PROVIDER [--from-env VAR]\n"
        "                              provider API keys in the OS keychain"));
    cli.parser.addHelpOption();
    cli.parser.setApplicationDescription(cli.parser.applicationDescription() + QLatin1Char('\n') + QLatin1String(kInterceptionHelp));
    cli.parser.setApplicationDescription(cli.parser.applicationDescription() + QLatin1Char('\n') +
                                         QLatin1String(kPolicyCommandsHelp));
    cli.parser.setApplicationDescription(cli.parser.applicationDescription() + QLatin1Char('\n') +
                                         QLatin1String(kPauseCommandsHelp));
    cli.parser.addVersionOption();
    cli.parser.addOptions({cli.dataDir, cli.json, cli.groupBy, cli.from, cli.to, cli.since, cli.app,
                           cli.outcome, cli.limit, cli.offset, cli.fromEnv});
    cli.parser.addPositionalArgument(QStringLiteral("command"), QStringLiteral("status, usage, requests or keys"));
    if (int rc = 0; !app.arguments().contains(QLatin1String("--help")) && runInterceptionCommand(app.arguments(), &rc)) return rc;
    if (const int rc = runPolicyCommand(app.arguments().mid(1)); rc >= 0) return rc;
    if (const int rc = runPauseCommand(app.arguments().mid(1)); rc >= 0) return rc;
    cli.parser.process(app);
    const QStringList args = cli.parser.positionalArguments();
    const QString cmd = args.value(0);
    if (cmd == QLatin1String("status")) return cmdStatus(cli);
    if (cmd == QLatin1String("usage")) return cmdUsage(cli);
    if (cmd == QLatin1String("requests")) return cmdRequests(cli);
    if (cmd == QLatin1String("keys")) return cmdKeys(cli, args);
    err(cmd.isEmpty() ? QStringLiteral("no command given; see --help")
                      : QStringLiteral("unknown command '%1'; see --help").arg(cmd));
    return 2;
}
