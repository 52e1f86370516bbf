// Linux ProcessResolver: the kernel names the socket's inode and owner uid (sock_diag netlink,
// tens of µs), then /proc/<pid>/fd maps the inode to the process that holds it.
#include "platform/process_resolver.h"

#include <QFile>
#include <QHash>
#include <QLoggingCategory>
#include <QtEndian>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

Q_LOGGING_CATEGORY(lcAttribution, "airlock.attribution")

namespace airlock {

namespace {

// The kernel answers a sock_diag request before sendto() returns; the timeout only guards
// against a wedged socket.
constexpr int netlinkReplyTimeoutMs = 250;
constexpr size_t netlinkReplyBufferBytes = 8192;
// Stale replies (from a request that timed out earlier) are skipped, but never forever.
constexpr int maxNetlinkReadsPerQuery = 8;
// Every socket inode seen during /proc scans is remembered; past this the cache starts over.
constexpr qsizetype maxCachedInodes = 16384;
// Processes that owned recent connections are scanned first: clients reconnect.
constexpr size_t maxRecentOwnerPids = 16;
// The command line is only needed to name the app; keep memory bounded.
constexpr qsizetype maxCmdlineBytes = qsizetype(32) * 1024;
// A line of /proc/net/tcp6 is ~150 bytes.
constexpr qint64 maxProcNetLineBytes = 512;
// Set to 1 to skip sock_diag and parse /proc/net/tcp{,6} (diagnostics; tests use it too).
constexpr char procfsOnlyEnvVar[] = "AIRLOCK_ATTRIBUTION_PROCFS";

class FileDescriptor {
public:
    explicit FileDescriptor(int fd = -1) : m_fd(fd) {}
    ~FileDescriptor() { reset(); }
    FileDescriptor(const FileDescriptor &) = delete;
    FileDescriptor &operator=(const FileDescriptor &) = delete;
    [[nodiscard]] int get() const { return m_fd; }
    [[nodiscard]] bool valid() const { return m_fd >= 0; }
    void reset(int fd = -1) {
        if (m_fd >= 0) ::close(m_fd);
        m_fd = fd;
    }

private:
    int m_fd;
};

// One TCP connection from the point of view of its client socket, in kernel byte order.
struct ConnectionKey {
    int family = AF_UNSPEC;
    std::array<quint32, 4> local{};  // network byte order words
    std::array<quint32, 4> remote{};
    quint16 localPort = 0;  // host byte order
    quint16 remotePort = 0;
};

std::optional<ConnectionKey> keyFor(const QHostAddress &clientAddr, quint16 clientPort,
                                    const QHostAddress &serverAddr, quint16 serverPort) {
    if (clientAddr.isNull() || serverAddr.isNull() || clientPort == 0 || serverPort == 0)
        return std::nullopt;
    ConnectionKey key;
    key.localPort = clientPort;
    key.remotePort = serverPort;
    // v4-mapped IPv6 (a dual-stack listener's view of a v4 client) is looked up as IPv4: the
    // kernel hashes such connections by their v4 addresses.
    bool clientV4 = false;
    bool serverV4 = false;
    const quint32 client4 = clientAddr.toIPv4Address(&clientV4);
    const quint32 server4 = serverAddr.toIPv4Address(&serverV4);
    if (clientV4 != serverV4) return std::nullopt;
    if (clientV4) {
        key.family = AF_INET;
        key.local[0] = qToBigEndian(client4);
        key.remote[0] = qToBigEndian(server4);
        return key;
    }
    if (clientAddr.protocol() != QAbstractSocket::IPv6Protocol ||
        serverAddr.protocol() != QAbstractSocket::IPv6Protocol)
        return std::nullopt;
    key.family = AF_INET6;
    const Q_IPV6ADDR client6 = clientAddr.toIPv6Address();
    const Q_IPV6ADDR server6 = serverAddr.toIPv6Address();
    std::memcpy(key.local.data(), client6.c, sizeof(client6.c));
    std::memcpy(key.remote.data(), server6.c, sizeof(server6.c));
    return key;
}

struct SocketOwner {
    quint64 inode = 0;
    qint64 uid = -1;
    bool listening = false;
};

enum class LookupStatus { Found, NotFound, Failed };

struct Lookup {
    LookupStatus status = LookupStatus::Failed;
    SocketOwner owner;
};

// ---- /proc/net/tcp{,6}: the slow path when sock_diag is not usable ----

// The kernel prints each 32-bit word of the address as "%08X" of its in-memory value.
QByteArray procNetHex(const quint32 *words, int count) {
    QByteArray out;
    for (int i = 0; i < count; ++i) {
        out += QByteArray::number(words[i], 16).rightJustified(8, '0').toUpper();
    }
    return out;
}

QByteArray procNetEndpoint(const quint32 *words, int count, quint16 port) {
    return procNetHex(words, count) + ':' +
           QByteArray::number(port, 16).rightJustified(4, '0').toUpper();
}

Lookup lookupInProcNet(const char *path, const QByteArray &local, const QByteArray &remote) {
    QFile file(QString::fromLatin1(path));
    if (!file.open(QIODevice::ReadOnly)) return {LookupStatus::Failed, {}};
    file.readLine(maxProcNetLineBytes);  // header
    while (true) {
        const QByteArray line = file.readLine(maxProcNetLineBytes);
        if (line.isEmpty()) break;
        const QList<QByteArray> fields = line.simplified().split(' ');
        // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
        if (fields.size() < 10 || fields.at(1) != local || fields.at(2) != remote) continue;
        bool uidOk = false;
        bool inodeOk = false;
        SocketOwner owner;
        owner.uid = fields.at(7).toLongLong(&uidOk);
        owner.inode = fields.at(9).toULongLong(&inodeOk);
        if (!uidOk || !inodeOk) continue;
        return {LookupStatus::Found, owner};
    }
    return {LookupStatus::NotFound, {}};
}

Lookup lookupViaProcNet(const ConnectionKey &key) {
    if (key.family == AF_INET6) {
        return lookupInProcNet("/proc/net/tcp6",
                               procNetEndpoint(key.local.data(), 4, key.localPort),
                               procNetEndpoint(key.remote.data(), 4, key.remotePort));
    }
    Lookup v4 =
        lookupInProcNet("/proc/net/tcp", procNetEndpoint(key.local.data(), 1, key.localPort),
                        procNetEndpoint(key.remote.data(), 1, key.remotePort));
    if (v4.status == LookupStatus::Found) return v4;
    // A dual-stack client socket connected to a v4 address is listed with v4-mapped addresses.
    const quint32 mappedPrefix = qToBigEndian(quint32(0x0000ffff));
    const std::array<quint32, 4> local{0, 0, mappedPrefix, key.local[0]};
    const std::array<quint32, 4> remote{0, 0, mappedPrefix, key.remote[0]};
    Lookup v6 = lookupInProcNet("/proc/net/tcp6", procNetEndpoint(local.data(), 4, key.localPort),
                                procNetEndpoint(remote.data(), 4, key.remotePort));
    if (v6.status == LookupStatus::Found || v4.status == LookupStatus::Failed) return v6;
    return v4;
}

// ---- /proc/<pid> ----

bool parseSocketLink(const char *link, ssize_t length, quint64 *inode) {
    static constexpr char prefix[] = "socket:[";
    constexpr ssize_t prefixLength = sizeof(prefix) - 1;
    if (length <= prefixLength + 1 || std::memcmp(link, prefix, prefixLength) != 0 ||
        link[length - 1] != ']')
        return false;
    quint64 value = 0;
    for (ssize_t i = prefixLength; i < length - 1; ++i) {
        if (link[i] < '0' || link[i] > '9') return false;
        value = value * 10 + quint64(link[i] - '0');
    }
    *inode = value;
    return true;
}

QByteArray procPath(qint64 pid, const char *entry) {
    return "/proc/" + QByteArray::number(pid) + '/' + entry;
}

QString readExePath(qint64 pid) {
    std::array<char, 4096> buffer{};
    const ssize_t n = ::readlink(procPath(pid, "exe").constData(), buffer.data(), buffer.size());
    if (n <= 0 || size_t(n) >= buffer.size()) return {};
    QByteArray path(buffer.data(), n);
    // The binary was replaced or removed (package upgrade) while the process runs.
    static constexpr char deleted[] = " (deleted)";
    if (path.endsWith(deleted)) path.chop(sizeof(deleted) - 1);
    return QFile::decodeName(path);
}

QStringList readArgv(qint64 pid) {
    FileDescriptor fd(::open(procPath(pid, "cmdline").constData(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return {};
    QByteArray data(maxCmdlineBytes, Qt::Uninitialized);
    qsizetype used = 0;
    while (used < data.size()) {
        const ssize_t n = ::read(fd.get(), data.data() + used, size_t(data.size() - used));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        used += n;
    }
    data.truncate(used);
    if (data.endsWith('\0')) data.chop(1);
    if (data.isEmpty()) return {};
    QStringList argv;
    for (const QByteArray &arg : data.split('\0')) argv.append(QFile::decodeName(arg));
    return argv;
}

class LinuxProcessResolver final : public ProcessResolver {
public:
    LinuxProcessResolver() {
        if (qEnvironmentVariableIntValue(procfsOnlyEnvVar) == 1) {
            qCInfo(lcAttribution) << "sock_diag disabled by" << procfsOnlyEnvVar;
            return;
        }
        m_useSockDiag = openNetlink() && probeSockDiag();
        if (!m_useSockDiag) {
            m_netlink.reset();
            qCWarning(lcAttribution)
                << "sock_diag is not usable here; attributing connections via /proc/net/tcp";
        }
    }

    // Returns nullopt when no live socket matches (closed, unknown, or orphaned by its process).
    // When the socket exists but its process cannot be seen (another user's process and no
    // permission, or /proc mounted with hidepid), returns pid -1 with the socket's uid and app
    // "unknown", so callers can still tell another user's connection apart.
    std::optional<ProcessInfo> resolveTcpClient(const QHostAddress &clientAddr, quint16 clientPort,
                                                const QHostAddress &serverAddr,
                                                quint16 serverPort) override {
        const std::optional<ConnectionKey> key =
            keyFor(clientAddr, clientPort, serverAddr, serverPort);
        if (!key) return std::nullopt;

        std::lock_guard lock(m_mutex);
        Lookup lookup;
        if (m_useSockDiag) lookup = lookupViaSockDiag(*key);
        if (lookup.status == LookupStatus::Failed) lookup = lookupViaProcNet(*key);
        // Inode 0: the process closed its end (orphaned FIN_WAIT / TIME_WAIT socket). A listener
        // answers only when the client socket is gone and something listens on its old port.
        if (lookup.status != LookupStatus::Found || lookup.owner.inode == 0 ||
            lookup.owner.listening)
            return std::nullopt;

        ProcessInfo info;
        info.uid = lookup.owner.uid;
        info.pid = findPid(lookup.owner.inode, lookup.owner.uid);
        if (info.pid < 0) {
            info.app = appNameFor({}, {});
            return info;
        }
        info.exePath = readExePath(info.pid);
        info.argv = readArgv(info.pid);
        info.app = appNameFor(info.exePath, info.argv);
        return info;
    }

private:
    bool openNetlink() {
        m_netlink.reset(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
        if (!m_netlink.valid()) return false;
        timeval timeout{};
        timeout.tv_sec = netlinkReplyTimeoutMs / 1000;
        timeout.tv_usec = suseconds_t(netlinkReplyTimeoutMs % 1000) * 1000;
        ::setsockopt(m_netlink.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
        return true;
    }

    // Some kernels (containers without the inet_diag module) answer every query with ENOENT,
    // which would look like "no such connection"; a listener of our own must be found.
    bool probeSockDiag() {
        FileDescriptor probe(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!probe.valid()) return false;
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t addrLength = sizeof(addr);
        struct stat st {};
        if (::bind(probe.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0 ||
            ::listen(probe.get(), 1) != 0 ||
            ::getsockname(probe.get(), reinterpret_cast<sockaddr *>(&addr), &addrLength) != 0 ||
            ::fstat(probe.get(), &st) != 0)
            return false;
        ConnectionKey key;
        key.family = AF_INET;
        key.local[0] = addr.sin_addr.s_addr;
        key.localPort = ntohs(addr.sin_port);
        const Lookup lookup = lookupViaSockDiag(key);
        return lookup.status == LookupStatus::Found && lookup.owner.inode == quint64(st.st_ino);
    }

    Lookup lookupViaSockDiag(const ConnectionKey &key) {
        if (!m_netlink.valid() && !openNetlink()) return {LookupStatus::Failed, {}};
        struct {
            nlmsghdr header;
            inet_diag_req_v2 request;
        } message{};
        const quint32 sequence = ++m_sequence;
        message.header.nlmsg_len = sizeof(message);
        message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
        message.header.nlmsg_flags = NLM_F_REQUEST;  // no NLM_F_DUMP: an exact lookup
        message.header.nlmsg_seq = sequence;
        message.request.sdiag_family = quint8(key.family);
        message.request.sdiag_protocol = IPPROTO_TCP;
        message.request.idiag_states = ~0U;
        message.request.id.idiag_sport = htons(key.localPort);
        message.request.id.idiag_dport = htons(key.remotePort);
        std::memcpy(message.request.id.idiag_src, key.local.data(), sizeof(key.local));
        std::memcpy(message.request.id.idiag_dst, key.remote.data(), sizeof(key.remote));
        message.request.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
        message.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

        sockaddr_nl kernel{};
        kernel.nl_family = AF_NETLINK;
        ssize_t sent = -1;
        do {
            sent = ::sendto(m_netlink.get(), &message, sizeof(message), 0,
                            reinterpret_cast<sockaddr *>(&kernel), sizeof(kernel));
        } while (sent < 0 && errno == EINTR);
        if (sent != ssize_t(sizeof(message))) {
            m_netlink.reset();  // reopen next time
            return {LookupStatus::Failed, {}};
        }

        alignas(nlmsghdr) std::array<char, netlinkReplyBufferBytes> buffer;
        for (int read = 0; read < maxNetlinkReadsPerQuery; ++read) {
            const ssize_t received = ::recv(m_netlink.get(), buffer.data(), buffer.size(), 0);
            if (received < 0 && errno == EINTR) continue;
            if (received <= 0) break;
            size_t offset = 0;
            while (offset + sizeof(nlmsghdr) <= size_t(received)) {
                nlmsghdr header;
                std::memcpy(&header, buffer.data() + offset, sizeof(header));
                if (header.nlmsg_len < sizeof(nlmsghdr) ||
                    offset + header.nlmsg_len > size_t(received))
                    break;
                const char *payload = buffer.data() + offset + NLMSG_HDRLEN;
                const size_t payloadLength = header.nlmsg_len - NLMSG_HDRLEN;
                offset += NLMSG_ALIGN(header.nlmsg_len);
                if (header.nlmsg_seq != sequence) continue;  // a late reply to an older query

                if (header.nlmsg_type == NLMSG_ERROR) {
                    nlmsgerr error{};
                    if (payloadLength < sizeof(error)) return {LookupStatus::Failed, {}};
                    std::memcpy(&error, payload, sizeof(error));
                    if (error.error == -ENOENT) return {LookupStatus::NotFound, {}};
                    return {LookupStatus::Failed, {}};
                }
                if (header.nlmsg_type == SOCK_DIAG_BY_FAMILY &&
                    payloadLength >= sizeof(inet_diag_msg)) {
                    inet_diag_msg reply{};
                    std::memcpy(&reply, payload, sizeof(reply));
                    return {LookupStatus::Found,
                            {reply.idiag_inode, qint64(reply.idiag_uid),
                             reply.idiag_state == TCP_LISTEN}};
                }
                if (header.nlmsg_type == NLMSG_DONE) return {LookupStatus::NotFound, {}};
            }
        }
        // No answer: drop the socket so a late reply cannot linger in it.
        m_netlink.reset();
        return {LookupStatus::Failed, {}};
    }

    // ---- inode -> pid ----

    qint64 findPid(quint64 inode, qint64 uid) {
        if (const auto cached = m_inodeOwners.constFind(inode); cached != m_inodeOwners.cend()) {
            if (fdStillHolds(cached->pid, cached->fd, inode)) {
                rememberOwner(cached->pid);
                return cached->pid;
            }
            m_inodeOwners.erase(cached);
        }

        std::vector<qint64> scanned;
        for (const qint64 pid : m_recentOwnerPids) {
            scanned.push_back(pid);
            if (scanProcess(pid, inode)) {
                rememberOwner(pid);
                return pid;
            }
        }

        std::vector<qint64> pids = listPids();
        // Newest processes first: the client that just connected was probably started recently.
        std::sort(pids.begin(), pids.end(), std::greater<>());
        std::vector<qint64> otherUsers;
        for (const qint64 pid : pids) {
            if (std::find(scanned.begin(), scanned.end(), pid) != scanned.end()) continue;
            struct stat st {};
            if (::stat(procPath(pid, "").constData(), &st) != 0) continue;
            if (uid >= 0 && qint64(st.st_uid) != uid) {
                otherUsers.push_back(pid);
                continue;
            }
            if (scanProcess(pid, inode)) {
                rememberOwner(pid);
                return pid;
            }
        }
        // The socket's uid is its creator's; a process may have changed uid or inherited it.
        for (const qint64 pid : otherUsers) {
            if (scanProcess(pid, inode)) {
                rememberOwner(pid);
                return pid;
            }
        }
        return -1;
    }

    static std::vector<qint64> listPids() {
        std::vector<qint64> pids;
        DIR *proc = ::opendir("/proc");
        if (!proc) return pids;
        while (const dirent *entry = ::readdir(proc)) {
            const char *name = entry->d_name;
            if (name[0] < '1' || name[0] > '9') continue;
            char *end = nullptr;
            const long long pid = std::strtoll(name, &end, 10);
            if (end && *end == '\0' && pid > 0) pids.push_back(pid);
        }
        ::closedir(proc);
        return pids;
    }

    static bool fdStillHolds(qint64 pid, int fd, quint64 inode) {
        const QByteArray path = procPath(pid, "fd/") + QByteArray::number(fd);
        std::array<char, 64> link{};
        const ssize_t n = ::readlink(path.constData(), link.data(), link.size());
        quint64 held = 0;
        return n > 0 && size_t(n) < link.size() && parseSocketLink(link.data(), n, &held) &&
               held == inode;
    }

    // Reads every fd of the process, caching each socket inode it holds (a client opening a
    // pool of connections is then answered from the cache), and says whether it holds inode.
    bool scanProcess(qint64 pid, quint64 inode) {
        DIR *fds = ::opendir(procPath(pid, "fd").constData());
        if (!fds) return false;  // gone, or not ours to look at
        const int dirFd = ::dirfd(fds);
        bool found = false;
        std::array<char, 64> link{};
        while (const dirent *entry = ::readdir(fds)) {
            if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
            const ssize_t n = ::readlinkat(dirFd, entry->d_name, link.data(), link.size());
            quint64 held = 0;
            if (n <= 0 || size_t(n) >= link.size() || !parseSocketLink(link.data(), n, &held))
                continue;
            if (m_inodeOwners.size() >= maxCachedInodes) m_inodeOwners.clear();
            m_inodeOwners.insert(held, {pid, std::atoi(entry->d_name)});
            if (held == inode) found = true;
        }
        ::closedir(fds);
        return found;
    }

    void rememberOwner(qint64 pid) {
        const auto it = std::find(m_recentOwnerPids.begin(), m_recentOwnerPids.end(), pid);
        if (it != m_recentOwnerPids.end()) m_recentOwnerPids.erase(it);
        m_recentOwnerPids.push_front(pid);
        if (m_recentOwnerPids.size() > maxRecentOwnerPids) m_recentOwnerPids.pop_back();
    }

    struct FdRef {
        qint64 pid;
        int fd;
    };

    std::mutex m_mutex;
    bool m_useSockDiag = false;
    FileDescriptor m_netlink;
    quint32 m_sequence = 0;
    QHash<quint64, FdRef> m_inodeOwners;
    std::deque<qint64> m_recentOwnerPids;
};

}  // namespace

std::unique_ptr<ProcessResolver> ProcessResolver::create() {
    return std::make_unique<LinuxProcessResolver>();
}

}  // namespace airlock
