#include "core/providers/endpoint.h"

namespace airlock {

namespace {

struct ProviderPrefix {
    QByteArrayView path;  // "/openai"
    WireFormat format;
};

constexpr ProviderPrefix kPrefixes[] = {
    {"/openai", WireFormat::OpenAI},
    {"/anthropic", WireFormat::Anthropic},
    {"/gemini", WireFormat::Gemini},
};

// Gemini API versions whose model paths carry a ":action" suffix.
constexpr QByteArrayView kGeminiModelRoots[] = {"/v1beta/models", "/v1/models", "/v1alpha/models"};

struct PathMatch {
    bool matched = false;
    WireFormat format = WireFormat::Unknown;
    EndpointKind kind = EndpointKind::Passthrough;
    QByteArray model;
    bool stream = false;
};

PathMatch hit(WireFormat format, EndpointKind kind) {
    PathMatch m;
    m.matched = true;
    m.format = format;
    m.kind = kind;
    return m;
}

// "." or ".." segments (also percent-encoded) would let a prefixed path climb out of the
// upstream's base path, so such targets are not classified at all.
bool hasDotSegment(QByteArrayView path) {
    const QByteArray decoded = QByteArray::fromPercentEncoding(path.toByteArray());
    qsizetype start = 0;
    while (start <= decoded.size()) {
        qsizetype end = decoded.indexOf('/', start);
        if (end < 0) end = decoded.size();
        const QByteArrayView segment(decoded.constData() + start, end - start);
        if (segment == "." || segment == "..") return true;
        start = end + 1;
    }
    return false;
}

// "/v1beta/models/{model}:{action}" (and the same under /v1, /v1alpha).
PathMatch matchGeminiModelAction(QByteArrayView path) {
    for (const QByteArrayView root : kGeminiModelRoots) {
        if (!path.startsWith(root) || path.size() <= root.size() + 1 || path[root.size()] != '/')
            continue;
        const QByteArrayView rest = path.sliced(root.size() + 1);
        if (rest.contains('/')) return {};
        qsizetype sep = rest.lastIndexOf(':');
        qsizetype sepLength = 1;
        if (sep < 0) {
            // Some HTTP stacks percent-encode the colon.
            const QByteArray lower = rest.toByteArray().toLower();
            sep = lower.lastIndexOf("%3a");
            sepLength = 3;
        }
        if (sep <= 0) return {};
        const QByteArrayView action = rest.sliced(sep + sepLength);
        PathMatch m = hit(WireFormat::Gemini, EndpointKind::Passthrough);
        m.model = QByteArray::fromPercentEncoding(rest.first(sep).toByteArray());
        if (action == "generateContent") {
            m.kind = EndpointKind::GenerateContent;
        } else if (action == "streamGenerateContent") {
            m.kind = EndpointKind::StreamGenerateContent;
            m.stream = true;
        } else if (action == "countTokens") {
            m.kind = EndpointKind::CountTokens;
        } else {
            m.model.clear();  // embedContent, predict, ...: forwarded, not accounted
        }
        return m;
    }
    return {};
}

bool isModelsPath(QByteArrayView path, QByteArrayView root) {
    if (path == root) return true;
    return path.startsWith(root) && path.size() > root.size() + 1 && path[root.size()] == '/' &&
           !path.sliced(root.size() + 1).contains('/');
}

// format: the format a prefix forced, or Unknown for an unprefixed path.
PathMatch matchPath(QByteArrayView path, WireFormat format) {
    const bool any = format == WireFormat::Unknown;
    if (any || format == WireFormat::Gemini) {
        PathMatch m = matchGeminiModelAction(path);
        if (m.matched) return m;
        for (const QByteArrayView root : kGeminiModelRoots) {
            // Unprefixed /v1/models is OpenAI's; /v1beta is Gemini's alone.
            if ((!any || root != "/v1/models") && isModelsPath(path, root))
                return hit(WireFormat::Gemini, EndpointKind::Models);
        }
    }
    if (any || format == WireFormat::OpenAI) {
        if (path == "/v1/chat/completions")
            return hit(WireFormat::OpenAI, EndpointKind::ChatCompletions);
        if (path == "/v1/completions") return hit(WireFormat::OpenAI, EndpointKind::Completions);
        if (path == "/v1/responses") return hit(WireFormat::OpenAI, EndpointKind::Responses);
        if (path == "/v1/embeddings") return hit(WireFormat::OpenAI, EndpointKind::Embeddings);
        if (isModelsPath(path, "/v1/models")) return hit(WireFormat::OpenAI, EndpointKind::Models);
        // Stored responses and completions: /v1/responses/{id}, .../input_items, /cancel.
        if (path.startsWith("/v1/responses/") || path.startsWith("/v1/chat/completions/"))
            return hit(WireFormat::OpenAI, EndpointKind::Passthrough);
    }
    if (any || format == WireFormat::Anthropic) {
        if (path == "/v1/messages") return hit(WireFormat::Anthropic, EndpointKind::Messages);
        if (path == "/v1/messages/count_tokens")
            return hit(WireFormat::Anthropic, EndpointKind::CountTokens);
        if (!any && isModelsPath(path, "/v1/models"))
            return hit(WireFormat::Anthropic, EndpointKind::Models);
    }
    return {};
}

}  // namespace

EndpointMatch classifyEndpoint(const QByteArray &method, const QByteArray &target) {
    // Classification is by path alone: the pipeline judges methods (a GET on a POST endpoint
    // is the provider's 404/405 to give).
    Q_UNUSED(method);
    EndpointMatch match;
    match.upstreamPath = target;

    const qsizetype queryStart = target.indexOf('?');
    const QByteArrayView path =
        queryStart < 0 ? QByteArrayView(target) : QByteArrayView(target).first(queryStart);
    const QByteArrayView query =
        queryStart < 0 ? QByteArrayView() : QByteArrayView(target).sliced(queryStart);
    if (!path.startsWith('/') || hasDotSegment(path)) return match;

    QByteArrayView rest = path;
    WireFormat forced = WireFormat::Unknown;
    for (const ProviderPrefix &prefix : kPrefixes) {
        if (path.startsWith(prefix.path) &&
            (path.size() == prefix.path.size() || path[prefix.path.size()] == '/')) {
            forced = prefix.format;
            match.prefix = prefix.path.sliced(1).toByteArray();
            rest = path.sliced(prefix.path.size());
            break;
        }
    }

    const PathMatch m = matchPath(rest, forced);
    if (forced != WireFormat::Unknown) {
        match.format = forced;
        match.kind = m.matched ? m.kind : EndpointKind::Passthrough;
        match.upstreamPath = rest.isEmpty() ? QByteArray("/") : rest.toByteArray();
        match.upstreamPath.append(query);
    } else if (m.matched) {
        match.format = m.format;
        match.kind = m.kind;
    }
    if (m.matched) {
        match.pathModel = m.model;
        match.streamByPath = m.stream;
    }
    return match;
}

}  // namespace airlock
