// Plain-text tables for airlockctl's human output: columns sized to content, numbers right-aligned.
#pragma once

#include <QList>
#include <QString>
#include <QStringList>

namespace airlock {

class TablePrinter {
public:
    explicit TablePrinter(QStringList headers, QList<bool> rightAligned = {});
    void addRow(QStringList cells);
    QString render() const;

private:
    QStringList m_headers;
    QList<bool> m_right;
    QList<QStringList> m_rows;
};

QString formatCost(double usd);
QString formatCount(qint64 n);

}  // namespace airlock
