// ProcessResolver: finds the process on the client end of a loopback connection, in this process
// and in a child process, over IPv4, IPv6 and v4-mapped addresses.
#include <QtTest>

#include <QFileInfo>
#include <QProcess>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <unistd.h>

#include "platform/process_resolver.h"

using airlock::ProcessInfo;
using airlock::ProcessResolver;

namespace {

constexpr int connectTimeoutMs = 5000;
constexpr int childStartTimeoutMs = 20000;

// A connected pair inside this process: the client socket and the server's accepted end.
struct LoopbackPair {
    QTcpServer server;
    QTcpSocket client;
    std::unique_ptr<QTcpSocket> accepted;

    bool open(const QHostAddress &listenOn, const QHostAddress &connectTo) {
        if (!server.listen(listenOn, 0)) return false;
        client.connectToHost(connectTo, server.serverPort());
        if (!client.waitForConnected(connectTimeoutMs)) return false;
        if (!server.hasPendingConnections() && !server.waitForNewConnection(connectTimeoutMs))
            return false;
        accepted.reset(server.nextPendingConnection());
        return accepted != nullptr;
    }
};

std::optional<ProcessInfo> resolvePeer(ProcessResolver &resolver, const QTcpSocket &accepted) {
    return resolver.resolveTcpClient(accepted.peerAddress(), accepted.peerPort(),
                                     accepted.localAddress(), accepted.localPort());
}

QString canonical(const QString &path) {
    return QFileInfo(path).canonicalFilePath();
}

void verifyIsThisProcess(const std::optional<ProcessInfo> &info) {
    QVERIFY(info.has_value());
    QCOMPARE(info->pid, QCoreApplication::applicationPid());
    QCOMPARE(info->uid, qint64(::geteuid()));
    QCOMPARE(canonical(info->exePath), canonical(QCoreApplication::applicationFilePath()));
    QVERIFY(!info->argv.isEmpty());
    QVERIFY(info->argv.first().endsWith(QLatin1String("tst_process_resolver")));
    QCOMPARE(info->app, QStringLiteral("tst_process_resolver"));
}

bool ipv6LoopbackAvailable() {
    QTcpServer probe;
    return probe.listen(QHostAddress::LocalHostIPv6, 0);
}

}  // namespace

class TstProcessResolver : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void resolvesOwnProcessOverIpv4();
    void resolvesOwnProcessOverIpv6();
    void resolvesV4MappedAddressesOfDualStackListener();
    void resolvesChildNodeProcessToItsScriptName();
    void resolvesWithProcNetFallback();
    void returnsNulloptForUnknownPorts();
    void returnsNulloptAfterClientClosed();
    void returnsNulloptForInvalidOrMixedAddresses();
    void resolvesFromSeveralThreads();
    void measuresMeanResolveTime();

private:
    std::unique_ptr<ProcessResolver> m_resolver;
};

void TstProcessResolver::initTestCase() {
    m_resolver = ProcessResolver::create();
    QVERIFY(m_resolver);
}

void TstProcessResolver::resolvesOwnProcessOverIpv4() {
    LoopbackPair pair;
    QVERIFY(pair.open(QHostAddress::LocalHost, QHostAddress::LocalHost));
    verifyIsThisProcess(resolvePeer(*m_resolver, *pair.accepted));
    if (QTest::currentTestFailed()) return;
    QCOMPARE(pair.accepted->peerPort(), pair.client.localPort());
}

void TstProcessResolver::resolvesOwnProcessOverIpv6() {
    if (!ipv6LoopbackAvailable()) QSKIP("IPv6 loopback (::1) is not available on this machine");
    LoopbackPair pair;
    QVERIFY(pair.open(QHostAddress::LocalHostIPv6, QHostAddress::LocalHostIPv6));
    QCOMPARE(pair.accepted->peerAddress().protocol(), QAbstractSocket::IPv6Protocol);
    verifyIsThisProcess(resolvePeer(*m_resolver, *pair.accepted));
}

void TstProcessResolver::resolvesV4MappedAddressesOfDualStackListener() {
    LoopbackPair pair;
    QVERIFY(pair.open(QHostAddress::Any, QHostAddress::LocalHost));
    // Whatever form Qt reports for a dual-stack listener, it must resolve.
    verifyIsThisProcess(resolvePeer(*m_resolver, *pair.accepted));
    if (QTest::currentTestFailed()) return;

    // And the explicit v4-mapped form ("::ffff:127.0.0.1") must resolve as well.
    const QHostAddress mappedClient(
        QStringLiteral("::ffff:") +
        QHostAddress(pair.client.localAddress().toIPv4Address()).toString());
    const QHostAddress mappedServer(QStringLiteral("::ffff:127.0.0.1"));
    QCOMPARE(mappedClient.protocol(), QAbstractSocket::IPv6Protocol);
    verifyIsThisProcess(m_resolver->resolveTcpClient(mappedClient, pair.client.localPort(),
                                                     mappedServer, pair.server.serverPort()));
}

