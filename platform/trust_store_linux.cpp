// Linux: the system store through update-ca-certificates (Debian/Ubuntu layout; p11-kit's
// `trust` reads the same anchors) and every NSS db (Chromium ~/.pki/nssdb, Firefox profiles)
// through certutil when it is installed.
#include "platform/trust_store.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QSaveFile>
#include <QStandardPaths>
#include <QTemporaryFile>

#include <unistd.h>

namespace airlock {

namespace {

constexpr int kToolTimeoutMs = 60'000;

struct ToolResult {
    bool ok = false;
    QString output;
};

ToolResult run(const QString &program, const QStringList &args) {
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(program, args);
    if (!p.waitForStarted(5000))
        return {false, QStringLiteral("%1 could not be started").arg(program)};
    if (!p.waitForFinished(kToolTimeoutMs)) {
        p.kill();
        p.waitForFinished(1000);
        return {false, QStringLiteral("%1 timed out").arg(program)};
    }
    return {p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0,
            QString::fromLocal8Bit(p.readAll()).trimmed().left(500)};
}

QStringList nssDbs(const QString &home) {
    QStringList dbs;
    if (QFileInfo::exists(home + QStringLiteral("/.pki/nssdb/cert9.db")))
        dbs.append(home + QStringLiteral("/.pki/nssdb"));
    const QDir ff(home + QStringLiteral("/.mozilla/firefox"));
    for (const QString &profile : ff.entryList(QDir::Dirs | QDir::NoDotAndDotDot))
        if (QFileInfo::exists(ff.filePath(profile) + QStringLiteral("/cert9.db")))
            dbs.append(ff.filePath(profile));
    return dbs;
}

QByteArray readAll(const QString &path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

}  // namespace

TrustStore::TrustStore(TrustStoreOptions options) : m_opt(std::move(options)) {
    if (m_opt.homeDir.isEmpty()) m_opt.homeDir = QDir::homePath();
}

TrustStoreReport TrustStore::install(const QByteArray &caPem) const {
    TrustStoreReport r;
    const QString file =
        m_opt.linuxSystemDir + QLatin1Char('/') + m_opt.fileBaseName + QStringLiteral(".crt");
    const bool writable = QFileInfo(m_opt.linuxSystemDir).isWritable() ||
                          (!QFileInfo::exists(m_opt.linuxSystemDir) && ::geteuid() == 0);
    if (!writable) {
        r.skipped.append(
            QStringLiteral("system store: needs root; run `sudo airlockctl ca install` "
                           "or copy the PEM from `airlockctl ca export` to %1 and run "
                           "`sudo update-ca-certificates`")
                .arg(file));
    } else {
        QDir().mkpath(m_opt.linuxSystemDir);
        QSaveFile f(file);
        if (!f.open(QIODevice::WriteOnly) || f.write(caPem) != caPem.size() || !f.commit()) {
            r.ok = false;
            r.errors.append(
                QStringLiteral("system store: cannot write %1: %2").arg(file, f.errorString()));
        } else {
            QFile::setPermissions(file, QFileDevice::ReadOwner | QFileDevice::WriteOwner |
                                            QFileDevice::ReadGroup | QFileDevice::ReadOther);
            const ToolResult t =
                run(m_opt.linuxUpdateCommand.value(0), m_opt.linuxUpdateCommand.mid(1));
            if (t.ok)
                r.done.append(QStringLiteral("system store (%1)").arg(file));
            else {
                r.ok = false;
                r.errors.append(
                    QStringLiteral("system store: %1 failed: %2")
                        .arg(m_opt.linuxUpdateCommand.join(QLatin1Char(' ')), t.output));
            }
        }
    }
    const QStringList dbs = nssDbs(m_opt.homeDir);
    const QString certutil = QStandardPaths::findExecutable(QStringLiteral("certutil"));
    if (!dbs.isEmpty() && certutil.isEmpty()) {
        r.skipped.append(
            QStringLiteral("NSS dbs (browsers): certutil is not installed "
                           "(apt install libnss3-tools)"));
    }
    if (!certutil.isEmpty()) {
        QTemporaryFile pem;
        if (pem.open()) {
            pem.write(caPem);
            pem.flush();
            for (const QString &db : dbs) {
                const ToolResult t =
                    run(certutil,
                        {QStringLiteral("-d"), QStringLiteral("sql:") + db, QStringLiteral("-A"),
                         QStringLiteral("-t"), QStringLiteral("C,,"), QStringLiteral("-n"),
                         m_opt.certificateName, QStringLiteral("-i"), pem.fileName()});
                if (t.ok)
                    r.done.append(QStringLiteral("NSS db %1").arg(db));
                else {
                    r.ok = false;
                    r.errors.append(QStringLiteral("NSS db %1: %2").arg(db, t.output));
                }
            }
        }
    }
    return r;
}

TrustStoreReport TrustStore::uninstall(const QByteArray &caPem) const {
    Q_UNUSED(caPem);
    TrustStoreReport r;
    const QString file =
        m_opt.linuxSystemDir + QLatin1Char('/') + m_opt.fileBaseName + QStringLiteral(".crt");
    if (QFileInfo::exists(file)) {
        if (!QFile::remove(file)) {
            r.ok = false;
            r.errors.append(QStringLiteral("system store: cannot remove %1 (needs root: `sudo "
                                           "airlockctl ca uninstall`)")
                                .arg(file));
        } else {
            const ToolResult t = run(m_opt.linuxUpdateCommand.value(0),
                                     m_opt.linuxUpdateCommand.mid(1) << QStringLiteral("--fresh"));
            if (t.ok)
                r.done.append(QStringLiteral("system store (%1 removed)").arg(file));
            else {
                r.ok = false;
                r.errors.append(QStringLiteral("system store: update failed: %1").arg(t.output));
            }
        }
    }
    const QString certutil = QStandardPaths::findExecutable(QStringLiteral("certutil"));
    if (!certutil.isEmpty()) {
        for (const QString &db : nssDbs(m_opt.homeDir)) {
            const ToolResult t =
                run(certutil, {QStringLiteral("-d"), QStringLiteral("sql:") + db,
                               QStringLiteral("-D"), QStringLiteral("-n"), m_opt.certificateName});
            if (t.ok) r.done.append(QStringLiteral("NSS db %1").arg(db));
        }
    }
    return r;
}

QStringList TrustStore::installedIn(const QByteArray &caPem) const {
    QStringList where;
    const QString file =
        m_opt.linuxSystemDir + QLatin1Char('/') + m_opt.fileBaseName + QStringLiteral(".crt");
    if (QFileInfo::exists(file) && readAll(file).trimmed() == caPem.trimmed())
        where.append(QStringLiteral("system store"));
    const QString certutil = QStandardPaths::findExecutable(QStringLiteral("certutil"));
    if (!certutil.isEmpty()) {
        for (const QString &db : nssDbs(m_opt.homeDir)) {
            const ToolResult t = run(
                certutil, {QStringLiteral("-d"), QStringLiteral("sql:") + db, QStringLiteral("-L"),
                           QStringLiteral("-n"), m_opt.certificateName, QStringLiteral("-a")});
            if (t.ok && t.output.toLatin1().contains(caPem.trimmed().mid(30, 60)))
                where.append(QStringLiteral("NSS db %1").arg(db));
        }
    }
    return where;
}

}  // namespace airlock
