// OpenAI chat completions client <- Gemini generateContent target: request, answer and stream
// translation (used through translate_wire.h).
#pragma once

#include "core/providers/translate_wire.h"

#include <QJsonObject>

namespace airlock::translate {

QJsonObject openAiToGeminiRequest(const QJsonObject &in, QString *error);
QJsonObject geminiToOpenAiResponse(const QJsonObject &in, const QByteArray &model);
std::unique_ptr<StreamTranslator> geminiToOpenAiStream(bool includeUsage, const QByteArray &model);

}  // namespace airlock::translate
