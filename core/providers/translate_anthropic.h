// OpenAI chat completions <-> Anthropic messages: requests, answers and streams both ways
// (used through translate_wire.h; separate so each direction's rules can be read in one place).
#pragma once

#include "core/providers/translate_wire.h"

#include <QJsonArray>
#include <QJsonObject>

namespace airlock::translate {

// OpenAI chat request -> Anthropic messages request. Error text when not faithful.
QJsonObject openAiToAnthropicRequest(const QJsonObject &in, const QByteArray &model, bool stream,
                                     QString *error);
QJsonObject anthropicToOpenAiResponse(const QJsonObject &in);
std::unique_ptr<StreamTranslator> anthropicToOpenAiStream(bool includeUsage);

// Anthropic messages request -> OpenAI chat request.
QJsonObject anthropicToOpenAiRequest(const QJsonObject &in, const QByteArray &model, bool stream,
                                     QString *error);
QJsonObject openAiToAnthropicResponse(const QJsonObject &in);
std::unique_ptr<StreamTranslator> openAiToAnthropicStream();

// Shared helpers.
QByteArray sseData(const QJsonObject &o);                     // "data: {...}\n\n"
QByteArray sseEvent(const char *name, const QJsonObject &o);  // "event: x\ndata: {...}\n\n"
QString openAiFinishFromAnthropic(const QString &stopReason);
QString anthropicStopFromOpenAi(const QString &finishReason);

// Appends a turn {"role": role, itemsKey: items} to turns, or merges items into the last turn
// when it has the same role: Anthropic ("content") and Gemini ("parts") want alternating roles.
void appendTurnMergingRole(QJsonArray *turns, const QString &role, const QJsonArray &items,
                           QLatin1String itemsKey);
QString textOfContent(const QJsonValue &content, bool *onlyText);  // string or text parts joined

}  // namespace airlock::translate
