// USD prices per million tokens per model, from resources/prices.json, overridable in config.
#pragma once

#include "core/providers/wire_format.h"

#include <QHash>
#include <QJsonObject>
#include <QString>

namespace airlock {

struct ModelPrice {
    double inputPerMTok = 0;
    double outputPerMTok = 0;
    double cachedInputPerMTok = -1;  // <0: same as input
    double cacheWritePerMTok = -1;   // <0: same as input
    bool known = false;
};

class PriceTable {
public:
    // The table shipped in the binary (:/airlock/prices.json).
    static PriceTable builtIn();
    // Entries in `overrides` ({"model": {"input":…,"output":…,"cached_input":…,"cache_write":…}})
    // replace or add to this table.
    void merge(const QJsonObject &overrides);
    // Exact name first, then with a trailing date/version suffix removed ("gpt-4o-2024-08-06" ->
    // "gpt-4o", "claude-sonnet-4-5-20250929" -> "claude-sonnet-4-5"), then the longest
    // entry ending in '*' whose prefix matches. A provider prefix "openai/" or "models/" is ignored.
    ModelPrice lookup(const QByteArray &model) const;
    // Uncached input at input price, cached at cached price, cache writes at write price, output at output.
    double costUsd(const QByteArray &model, const TokenUsage &usage) const;
    qsizetype size() const { return m_prices.size(); }

    static bool parse(const QByteArray &json, PriceTable *out, QString *error);

private:
    QHash<QByteArray, ModelPrice> m_prices;
};

}  // namespace airlock
