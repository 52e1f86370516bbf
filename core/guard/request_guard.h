// Applies guardrails to a request body of any supported format: scans every string the caller
// sends upstream (messages, tool results, tool arguments, prompts, inputs) and redacts in place.
#pragma once

#include "core/guard/content_scanner.h"

#include <QByteArray>
#include <QString>
#include <QStringList>

namespace airlock {

struct GuardOutcome {
    bool parsed = true;         // false: the body could not be scanned (the caller must block)
    bool blocked = false;       // a match whose action is block
    QString blockRule;          // detector or pattern name that blocked
    QString blockWhere;         // JSON path of the text that blocked, e.g. messages[1].content
    QStringList redactedRules;  // distinct rules that redacted something
    QStringList warnedRules;    // distinct rules with action warn
    int matchCount = 0;
    bool bodyChanged = false;  // *body holds the redacted JSON
};

// Scans the JSON body. With `applyRedaction` redact matches are replaced in *body by
// "[REDACTED:<rule>]" (the body stays valid JSON). Block matches are only reported.
GuardOutcome guardRequestBody(const ContentScanner &scanner, QByteArray *body, bool applyRedaction);

}  // namespace airlock
