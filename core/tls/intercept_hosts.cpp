#include "core/tls/intercept_hosts.h"

namespace airlock {

namespace {

struct BuiltIn {
    const char *host;
    WireFormat format;
    const char *prefix;
    bool viaDefault;
};

// The providers' documented OpenAI-compatible roots; the big three go where base-URL traffic goes.
constexpr BuiltIn kBuiltIn[] = {
    {"api.openai.com", WireFormat::OpenAI, "", true},
    {"api.anthropic.com", WireFormat::Anthropic, "", true},
    {"generativelanguage.googleapis.com", WireFormat::Gemini, "", true},
    {"api.mistral.ai", WireFormat::OpenAI, "", false},
    {"api.groq.com", WireFormat::OpenAI, "/openai", false},
    {"api.together.xyz", WireFormat::OpenAI, "", false},
    {"api.deepseek.com", WireFormat::OpenAI, "", false},
    {"api.x.ai", WireFormat::OpenAI, "", false},
    {"api.cohere.com", WireFormat::OpenAI, "/compatibility", false},
    {"openrouter.ai", WireFormat::OpenAI, "/api", false},
    {"api.perplexity.ai", WireFormat::OpenAI, "", false},
    {"api.fireworks.ai", WireFormat::OpenAI, "/inference", false},
    {"api.deepinfra.com", WireFormat::OpenAI, "/v1/openai", false},
    {"api.cerebras.ai", WireFormat::OpenAI, "", false},
};

}  // namespace

InterceptHosts::InterceptHosts(const QStringList &extraHosts) {
    for (const BuiltIn &b : kBuiltIn)
        m_entries.append(
            {QString::fromLatin1(b.host), b.format, QByteArray(b.prefix), b.viaDefault});
    for (const QString &h : extraHosts) {
        const QString host = normalize(h);
        if (host.isEmpty() || find(host)) continue;
        m_entries.append({host, WireFormat::OpenAI, QByteArray(), false});
    }
}

QString InterceptHosts::normalize(const QString &host) {
    QString h = host.trimmed().toLower();
    if (h.startsWith(QLatin1Char('[')) && h.endsWith(QLatin1Char(']'))) h = h.mid(1, h.size() - 2);
    while (h.endsWith(QLatin1Char('.'))) h.chop(1);
    return h;
}

const InterceptHost *InterceptHosts::find(const QString &host) const {
    const QString h = normalize(host);
    for (const InterceptHost &e : m_entries)
        if (e.host == h) return &e;
    return nullptr;
}

QStringList InterceptHosts::hostNames() const {
    QStringList out;
    for (const InterceptHost &e : m_entries) out.append(e.host);
    return out;
}

QStringList InterceptHosts::builtInHostNames() {
    QStringList out;
    for (const BuiltIn &b : kBuiltIn) out.append(QString::fromLatin1(b.host));
    return out;
}

}  // namespace airlock