void TstProcessResolver::resolvesChildNodeProcessToItsScriptName() {
    const QString node = QStandardPaths::findExecutable(QStringLiteral("node"));
    if (node.isEmpty()) QSKIP("node is not installed; the child-process case needs it");

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString script = dir.filePath(QStringLiteral("attrib_probe.mjs"));
    {
        QFile file(script);
        QVERIFY(file.open(QIODevice::WriteOnly));
        // Connects, then stays until the test closes the connection.
        file.write(
            "import net from 'node:net';\n"
            "const socket = net.connect(Number(process.argv[2]), '127.0.0.1');\n"
            "socket.on('data', () => {});\n"
            "socket.on('close', () => process.exit(0));\n"
            "socket.on('error', () => process.exit(2));\n");
    }

    QTcpServer server;
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    QProcess child;
    child.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    child.start(node,
                {QStringLiteral("--no-warnings"), script, QString::number(server.serverPort())});
    QVERIFY2(child.waitForStarted(childStartTimeoutMs), qPrintable(child.errorString()));
    QVERIFY2(server.waitForNewConnection(childStartTimeoutMs), "node did not connect in time");
    std::unique_ptr<QTcpSocket> accepted(server.nextPendingConnection());
    QVERIFY(accepted);

    const std::optional<ProcessInfo> info = resolvePeer(*m_resolver, *accepted);
    QVERIFY(info.has_value());
    QCOMPARE(info->pid, child.processId());
    QCOMPARE(info->uid, qint64(::geteuid()));
    QCOMPARE(canonical(info->exePath), canonical(node));
    QCOMPARE(info->argv.value(1), QStringLiteral("--no-warnings"));
    QCOMPARE(info->argv.value(2), script);
    QCOMPARE(info->app, QStringLiteral("attrib_probe"));

    // The same process again: answered from the recent-owner list or the inode cache.
    QCOMPARE(resolvePeer(*m_resolver, *accepted)->pid, child.processId());

    accepted->close();
    QVERIFY(child.waitForFinished(childStartTimeoutMs));
    QCOMPARE(child.exitCode(), 0);
}

void TstProcessResolver::resolvesWithProcNetFallback() {
    qputenv("AIRLOCK_ATTRIBUTION_PROCFS", "1");
    std::unique_ptr<ProcessResolver> procfs = ProcessResolver::create();
    qunsetenv("AIRLOCK_ATTRIBUTION_PROCFS");

    LoopbackPair pair;
    QVERIFY(pair.open(QHostAddress::LocalHost, QHostAddress::LocalHost));
    verifyIsThisProcess(resolvePeer(*procfs, *pair.accepted));
    if (QTest::currentTestFailed()) return;

    LoopbackPair dualStack;
    QVERIFY(dualStack.open(QHostAddress::Any, QHostAddress::LocalHost));
    verifyIsThisProcess(resolvePeer(*procfs, *dualStack.accepted));
    if (QTest::currentTestFailed()) return;

    if (ipv6LoopbackAvailable()) {
        LoopbackPair v6;
        QVERIFY(v6.open(QHostAddress::LocalHostIPv6, QHostAddress::LocalHostIPv6));
        verifyIsThisProcess(resolvePeer(*procfs, *v6.accepted));
    }
    QVERIFY(!procfs->resolveTcpClient(QHostAddress::LocalHost, 1, QHostAddress::LocalHost, 2));
}

void TstProcessResolver::returnsNulloptForUnknownPorts() {
    // Two ports nothing uses: bound once, then released.
    quint16 ports[2] = {0, 0};
    for (quint16 &port : ports) {
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
        port = probe.serverPort();
    }
    QVERIFY(!m_resolver->resolveTcpClient(QHostAddress::LocalHost, ports[0],
                                          QHostAddress::LocalHost, ports[1]));

    // A live server port with a client port that is not connected to it.
    LoopbackPair pair;
    QVERIFY(pair.open(QHostAddress::LocalHost, QHostAddress::LocalHost));
    QVERIFY(!m_resolver->resolveTcpClient(QHostAddress::LocalHost, ports[0],
                                          QHostAddress::LocalHost, pair.server.serverPort()));
    // The server's own end, asked for as if it were a client, is not the client either.
    QVERIFY(!m_resolver->resolveTcpClient(QHostAddress::LocalHost, pair.server.serverPort(),
                                          QHostAddress::LocalHost, ports[1]));
}

