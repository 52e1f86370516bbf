#include "app/airlock/policy_page.h"

#include "app/airlock/client_session.h"
#include "app/airlock/state_panel.h"

#include <QHBoxLayout>
#include <QJsonArray>
#include <QLabel>
#include <QPushButton>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace airlock {

namespace {
QString esc(const QString &s) {
    return s.toHtmlEscaped();
}

QString scalar(const QJsonValue &v) {
    if (v.isDouble()) {
        const double d = v.toDouble();
        return d == double(qint64(d)) ? QString::number(qint64(d)) : QString::number(d);
    }
    if (v.isBool()) return v.toBool() ? QStringLiteral("yes") : QStringLiteral("no");
    if (v.isString()) return v.toString();
    if (v.isArray()) {
        QStringList parts;
        for (const QJsonValue &x : v.toArray()) parts.append(scalar(x));
        return parts.join(QStringLiteral(", "));
    }
    return {};
}

QString describeProfile(const QJsonObject &p) {
    QStringList items;
    if (p.contains(QStringLiteral("mode")))
        items << QObject::tr("Mode: <b>%1</b>%2")
                     .arg(esc(p.value(QStringLiteral("mode")).toString()),
                          p.value(QStringLiteral("mode")).toString() == QLatin1String("monitor")
                              ? QObject::tr(" (rules are logged, not enforced)")
                              : QString());
    if (p.contains(QStringLiteral("fail_mode")))
        items << QObject::tr("If the policy cannot be evaluated: %1")
                     .arg(p.value(QStringLiteral("fail_mode")).toString() == QLatin1String("closed")
                              ? QObject::tr("requests are refused")
                              : QObject::tr("requests pass"));
    const QJsonObject models = p.value(QStringLiteral("models")).toObject();
    if (models.contains(QStringLiteral("allow")))
        items << QObject::tr("Models allowed: %1")
                     .arg(esc(scalar(models.value(QStringLiteral("allow")))));
    if (models.contains(QStringLiteral("deny")))
        items << QObject::tr("Models denied: %1")
                     .arg(esc(scalar(models.value(QStringLiteral("deny")))));
    const QJsonObject aliases = models.value(QStringLiteral("aliases")).toObject();
    for (auto it = aliases.begin(); it != aliases.end(); ++it)
        items << QObject::tr("Requests for %1 are served by %2")
                     .arg(esc(it.key()), esc(it.value().toString()));
    if (models.contains(QStringLiteral("max_tokens")))
        items << QObject::tr("Output capped at %1 tokens per request")
                     .arg(scalar(models.value(QStringLiteral("max_tokens"))));
    for (const QJsonValue &b : p.value(QStringLiteral("budgets")).toArray()) {
        const QJsonObject o = b.toObject();
        const QString amount =
            o.contains(QStringLiteral("usd"))
                ? QStringLiteral("$") + scalar(o.value(QStringLiteral("usd")))
                : scalar(o.value(QStringLiteral("tokens"))) + QObject::tr(" tokens");
        QString line =
            QObject::tr("Budget: %1 per %2, %3")
                .arg(amount, esc(o.value(QStringLiteral("period")).toString()),
                     o.value(QStringLiteral("scope")).toString() == QLatin1String("device")
                         ? QObject::tr("for the whole device")
                         : QObject::tr("for each app"));
        if (o.contains(QStringLiteral("warn_at")))
            line += QObject::tr("; warns at %1%")
                        .arg(qRound(o.value(QStringLiteral("warn_at")).toDouble() * 100));
        if (o.contains(QStringLiteral("models")))
            line += QObject::tr("; models %1").arg(esc(scalar(o.value(QStringLiteral("models")))));
        items << line;
    }
    for (const QJsonValue &r : p.value(QStringLiteral("rate_limits")).toArray()) {
        const QJsonObject o = r.toObject();
        QStringList parts;
        if (o.contains(QStringLiteral("rpm")))
            parts << QObject::tr("%1 requests/min").arg(scalar(o.value(QStringLiteral("rpm"))));
        if (o.contains(QStringLiteral("tpm")))
            parts << QObject::tr("%1 tokens/min").arg(scalar(o.value(QStringLiteral("tpm"))));
        if (o.contains(QStringLiteral("concurrent")))
            parts << QObject::tr("%1 at once").arg(scalar(o.value(QStringLiteral("concurrent"))));
        items << QObject::tr("Rate limit: %1").arg(parts.join(QStringLiteral(", ")));
    }
    const QJsonObject guard = p.value(QStringLiteral("guardrails")).toObject();
    const QJsonObject detectors = guard.value(QStringLiteral("detectors")).toObject();
    for (auto it = detectors.begin(); it != detectors.end(); ++it)
        items << QObject::tr("Content check <i>%1</i>: %2")
                     .arg(esc(it.key()), esc(it.value().toString()));
    for (const QJsonValue &pat : guard.value(QStringLiteral("patterns")).toArray())
        items << QObject::tr("Pattern <i>%1</i>: %2")
                     .arg(esc(pat.toObject().value(QStringLiteral("name")).toString()),
                          esc(pat.toObject().value(QStringLiteral("action")).toString()));
    const QJsonObject cache = p.value(QStringLiteral("cache")).toObject();
    if (!cache.isEmpty())
        items << QObject::tr("Response cache on (%1 s)")
                     .arg(scalar(cache.value(QStringLiteral("ttl_seconds"))));
    if (items.isEmpty()) return QObject::tr("<p>No rules: everything is allowed and recorded.</p>");
    return QStringLiteral("<ul><li>") + items.join(QStringLiteral("</li><li>")) +
           QStringLiteral("</li></ul>");
}
}  // namespace

