#include "table_printer.h"

namespace airlock {

TablePrinter::TablePrinter(QStringList headers, QList<bool> rightAligned)
    : m_headers(std::move(headers)), m_right(std::move(rightAligned))
{
    while (m_right.size() < m_headers.size()) m_right.append(false);
}

void TablePrinter::addRow(QStringList cells)
{
    while (cells.size() < m_headers.size()) cells.append(QString());
    m_rows.append(std::move(cells));
}

QString TablePrinter::render() const
{
    QList<qsizetype> width;
    for (const QString &h : m_headers) width.append(h.size());
    for (const QStringList &row : m_rows)
        for (qsizetype i = 0; i < m_headers.size(); ++i) width[i] = std::max(width[i], row[i].size());
    auto line = [&](const QStringList &cells) {
        QString out;
        for (qsizetype i = 0; i < m_headers.size(); ++i) {
            if (i) out += QStringLiteral("  ");
            out += m_right[i] ? cells[i].rightJustified(width[i]) : cells[i].leftJustified(width[i]);
        }
        while (out.endsWith(QLatin1Char(' '))) out.chop(1);
        return out + QLatin1Char('\n');
    };
    QString out = line(m_headers);
    for (const QStringList &row : m_rows) out += line(row);
    return out;
}

QString formatCost(double usd)
{
    return QStringLiteral("$") + QString::number(usd, 'f', usd < 1 ? 4 : 2);
}

QString formatCount(qint64 n)
{
    QString s = QString::number(n);
    for (qsizetype i = s.size() - 3; i > (n < 0 ? 1 : 0); i -= 3) s.insert(i, QLatin1Char(','));
    return s;
}

}  // namespace airlock
