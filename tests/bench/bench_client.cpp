// Latency client for benchmarks (plain blocking sockets, so its own jitter stays in microseconds).
//   bench_client seq HOST:PORT N          N sequential keep-alive chat requests -> latency percentiles
//   bench_client ttfb HOST:PORT N         N sequential streaming requests -> time to first body byte
//                                         and mean gap between body reads (inter-chunk delay)
//   bench_client hold HOST:PORT N SECONDS open N concurrent streams, hold them, report when all started
// Options after the positional ones: --body-bytes B (pad the prompt to about B bytes),
// --path P (default /v1/chat/completions), --header "Name: value" (repeatable).
// Prints one JSON object.
#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int connectTo(const std::string &hostPort)
{
    const auto colon = hostPort.rfind(':');
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(uint16_t(std::atoi(hostPort.c_str() + colon + 1)));
    inet_pton(AF_INET, hostPort.substr(0, colon).c_str(), &addr.sin_addr);
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
        std::perror("connect");
        std::exit(1);
    }
    return fd;
}

struct Options {
    size_t bodyBytes = 0;
    std::string path = "/v1/chat/completions";
    std::string headers;
};
Options g_opt;

std::string request(bool stream)
{
    std::string prompt = "hello";
    // Prose-like filler, so content scanners see realistic text rather than one long token.
    static const char *kWords[] = {"the ", "quick ", "brown ", "fox ", "reviews ", "code ", "and ", "tests ", "it. "};
    for (size_t i = 0; prompt.size() < g_opt.bodyBytes; ++i) prompt += kWords[i % 9];
    const std::string body = std::string(R"({"model":"gpt-4o-mini",)") + (stream ? R"("stream":true,)" : "") +
                             R"("messages":[{"role":"user","content":")" + prompt + R"("}]})";
    return "POST " + g_opt.path + " HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
           "Authorization: Bearer sk-bench\r\n" + g_opt.headers + "Content-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
}

Clock::duration g_gapSum{};
long g_gapCount = 0;

// Reads one response; returns the time the first body byte arrived (or the head, if no body).
Clock::time_point readResponse(int fd, std::string &buf)
{
    Clock::time_point firstBody{};
    size_t headEnd = std::string::npos;
    long long contentLength = -1;
    bool chunked = false;
    char tmp[65536];
    for (;;) {
        if (headEnd == std::string::npos) {
            headEnd = buf.find("\r\n\r\n");
            if (headEnd != std::string::npos) {
                const std::string head = buf.substr(0, headEnd);
                std::string lower = head;
                std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
                const auto cl = lower.find("content-length:");
                if (cl != std::string::npos) contentLength = std::atoll(lower.c_str() + cl + 15);
                chunked = lower.find("transfer-encoding: chunked") != std::string::npos;
                if (buf.size() > headEnd + 4) firstBody = Clock::now();
            }
        }
        if (headEnd != std::string::npos) {
            if (contentLength >= 0 && buf.size() >= headEnd + 4 + size_t(contentLength)) {
                buf.erase(0, headEnd + 4 + contentLength);
                return firstBody == Clock::time_point{} ? Clock::now() : firstBody;
            }
            if (chunked) {
                const auto end = buf.find("\r\n0\r\n\r\n", headEnd);
                if (end != std::string::npos) {
                    buf.erase(0, end + 7);
                    return firstBody;
                }
            }
        }
        const auto before = Clock::now();
        const ssize_t n = ::read(fd, tmp, sizeof tmp);
        if (firstBody != Clock::time_point{}) {
            g_gapSum += Clock::now() - before;
            ++g_gapCount;
        }
        if (n <= 0) {
            std::fprintf(stderr, "connection closed\n");
            std::exit(1);
        }
        if (headEnd != std::string::npos && buf.size() <= headEnd + 4 && firstBody == Clock::time_point{})
            firstBody = Clock::now();
        buf.append(tmp, size_t(n));
    }
}

double pct(std::vector<double> v, double p)
{
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, size_t(p * double(v.size())))];
}

void printStats(const char *what, std::vector<double> us)
{
    double sum = 0;
    for (double x : us) sum += x;
    std::printf("{\"%s\":{\"n\":%zu,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"mean_us\":%.1f}}\n", what,
                us.size(), pct(us, 0.5), pct(us, 0.9), pct(us, 0.99), sum / double(us.size()));
}

}  // namespace

int main(int argc, char **argv)
{
    if (argc < 4) {
        std::fprintf(stderr, "usage: bench_client seq|ttfb|hold HOST:PORT N [SECONDS]\n");
        return 2;
    }
    const std::string mode = argv[1];
    const std::string target = argv[2];
    const int n = std::atoi(argv[3]);
    for (int i = 4; i + 1 < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--body-bytes") g_opt.bodyBytes = size_t(std::atoll(argv[++i]));
        else if (a == "--path") g_opt.path = argv[++i];
        else if (a == "--header") g_opt.headers += std::string(argv[++i]) + "\r\n";
    }
    if (mode == "seq" || mode == "ttfb") {
        const bool stream = mode == "ttfb";
        const int fd = connectTo(target);
        const std::string req = request(stream);
        std::string buf;
        std::vector<double> us;
        for (int i = 0; i < n + 50; ++i) {  // 50 warm-up requests are not counted
            const auto t0 = Clock::now();
            if (::write(fd, req.data(), req.size()) != ssize_t(req.size())) return 1;
            const auto first = readResponse(fd, buf);
            const auto t1 = stream ? first : Clock::now();
            if (i >= 50) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
        }
        if (stream && g_gapCount > 0) {
            double sum = 0;
            for (double x : us) sum += x;
            std::sort(us.begin(), us.end());
            std::printf("{\"ttfb\":{\"n\":%zu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"mean_us\":%.1f,\"chunk_gap_mean_us\":%.1f}}\n",
                        us.size(), pct(us, 0.5), pct(us, 0.99), sum / double(us.size()),
                        std::chrono::duration<double, std::micro>(g_gapSum).count() / double(g_gapCount));
            return 0;
        }
        printStats(stream ? "ttfb" : "latency", us);
        return 0;
    }
    if (mode == "hold") {
        const int seconds = argc > 4 && argv[4][0] != '-' ? std::atoi(argv[4]) : 5;
        std::vector<int> fds;
        const std::string req = request(true);
        for (int i = 0; i < n; ++i) {
            const int fd = connectTo(target);
            if (::write(fd, req.data(), req.size()) != ssize_t(req.size())) return 1;
            fds.push_back(fd);
        }
        // Wait until every stream has produced its first bytes.
        int started = 0;
        char tmp[4096];
        std::vector<bool> seen(size_t(n), false);
        const auto deadline = Clock::now() + std::chrono::seconds(30);
        while (started < n && Clock::now() < deadline) {
            for (int i = 0; i < n; ++i) {
                if (seen[size_t(i)]) continue;
                pollfd p{fds[size_t(i)], POLLIN, 0};
                if (poll(&p, 1, 0) > 0 && ::read(fds[size_t(i)], tmp, sizeof tmp) > 0) {
                    seen[size_t(i)] = true;
                    ++started;
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        std::printf("{\"streams_started\":%d}\n", started);
        std::fflush(stdout);
        // Hold them open (draining) for the measurement window.
        const auto end = Clock::now() + std::chrono::seconds(seconds);
        while (Clock::now() < end) {
            for (int fd : fds) {
                pollfd p{fd, POLLIN, 0};
                while (poll(&p, 1, 0) > 0 && ::read(fd, tmp, sizeof tmp) > 0) {}
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        for (int fd : fds) ::close(fd);
        return 0;
    }
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
}