QString describePolicy(const QJsonObject &answer) {
    const QJsonObject bundle = answer.contains(QStringLiteral("bundle"))
                                   ? answer.value(QStringLiteral("bundle")).toObject()
                                   : answer;
    QString html;
    const auto meta = [&html](const QString &k, const QString &v) {
        if (!v.isEmpty())
            html += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>").arg(esc(k), esc(v));
    };
    html += QStringLiteral("<table cellspacing=4>");
    QString profileName = answer.value(QStringLiteral("profile")).toString();
    meta(QObject::tr("Profile in force"), profileName);
    meta(QObject::tr("Version"), scalar(answer.contains(QStringLiteral("version"))
                                            ? answer.value(QStringLiteral("version"))
                                            : bundle.value(QStringLiteral("version"))));
    meta(QObject::tr("State"), scalar(answer.value(QStringLiteral("state"))));
    meta(QObject::tr("Mode"), scalar(answer.value(QStringLiteral("mode"))));
    meta(QObject::tr("Source"), scalar(answer.value(QStringLiteral("source"))));
    meta(QObject::tr("Policy URL"), scalar(answer.value(QStringLiteral("url"))));
    meta(QObject::tr("Last sync"), scalar(answer.contains(QStringLiteral("last_sync_at"))
                                              ? answer.value(QStringLiteral("last_sync_at"))
                                              : answer.value(QStringLiteral("last_sync"))));
    meta(QObject::tr("Last sync error"), scalar(answer.value(QStringLiteral("last_sync_error"))));
    meta(QObject::tr("Issued"), scalar(bundle.value(QStringLiteral("issued_at"))));
    meta(QObject::tr("Expires"), scalar(bundle.value(QStringLiteral("expires_at"))));
    html += QStringLiteral("</table>");
    const QJsonObject profiles = bundle.value(QStringLiteral("profiles")).toObject();
    for (auto it = profiles.begin(); it != profiles.end(); ++it) {
        if (!profileName.isEmpty() && it.key() != profileName && profiles.size() > 1) continue;
        const QJsonObject p = it.value().toObject();
        html += QObject::tr("<h3>Rules of profile “%1”</h3>").arg(esc(it.key()));
        html += describeProfile(p);
        const QJsonObject apps = p.value(QStringLiteral("apps")).toObject();
        if (!apps.isEmpty()) {
            html += QObject::tr("<h3>Per-app rules</h3>");
            for (auto a = apps.begin(); a != apps.end(); ++a) {
                html +=
                    QObject::tr(
                        "<p><b>%1</b> — these replace the profile's rules of the same kind:</p>")
                        .arg(esc(a.key()));
                html += describeProfile(a.value().toObject());
            }
        }
    }
    return html;
}

PolicyPage::PolicyPage(ClientSession *session, QWidget *parent)
    : QWidget(parent), m_session(session) {
    auto *layout = new QVBoxLayout(this);
    auto *bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("<b>Policy in force on this device</b>"), this));
    bar->addStretch();
    m_sync = new QPushButton(tr("Sync now"), this);
    bar->addWidget(m_sync);
    layout->addLayout(bar);
    m_text = new QTextBrowser(this);
    m_panel = new StatePanel(m_text, this);
    layout->addWidget(m_panel, 1);
    connect(m_sync, &QPushButton::clicked, this, [this] {
        m_sync->setEnabled(false);
        m_session->syncPolicy([this](bool, const QString &message) {
            m_sync->setEnabled(true);
            m_sync->setToolTip(message);
            refresh();
        });
    });
    connect(session, &ClientSession::daemonCameUp, this, &PolicyPage::refresh);
    connect(session, &ClientSession::noticeReceived, this, [this](const QString &type) {
        if (type == QLatin1String("policy")) refresh();
    });
}

void PolicyPage::refresh() {
    if (!m_session->daemonUp()) {
        m_panel->showMessage(tr("The Airlock proxy is not running"),
                             tr("The policy in force is read from airlockd once it answers."));
        return;
    }
    m_session->client()->get(QStringLiteral("/airlock/v1/policy"), this, [this](const ApiReply &r) {
        ++m_loads;
        const bool none = r.json.isEmpty() ||
                          r.json.value(QStringLiteral("state")).toString() == QLatin1String("none");
        if (r.ok() && !none) {
            m_text->setHtml(describePolicy(r.json));
            m_panel->showContent();
        } else if (r.ok() || r.notServed()) {
            m_panel->showMessage(
                tr("No policy is configured on this device"),
                tr("Airlock records every request but enforces no rules. An administrator "
                   "sets a policy source (\"policy\": {\"url\": …}) in the managed config; "
                   "its rules then show here."));
        } else {
            m_panel->showMessage(tr("The policy could not be read"), r.error);
        }
        Q_EMIT loaded();
    });
}

QString PolicyPage::shownText() const {
    return m_panel->showingMessage() ? m_panel->messageText() : m_text->toPlainText();
}

}  // namespace airlock
