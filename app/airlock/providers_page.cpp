#include "app/airlock/providers_page.h"

#include "app/airlock/client_session.h"
#include "app/airlock/state_panel.h"

#include <QDate>
#include <QHeaderView>
#include <QJsonArray>
#include <QLabel>
#include <QTableView>
#include <QVBoxLayout>

namespace airlock {

namespace {
QString numberOr(const QJsonObject &o, std::initializer_list<const char *> keys,
                 const QString &suffix, int decimals) {
    for (const char *k : keys) {
        const QJsonValue v = o.value(QLatin1String(k));
        if (v.isDouble()) return QString::number(v.toDouble(), 'f', decimals) + suffix;
    }
    return QStringLiteral("—");
}
}  // namespace

ProvidersPage::ProvidersPage(ClientSession *session, QWidget *parent)
    : QWidget(parent), m_session(session) {
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("<b>Providers and routing targets</b>"), this));
    m_note = new QLabel(this);
    m_note->setWordWrap(true);
    m_note->setForegroundRole(QPalette::PlaceholderText);
    layout->addWidget(m_note);
    m_table = new QTableView(this);
    m_table->setModel(&m_model);
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_panel = new StatePanel(m_table, this);
    layout->addWidget(m_panel, 1);
    connect(session, &ClientSession::daemonCameUp, this, &ProvidersPage::refresh);
}

void ProvidersPage::refresh() {
    if (!m_session->daemonUp()) {
        m_panel->showMessage(tr("The Airlock proxy is not running"),
                             tr("Provider health is reported by airlockd once it answers."));
        return;
    }
    m_session->client()->get(
        QStringLiteral("/airlock/v1/providers"), this, [this](const ApiReply &r) {
            QJsonArray list = r.json.value(QStringLiteral("targets")).toArray();
            if (!r.ok() || list.isEmpty()) {
                // No health endpoint, or no routing targets configured: show the providers instead.
                showFromStatus();
                return;
            }
            m_model.clear();
            m_model.setHorizontalHeaderLabels({tr("Target"), tr("Provider / model"), tr("Health"),
                                               tr("Latency (avg)"), tr("Error rate"),
                                               tr("Requests"), tr("Base URL")});
            for (const QJsonValue &v : list) {
                const QJsonObject o = v.toObject();
                QString health =
                    o.value(QStringLiteral("healthy")).toBool() ? tr("healthy") : tr("unhealthy");
                if (!o.contains(QStringLiteral("healthy")))
                    health = o.value(QStringLiteral("health")).toString(tr("unknown"));
                const QString circuit = o.value(QStringLiteral("circuit")).toString();
                if (!circuit.isEmpty() && circuit != QLatin1String("closed"))
                    health += tr(" (circuit %1)").arg(circuit);
                QString target = o.value(QStringLiteral("provider")).toString();
                if (!o.value(QStringLiteral("model")).toString().isEmpty())
                    target += QStringLiteral(" / ") + o.value(QStringLiteral("model")).toString();
                const QJsonValue rate = o.value(QStringLiteral("error_rate"));
                m_model.appendRow(
                    {new QStandardItem(o.value(QStringLiteral("name")).toString()),
                     new QStandardItem(target), new QStandardItem(health),
                     new QStandardItem(
                         numberOr(o, {"ewma_latency_ms", "latency_ms"}, QStringLiteral(" ms"), 0)),
                     new QStandardItem(rate.isDouble()
                                           ? QString::number(rate.toDouble() * 100, 'f', 1) +
                                                 QLatin1Char('%')
                                           : QStringLiteral("—")),
                     new QStandardItem(numberOr(o, {"requests"}, QString(), 0)),
                     new QStandardItem(o.value(QStringLiteral("base_url")).toString())});
            }
            m_note->setText(
                tr("Health, average latency and error rate of each routing target, as airlockd's "
                   "router sees them."));
            m_panel->showContent();
            ++m_loads;
            Q_EMIT loaded();
        });
}

void ProvidersPage::showFromStatus() {
    // Error rate per provider from today's ledger, so the page says how each one is doing
    // even without router health.
    const qint64 dayStart = QDate::currentDate().startOfDay().toMSecsSinceEpoch();
    m_session->client()->get(
        QStringLiteral("/airlock/v1/usage?group_by=provider&from=%1").arg(dayStart), this,
        [this](const ApiReply &usage) {
            QHash<QString, QPair<qint64, qint64>> perProvider;  // requests, errors
            for (const QJsonValue &v : usage.json.value(QStringLiteral("rows")).toArray()) {
                const QJsonObject o = v.toObject();
                perProvider.insert(o.value(QStringLiteral("provider")).toString(),
                                   {o.value(QStringLiteral("requests")).toInteger(),
                                    o.value(QStringLiteral("errors")).toInteger() -
                                        o.value(QStringLiteral("blocked")).toInteger()});
            }
            m_session->client()->get(
                QStringLiteral("/airlock/v1/status"), this, [this, perProvider](const ApiReply &r) {
                    m_model.clear();
                    m_model.setHorizontalHeaderLabels({tr("Provider"), tr("Format"),
                                                       tr("Requests today"), tr("Failed today"),
                                                       tr("Base URL"), tr("Key")});
                    for (const QJsonValue &v :
                         r.json.value(QStringLiteral("providers")).toArray()) {
                        const QJsonObject o = v.toObject();
                        const QString name = o.value(QStringLiteral("name")).toString();
                        const QString key =
                            o.value(QStringLiteral("auth")).toString() == QLatin1String("inject")
                                ? (o.value(QStringLiteral("key_present")).toBool()
                                       ? tr("stored (%1)")
                                             .arg(o.value(QStringLiteral("key_source")).toString())
                                       : tr("missing"))
                                : tr("the app's own key is passed through");
                        const auto [requests, failed] = perProvider.value(name);
                        const QString failedText =
                            requests > 0
                                ? QStringLiteral("%1 (%2%)")
                                      .arg(failed)
                                      .arg(100.0 * double(failed) / double(requests), 0, 'f', 1)
                                : QStringLiteral("—");
                        m_model.appendRow(
                            {new QStandardItem(name),
                             new QStandardItem(o.value(QStringLiteral("format")).toString()),
                             new QStandardItem(requests > 0 ? QString::number(requests)
                                                            : QStringLiteral("—")),
                             new QStandardItem(failedText),
                             new QStandardItem(o.value(QStringLiteral("base_url")).toString()),
                             new QStandardItem(key)});
                    }
                    m_note->setText(
                        tr("No routing targets with health tracking are configured (add \"routes\" "
                           "to the "
                           "config for fallback and circuit breakers). These are the providers "
                           "airlockd "
                           "forwards to, with today's requests and failures (refusals by policy "
                           "not counted)."));
                    if (!r.ok())
                        m_panel->showMessage(tr("Providers are not available"), r.error);
                    else if (m_model.rowCount() == 0)
                        m_panel->showMessage(tr("No providers configured"),
                                             tr("airlockd has no upstream providers. Start it with "
                                                "--upstream FORMAT=URL or "
                                                "a config file with \"providers\"."));
                    else
                        m_panel->showContent();
                    ++m_loads;
                    Q_EMIT loaded();
                });
        });
}

}  // namespace airlock
