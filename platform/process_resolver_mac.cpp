// macOS: finds the process owning the client end of a loopback TCP connection with libproc —
// proc_listpids, then each process's socket fds via proc_pidfdinfo(PROC_PIDFDSOCKETINFO).
// NOT COMPILED OR TESTED in CI yet (no macOS runner here).
#include "platform/process_resolver.h"

#include <QFileInfo>

#include <libproc.h>
#include <netinet/in.h>
#include <sys/proc_info.h>
#include <sys/sysctl.h>
#include <vector>

namespace airlock {

namespace {

constexpr int kMaxPids = 8192;
constexpr int kMaxFdsPerProcess = 16384;

QStringList argvOf(pid_t pid) {
    int mib[3] = {CTL_KERN, KERN_PROCARGS2, pid};
    size_t size = 0;
    if (sysctl(mib, 3, nullptr, &size, nullptr, 0) != 0 || size < sizeof(int)) return {};
    std::vector<char> buf(size);
    if (sysctl(mib, 3, buf.data(), &size, nullptr, 0) != 0) return {};
    int argc = 0;
    memcpy(&argc, buf.data(), sizeof argc);
    size_t pos = sizeof argc;
    while (pos < size && buf[pos] != '\0') ++pos;  // exec path
    while (pos < size && buf[pos] == '\0') ++pos;
    QStringList argv;
    while (pos < size && argv.size() < argc) {
        const char *s = buf.data() + pos;
        const size_t len = strnlen(s, size - pos);
        argv.append(QString::fromUtf8(s, qsizetype(len)));
        pos += len + 1;
    }
    return argv;
}

bool matches(const in_sockinfo &in, const QHostAddress &local, quint16 localPort,
             const QHostAddress &remote, quint16 remotePort) {
    if (ntohs(quint16(in.insi_lport)) != localPort || ntohs(quint16(in.insi_fport)) != remotePort)
        return false;
    QHostAddress l;
    QHostAddress f;
    if (in.insi_vflag & INI_IPV4) {
        l = QHostAddress(ntohl(in.insi_laddr.ina_46.i46a_addr4.s_addr));
        f = QHostAddress(ntohl(in.insi_faddr.ina_46.i46a_addr4.s_addr));
    } else {
        l = QHostAddress(reinterpret_cast<const quint8 *>(&in.insi_laddr.ina_6));
        f = QHostAddress(reinterpret_cast<const quint8 *>(&in.insi_faddr.ina_6));
    }
    return l.isEqual(local, QHostAddress::TolerantConversion) &&
           f.isEqual(remote, QHostAddress::TolerantConversion);
}

class MacProcessResolver final : public ProcessResolver {
public:
    std::optional<ProcessInfo> resolveTcpClient(const QHostAddress &clientAddr, quint16 clientPort,
                                                const QHostAddress &serverAddr,
                                                quint16 serverPort) override {
        std::vector<pid_t> pids(kMaxPids);
        const int bytes =
            proc_listpids(PROC_ALL_PIDS, 0, pids.data(), int(pids.size() * sizeof(pid_t)));
        if (bytes <= 0) return std::nullopt;
        const int count = bytes / int(sizeof(pid_t));
        for (int i = 0; i < count; ++i) {
            const pid_t pid = pids[i];
            if (pid <= 0) continue;
            const int fdBytes = proc_pidinfo(pid, PROC_PIDLISTFDS, 0, nullptr, 0);
            if (fdBytes <= 0) continue;
            std::vector<proc_fdinfo> fds(
                size_t(std::min(fdBytes / int(sizeof(proc_fdinfo)), kMaxFdsPerProcess)));
            const int got = proc_pidinfo(pid, PROC_PIDLISTFDS, 0, fds.data(),
                                         int(fds.size() * sizeof(proc_fdinfo)));
            for (int j = 0; j < got / int(sizeof(proc_fdinfo)); ++j) {
                if (fds[size_t(j)].proc_fdtype != PROX_FDTYPE_SOCKET) continue;
                socket_fdinfo si;
                if (proc_pidfdinfo(pid, fds[size_t(j)].proc_fd, PROC_PIDFDSOCKETINFO, &si,
                                   sizeof si) != sizeof si)
                    continue;
                if (si.psi.soi_kind != SOCKINFO_TCP) continue;
                if (!matches(si.psi.soi_proto.pri_tcp.tcpsi_ini, clientAddr, clientPort, serverAddr,
                             serverPort))
                    continue;
                ProcessInfo info;
                info.pid = pid;
                char path[PROC_PIDPATHINFO_MAXSIZE] = {};
                if (proc_pidpath(pid, path, sizeof path) > 0)
                    info.exePath = QString::fromUtf8(path);
                proc_bsdshortinfo bsd;
                if (proc_pidinfo(pid, PROC_PIDT_SHORTBSDINFO, 0, &bsd, sizeof bsd) == sizeof bsd)
                    info.uid = bsd.pbsi_uid;
                info.argv = argvOf(pid);
                info.app = appNameFor(info.exePath, info.argv);
                return info;
            }
        }
        return std::nullopt;
    }
};

}  // namespace

std::unique_ptr<ProcessResolver> ProcessResolver::create() {
    return std::make_unique<MacProcessResolver>();
}

}  // namespace airlock
