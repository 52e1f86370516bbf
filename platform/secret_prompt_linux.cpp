#include "platform/secret_prompt.h"

#include <termios.h>
#include <unistd.h>
#include <cstdio>
#include <string>

namespace airlock {

QByteArray readSecretLine(const QString &prompt) {
    const bool tty = ::isatty(STDIN_FILENO);
    termios saved{};
    if (tty) {
        std::fprintf(stderr, "%s", qPrintable(prompt));
        std::fflush(stderr);
        ::tcgetattr(STDIN_FILENO, &saved);
        termios quiet = saved;
        quiet.c_lflag &= ~tcflag_t(ECHO);
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    std::string line;
    int c;
    while ((c = std::fgetc(stdin)) != EOF && c != '\n') line.push_back(char(c));
    if (tty) {
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        std::fprintf(stderr, "\n");
    }
    QByteArray out = QByteArray::fromStdString(line).trimmed();
    std::fill(line.begin(), line.end(), '\0');
    return out;
}

}  // namespace airlock
