#include "core/http/sse_framer.h"
#include "core/providers/error_body.h"
#include "core/providers/usage_accumulator.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace airlock;

Q_DECLARE_METATYPE(airlock::ErrorKind)

namespace {

QJsonObject parseObject(const QByteArray &json) {
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError) {
        qWarning("not JSON (%s): %s", qPrintable(error.errorString()), json.constData());
        return {};
    }
    return doc.object();
}

}  // namespace

class TestErrorBody : public QObject {
    Q_OBJECT

private slots:
    void mapsKindsToStatusesAndProviderTypes_data() {
        QTest::addColumn<ErrorKind>("kind");
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("openAiType");
        QTest::addColumn<QString>("openAiCode");  // empty: null
        QTest::addColumn<QString>("anthropicType");
        QTest::addColumn<QString>("geminiStatus");
        QTest::newRow("invalid") << ErrorKind::InvalidRequest << 400 << "invalid_request_error"
                                 << ""
                                 << "invalid_request_error"
                                 << "INVALID_ARGUMENT";
        QTest::newRow("auth") << ErrorKind::Authentication << 401 << "invalid_request_error"
                              << "invalid_api_key"
                              << "authentication_error"
                              << "UNAUTHENTICATED";
        QTest::newRow("forbidden") << ErrorKind::PermissionDenied << 403 << "request_forbidden"
                                   << ""
                                   << "permission_error"
                                   << "PERMISSION_DENIED";
        QTest::newRow("not found") << ErrorKind::NotFound << 404 << "invalid_request_error"
                                   << ""
                                   << "not_found_error"
                                   << "NOT_FOUND";
        QTest::newRow("too large") << ErrorKind::PayloadTooLarge << 413 << "invalid_request_error"
                                   << ""
                                   << "request_too_large"
                                   << "INVALID_ARGUMENT";
        QTest::newRow("rate") << ErrorKind::RateLimited << 429 << "requests"
                              << "rate_limit_exceeded"
                              << "rate_limit_error"
                              << "RESOURCE_EXHAUSTED";
        QTest::newRow("quota") << ErrorKind::QuotaExceeded << 429 << "insufficient_quota"
                               << "insufficient_quota"
                               << "rate_limit_error"
                               << "RESOURCE_EXHAUSTED";
        QTest::newRow("upstream") << ErrorKind::UpstreamError << 502 << "server_error"
                                  << ""
                                  << "api_error"
                                  << "UNAVAILABLE";
        QTest::newRow("unavailable") << ErrorKind::Unavailable << 503 << "server_error"
                                     << ""
                                     << "overloaded_error"
                                     << "UNAVAILABLE";
        QTest::newRow("timeout") << ErrorKind::Timeout << 504 << "server_error"
                                 << ""
                                 << "timeout_error"
                                 << "DEADLINE_EXCEEDED";
        QTest::newRow("internal") << ErrorKind::Internal << 500 << "server_error"
                                  << ""
                                  << "api_error"
                                  << "INTERNAL";
    }
    void mapsKindsToStatusesAndProviderTypes() {
        QFETCH(ErrorKind, kind);
        QFETCH(int, status);
        QFETCH(QString, openAiType);
        QFETCH(QString, openAiCode);
        QFETCH(QString, anthropicType);
        QFETCH(QString, geminiStatus);
        const QString message = QStringLiteral("blocked by policy");
        QCOMPARE(errorHttpStatus(kind), status);

        for (const WireFormat format : {WireFormat::OpenAI, WireFormat::Unknown}) {
            const QJsonObject root = parseObject(errorBody(format, kind, message));
            QCOMPARE(root.size(), 1);
            const QJsonObject e = root.value(QLatin1String("error")).toObject();
            QCOMPARE(e.size(), 4);
            QCOMPARE(e.value(QLatin1String("message")).toString(), message);
            QCOMPARE(e.value(QLatin1String("type")).toString(), openAiType);
            QVERIFY(e.contains(QLatin1String("param")));
            QVERIFY(e.value(QLatin1String("param")).isNull());
            if (openAiCode.isEmpty())
                QVERIFY(e.value(QLatin1String("code")).isNull());
            else
                QCOMPARE(e.value(QLatin1String("code")).toString(), openAiCode);
        }

        const QJsonObject anthropic = parseObject(errorBody(WireFormat::Anthropic, kind, message));
        QCOMPARE(anthropic.size(), 2);
        QCOMPARE(anthropic.value(QLatin1String("type")).toString(), QStringLiteral("error"));
        const QJsonObject ae = anthropic.value(QLatin1String("error")).toObject();
        QCOMPARE(ae.size(), 2);
        QCOMPARE(ae.value(QLatin1String("type")).toString(), anthropicType);
        QCOMPARE(ae.value(QLatin1String("message")).toString(), message);

        const QJsonObject gemini = parseObject(errorBody(WireFormat::Gemini, kind, message));
        const QJsonObject ge = gemini.value(QLatin1String("error")).toObject();
        QCOMPARE(ge.size(), 3);
        QCOMPARE(ge.value(QLatin1String("code")).toInt(), status);
        QCOMPARE(ge.value(QLatin1String("message")).toString(), message);
        QCOMPARE(ge.value(QLatin1String("status")).toString(), geminiStatus);
    }