void TstProcessResolver::returnsNulloptAfterClientClosed() {
    LoopbackPair pair;
    QVERIFY(pair.open(QHostAddress::LocalHost, QHostAddress::LocalHost));
    const QHostAddress peer = pair.accepted->peerAddress();
    const quint16 peerPort = pair.accepted->peerPort();
    QVERIFY(m_resolver->resolveTcpClient(peer, peerPort, pair.accepted->localAddress(),
                                         pair.accepted->localPort()));

    pair.client.abort();  // the client's socket is gone from this process
    QTRY_VERIFY_WITH_TIMEOUT(!m_resolver->resolveTcpClient(peer, peerPort, QHostAddress::LocalHost,
                                                           pair.server.serverPort()),
                             connectTimeoutMs);
}

void TstProcessResolver::returnsNulloptForInvalidOrMixedAddresses() {
    QVERIFY(!m_resolver->resolveTcpClient(QHostAddress(), 1234, QHostAddress::LocalHost, 80));
    QVERIFY(!m_resolver->resolveTcpClient(QHostAddress::LocalHost, 0, QHostAddress::LocalHost, 80));
    QVERIFY(!m_resolver->resolveTcpClient(QHostAddress::LocalHost, 1234,
                                          QHostAddress::LocalHostIPv6, 80));
}

void TstProcessResolver::resolvesFromSeveralThreads() {
    LoopbackPair pair;
    QVERIFY(pair.open(QHostAddress::LocalHost, QHostAddress::LocalHost));
    const QHostAddress client = pair.accepted->peerAddress();
    const quint16 clientPort = pair.accepted->peerPort();
    const QHostAddress server = pair.accepted->localAddress();
    const quint16 serverPort = pair.accepted->localPort();

    constexpr int threadCount = 4;
    constexpr int callsPerThread = 50;
    std::atomic<int> correct{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < threadCount; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < callsPerThread; ++i) {
                const auto info =
                    m_resolver->resolveTcpClient(client, clientPort, server, serverPort);
                if (info && info->pid == QCoreApplication::applicationPid()) ++correct;
            }
        });
    }
    for (std::thread &thread : threads) thread.join();
    QCOMPARE(correct.load(), threadCount * callsPerThread);
}

void TstProcessResolver::measuresMeanResolveTime() {
    constexpr int calls = 200;
    constexpr qint64 sanityBoundPerCallNs = 50'000'000;  // 50 ms: catches a hang, not a regression

    LoopbackPair pair;
    QVERIFY(pair.open(QHostAddress::LocalHost, QHostAddress::LocalHost));
    // Fresh connections defeat the inode cache; measure both kinds.
    std::unique_ptr<ProcessResolver> fresh = ProcessResolver::create();
    QElapsedTimer timer;
    timer.start();
    const std::optional<ProcessInfo> first = resolvePeer(*fresh, *pair.accepted);
    const qint64 firstNs = timer.nsecsElapsed();
    QVERIFY(first && first->pid == QCoreApplication::applicationPid());

    qint64 totalNs = 0;
    for (int i = 0; i < calls; ++i) {
        timer.restart();
        const std::optional<ProcessInfo> info = resolvePeer(*fresh, *pair.accepted);
        const qint64 ns = timer.nsecsElapsed();
        QVERIFY(info && info->pid == QCoreApplication::applicationPid());
        QVERIFY2(ns < sanityBoundPerCallNs, qPrintable(QStringLiteral("%1 ns").arg(ns)));
        totalNs += ns;
    }

    qint64 newConnectionsNs = 0;
    constexpr int newConnections = 20;
    for (int i = 0; i < newConnections; ++i) {
        LoopbackPair another;
        QVERIFY(another.open(QHostAddress::LocalHost, QHostAddress::LocalHost));
        timer.restart();
        const std::optional<ProcessInfo> info = resolvePeer(*fresh, *another.accepted);
        newConnectionsNs += timer.nsecsElapsed();
        QVERIFY(info && info->pid == QCoreApplication::applicationPid());
    }
    qInfo(
        "resolveTcpClient: first call %.1f us (cold), mean %.1f us over %d calls on one "
        "connection, mean %.1f us over %d new connections",
        firstNs / 1000.0, totalNs / 1000.0 / calls, calls,
        newConnectionsNs / 1000.0 / newConnections, newConnections);
}

QTEST_GUILESS_MAIN(TstProcessResolver)
#include "tst_process_resolver.moc"
