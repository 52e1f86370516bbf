// airlockd assembled: loads configuration, opens the ledger, starts attribution, key loading and
// the proxy server. The executable's main() only parses flags and runs this.
#pragma once

#include "core/config/config.h"

#include <QObject>
#include <QStringList>
#include <memory>

namespace airlock {

struct DaemonOptions {
    QString configPath;        // --config; empty: the user config file when it exists
    QString listen;            // --listen; empty: from config
    QString dataDir;           // --data-dir; empty: platform default
    QStringList upstreams;     // --upstream FORMAT=BASE_URL, repeatable
};

// Builds the effective configuration: defaults, then the user (or --config) file, then the
// admin-managed file, then flags. Shared by the daemon and `--check-config`.
bool buildConfig(const DaemonOptions &options, Config *config, QString *error);

class Daemon : public QObject {
    Q_OBJECT
public:
    explicit Daemon(QObject *parent = nullptr);
    ~Daemon() override;

    bool start(const DaemonOptions &options, QString *error);
    // Stops accepting, flushes the ledger, removes the runtime file.
    void stop();
    quint16 port() const;

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

}  // namespace airlock