    void keepsDocumentedMemberOrder() {
        QCOMPARE(errorBody(WireFormat::OpenAI, ErrorKind::QuotaExceeded, QStringLiteral("Budget")),
                 QByteArray("{\"error\":{\"message\":\"Budget\",\"type\":\"insufficient_quota\","
                            "\"param\":null,\"code\":\"insufficient_quota\"}}"));
        QCOMPARE(errorBody(WireFormat::Anthropic, ErrorKind::RateLimited, QStringLiteral("Slow")),
                 QByteArray("{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
                            "\"message\":\"Slow\"}}"));
        QCOMPARE(
            errorBody(WireFormat::Gemini, ErrorKind::NotFound, QStringLiteral("No")),
            QByteArray("{\"error\":{\"code\":404,\"message\":\"No\",\"status\":\"NOT_FOUND\"}}"));
    }

    void explicitCodeOverridesDefault() {
        const QJsonObject e =
            parseObject(errorBody(WireFormat::OpenAI, ErrorKind::PermissionDenied,
                                  QStringLiteral("model not allowed"), "model_not_allowed"))
                .value(QLatin1String("error"))
                .toObject();
        QCOMPARE(e.value(QLatin1String("code")).toString(), QStringLiteral("model_not_allowed"));
        // A code with quotes cannot break the JSON.
        const QByteArray odd = errorBody(WireFormat::OpenAI, ErrorKind::InvalidRequest,
                                         QStringLiteral("x"), "a\"b\\c");
        QCOMPARE(parseObject(odd)
                     .value(QLatin1String("error"))
                     .toObject()
                     .value(QLatin1String("code"))
                     .toString(),
                 QStringLiteral("a\"b\\c"));
    }

    void escapesMessagesProperly() {
        QString message = QStringLiteral("quote \" backslash \\ newline \n tab \t cr \r ");
        message += QChar(0x01);
        message += QStringLiteral(" unicode \u00e9\u4e2d\U0001F600 </script>");
        for (const WireFormat format :
             {WireFormat::OpenAI, WireFormat::Anthropic, WireFormat::Gemini}) {
            const QByteArray body = errorBody(format, ErrorKind::PermissionDenied, message);
            QVERIFY(!body.contains('\n'));
            QVERIFY(body.contains("\\u0001"));
            const QJsonObject e = parseObject(body).value(QLatin1String("error")).toObject();
            QCOMPARE(e.value(QLatin1String("message")).toString(), message);
        }
    }

    void sseEventsFrameAndParseInEachFormat() {
        const QString message = QStringLiteral("upstream \"gone\"");
        struct Case {
            WireFormat format;
            QByteArray eventName;
            QByteArray expectedType;
        };
        for (const Case &c : {Case{WireFormat::Anthropic, "error", "api_error"},
                              Case{WireFormat::OpenAI, "", "server_error"},
                              Case{WireFormat::Gemini, "", "UNAVAILABLE"}}) {
            const QByteArray raw = errorSseEvent(c.format, ErrorKind::UpstreamError, message);
            QVERIFY(raw.endsWith("\n\n"));
            SseFramer framer;
            const auto events = framer.feed(raw);
            QCOMPARE(events.size(), 1);
            QVERIFY(framer.pending().isEmpty());
            QCOMPARE(events[0].event, c.eventName);
            QCOMPARE(events[0].data, errorBody(c.format, ErrorKind::UpstreamError, message));

            // Our own error events read back as errors through the accumulator.
            UsageAccumulator acc(c.format, EndpointKind::Passthrough);
            acc.addSseEvent(events[0]);
            QCOMPARE(acc.errorType(), c.expectedType);
            QCOMPARE(acc.errorMessage(), message.toUtf8());
        }
    }
};

QTEST_GUILESS_MAIN(TestErrorBody)
#include "tst_error_body.moc"
