// Windows: finds the process owning the client end of a loopback TCP connection with
// GetExtendedTcpTable(TCP_TABLE_OWNER_PID_ALL) (IPv4 and IPv6), then its image path and command
// line. NOT COMPILED OR TESTED in CI yet (no Windows runner here).
#include "platform/process_resolver.h"

#include <vector>

#include <iphlpapi.h>
#include <shellapi.h>
#include <windows.h>
#include <winsock2.h>
#include <ws2tcpip.h>

#pragma comment(lib, "iphlpapi.lib")

namespace airlock {

namespace {

template <typename Table>
std::vector<char> tcpTable(ULONG family) {
    DWORD size = 0;
    GetExtendedTcpTable(nullptr, &size, FALSE, family, TCP_TABLE_OWNER_PID_ALL, 0);
    std::vector<char> buf;
    for (int attempt = 0; attempt < 3; ++attempt) {
        buf.resize(size + 4096);
        size = DWORD(buf.size());
        if (GetExtendedTcpTable(buf.data(), &size, FALSE, family, TCP_TABLE_OWNER_PID_ALL, 0) ==
            NO_ERROR)
            return buf;
    }
    return {};
}

QString imagePath(DWORD pid) {
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    if (!h) return {};
    wchar_t path[MAX_PATH * 4] = {};
    DWORD len = DWORD(std::size(path));
    QString out;
    if (QueryFullProcessImageNameW(h, 0, path, &len)) out = QString::fromWCharArray(path, int(len));
    CloseHandle(h);
    return out;
}

class WinProcessResolver final : public ProcessResolver {
public:
    std::optional<ProcessInfo> resolveTcpClient(const QHostAddress &clientAddr, quint16 clientPort,
                                                const QHostAddress &serverAddr,
                                                quint16 serverPort) override {
        DWORD pid = 0;
        bool found = false;
        if (clientAddr.protocol() == QAbstractSocket::IPv4Protocol) {
            const std::vector<char> buf = tcpTable<MIB_TCPTABLE_OWNER_PID>(AF_INET);
            if (buf.empty()) return std::nullopt;
            const auto *t = reinterpret_cast<const MIB_TCPTABLE_OWNER_PID *>(buf.data());
            for (DWORD i = 0; i < t->dwNumEntries && !found; ++i) {
                const MIB_TCPROW_OWNER_PID &r = t->table[i];
                if (ntohs(u_short(r.dwLocalPort)) == clientPort &&
                    ntohs(u_short(r.dwRemotePort)) == serverPort &&
                    ntohl(r.dwLocalAddr) == clientAddr.toIPv4Address() &&
                    ntohl(r.dwRemoteAddr) == serverAddr.toIPv4Address()) {
                    pid = r.dwOwningPid;
                    found = true;
                }
            }
        } else {
            const std::vector<char> buf = tcpTable<MIB_TCP6TABLE_OWNER_PID>(AF_INET6);
            if (buf.empty()) return std::nullopt;
            const auto *t = reinterpret_cast<const MIB_TCP6TABLE_OWNER_PID *>(buf.data());
            const Q_IPV6ADDR ca = clientAddr.toIPv6Address();
            const Q_IPV6ADDR sa = serverAddr.toIPv6Address();
            for (DWORD i = 0; i < t->dwNumEntries && !found; ++i) {
                const MIB_TCP6ROW_OWNER_PID &r = t->table[i];
                if (ntohs(u_short(r.dwLocalPort)) == clientPort &&
                    ntohs(u_short(r.dwRemotePort)) == serverPort &&
                    memcmp(r.ucLocalAddr, ca.c, 16) == 0 && memcmp(r.ucRemoteAddr, sa.c, 16) == 0) {
                    pid = r.dwOwningPid;
                    found = true;
                }
            }
        }
        if (!found) return std::nullopt;
        ProcessInfo info;
        info.pid = qint64(pid);
        info.exePath = imagePath(pid);
        // Another process's command line needs NtQueryInformationProcess; the image name is
        // enough for native apps, and interpreters fall back to their executable name.
        info.app = appNameFor(info.exePath, info.argv);
        return info;
    }
};

}  // namespace

std::unique_ptr<ProcessResolver> ProcessResolver::create() {
    return std::make_unique<WinProcessResolver>();
}

}  // namespace airlock
