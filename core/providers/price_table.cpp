#include "core/providers/price_table.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QLoggingCategory>

#include <algorithm>
#include <cmath>

// The resource lives in a static library: nothing references its initialiser unless we do.
static void initCoreResources() {
    Q_INIT_RESOURCE(core_resources);
}

namespace airlock {

namespace {

Q_LOGGING_CATEGORY(lcPrices, "airlock.prices")

constexpr auto kBuiltInPath = ":/airlock/prices.json";
constexpr double kTokensPerPriceUnit = 1'000'000.0;
constexpr int kMaxSuffixStrips = 3;

bool allDigits(QByteArrayView s) {
    return !s.isEmpty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "-2024-08-06", "-20250929", "-05-20", "-001", "-0613", "-latest": a snapshot of the same model.
QByteArray withoutVersionSuffix(const QByteArray &name) {
    if (name.endsWith("-latest")) return name.chopped(7);
    const qsizetype dash = name.lastIndexOf('-');
    if (dash <= 0) return name;
    const QByteArrayView last = QByteArrayView(name).sliced(dash + 1);
    if (!allDigits(last)) return name;
    const QByteArrayView head = QByteArrayView(name).first(dash);
    // -YYYY-MM-DD and -MM-DD: two-digit day after a two-digit month.
    if (last.size() == 2) {
        const qsizetype monthDash = head.lastIndexOf('-');
        if (monthDash > 0 && head.size() - monthDash - 1 == 2 &&
            allDigits(head.sliced(monthDash + 1))) {
            const QByteArrayView beforeMonth = head.first(monthDash);
            const qsizetype yearDash = beforeMonth.lastIndexOf('-');
            if (yearDash > 0 && beforeMonth.size() - yearDash - 1 == 4 &&
                allDigits(beforeMonth.sliced(yearDash + 1)))
                return beforeMonth.first(yearDash).toByteArray();
            return beforeMonth.toByteArray();
        }
        return name;
    }
    if (last.size() == 3 || last.size() == 4 || last.size() == 8) return head.toByteArray();
    return name;
}

bool readPrice(const QJsonObject &entry, const char *key, double *out, QString *error,
               bool required) {
    const QJsonValue value = entry.value(QLatin1String(key));
    if (value.isUndefined() || value.isNull()) {
        if (required) *error = QStringLiteral("missing \"%1\"").arg(QLatin1String(key));
        return !required;
    }
    const double d = value.toDouble(-1);
    if (!value.isDouble() || !std::isfinite(d) || d < 0) {
        *error = QStringLiteral("\"%1\" must be a number >= 0").arg(QLatin1String(key));
        return false;
    }
    *out = d;
    return true;
}

bool parseEntry(const QJsonValue &value, ModelPrice *price, QString *error) {
    if (!value.isObject()) {
        *error = QStringLiteral("entry is not an object");
        return false;
    }
    const QJsonObject entry = value.toObject();
    ModelPrice p;
    // Embedding models have an input price only.
    if (!readPrice(entry, "input", &p.inputPerMTok, error, true) ||
        !readPrice(entry, "output", &p.outputPerMTok, error, false) ||
        !readPrice(entry, "cached_input", &p.cachedInputPerMTok, error, false) ||
        !readPrice(entry, "cache_write", &p.cacheWritePerMTok, error, false))
        return false;
    p.known = true;
    *price = p;
    return true;
}

QByteArray normalisedKey(const QString &key) {
    return key.trimmed().toLower().toUtf8();
}

}  // namespace

PriceTable PriceTable::builtIn() {
    static const PriceTable table = [] {
        initCoreResources();
        PriceTable t;
        QFile file(QString::fromLatin1(kBuiltInPath));
        if (!file.open(QIODevice::ReadOnly)) {
            qCWarning(lcPrices) << "built-in price table missing:" << file.errorString();
            return t;
        }
        QString error;
        if (!parse(file.readAll(), &t, &error))
            qCWarning(lcPrices) << "built-in price table invalid:" << error;
        return t;
    }();
    return table;
}

bool PriceTable::parse(const QByteArray &json, PriceTable *out, QString *error) {
    QString ignored;
    QString &err = error ? *error : ignored;
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        err = QStringLiteral("price table: %1 at offset %2")
                  .arg(parseError.errorString())
                  .arg(parseError.offset);
        return false;
    }
    const QJsonValue models = doc.object().value(QLatin1String("models"));
    if (!doc.isObject() || !models.isObject()) {
        err = QStringLiteral("price table: expected {\"models\": {…}}");
        return false;
    }
    PriceTable table;
    const QJsonObject entries = models.toObject();
    for (auto it = entries.begin(); it != entries.end(); ++it) {
        if (it.key().startsWith(QLatin1Char('_'))) continue;  // notes
        ModelPrice price;
        QString entryError;
        if (!parseEntry(it.value(), &price, &entryError)) {
            err = QStringLiteral("price table: model \"%1\": %2").arg(it.key(), entryError);
            return false;
        }
        table.m_prices.insert(normalisedKey(it.key()), price);
    }
    if (out) *out = std::move(table);
    return true;
}

void PriceTable::merge(const QJsonObject &overrides) {
    // Also accept the file shape {"models": {…}} so a copied prices.json works as an override.
    const QJsonValue inner = overrides.value(QLatin1String("models"));
    const QJsonObject entries = inner.isObject() ? inner.toObject() : overrides;
    for (auto it = entries.begin(); it != entries.end(); ++it) {
        if (it.key().startsWith(QLatin1Char('_'))) continue;
        ModelPrice price;
        QString error;
        if (parseEntry(it.value(), &price, &error)) {
            m_prices.insert(normalisedKey(it.key()), price);
        } else {
            qCWarning(lcPrices) << "ignoring price override for" << it.key() << ":" << error;
        }
    }
}

ModelPrice PriceTable::lookup(const QByteArray &model) const {
    QByteArray name = model.trimmed().toLower();
    // "openai/gpt-4o", "models/gemini-2.5-pro", "publishers/google/models/…"
    const qsizetype slash = name.lastIndexOf('/');
    if (slash >= 0) name = name.mid(slash + 1);
    // Vertex AI snapshots: "claude-3-5-sonnet-v2@20241022".
    const qsizetype at = name.indexOf('@');
    if (at > 0) name.truncate(at);
    if (name.isEmpty()) return {};

    if (const auto it = m_prices.constFind(name); it != m_prices.constEnd()) return it.value();
    QByteArray candidate = name;
    for (int i = 0; i < kMaxSuffixStrips; ++i) {
        const QByteArray shorter = withoutVersionSuffix(candidate);
        if (shorter == candidate || shorter.isEmpty()) break;
        candidate = shorter;
        if (const auto it = m_prices.constFind(candidate); it != m_prices.constEnd())
            return it.value();
    }
    const ModelPrice *best = nullptr;
    qsizetype bestLength = -1;
    for (auto it = m_prices.constBegin(); it != m_prices.constEnd(); ++it) {
        const QByteArray &key = it.key();
        if (!key.endsWith('*')) continue;
        const QByteArrayView prefix = QByteArrayView(key).chopped(1);
        if (prefix.size() > bestLength && name.startsWith(prefix)) {
            best = &it.value();
            bestLength = prefix.size();
        }
    }
    return best ? *best : ModelPrice{};
}

double PriceTable::costUsd(const QByteArray &model, const TokenUsage &usage) const {
    const ModelPrice price = lookup(model);
    if (!price.known) return 0.0;
    const double cachedPrice =
        price.cachedInputPerMTok < 0 ? price.inputPerMTok : price.cachedInputPerMTok;
    const double writePrice =
        price.cacheWritePerMTok < 0 ? price.inputPerMTok : price.cacheWritePerMTok;
    const qint64 cached = std::max<qint64>(0, usage.cachedInputTokens);
    const qint64 written = std::max<qint64>(0, usage.cacheWriteTokens);
    const qint64 uncached = std::max<qint64>(0, usage.inputTokens - cached - written);
    const double micros = double(uncached) * price.inputPerMTok + double(cached) * cachedPrice +
                          double(written) * writePrice +
                          double(std::max<qint64>(0, usage.outputTokens)) * price.outputPerMTok;
    return micros / kTokensPerPriceUnit;
}

}  // namespace airlock
