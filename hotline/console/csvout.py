"""CSV exports that open safely in a spreadsheet: formula injection guarded, UTF-8 with a BOM.

Unit names and people's names are typed by users, and a spreadsheet runs a
cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (OWASP, "CSV
Injection"; a tab or carriage return can hide the sign). Such a text cell
gets a leading apostrophe, which spreadsheets show as the text itself.
Numbers are written as numbers. Excel in a Chinese locale reads a file
without a byte order mark as GBK, so the file starts with one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def guard(value: object) -> object:
    """A cell as it may be written: text that a spreadsheet would run gets an apostrophe.

    >>> guard('=HYPERLINK("http://evil.example","点我")')
    '\\'=HYPERLINK("http://evil.example","点我")'
    >>> guard(" -1+2"), guard("石家庄市教育局"), guard(-3), guard(None)
    ("' -1+2", '石家庄市教育局', -3, '')
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    # Leading spaces do not stop every spreadsheet from reading a formula.
    if value.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """The table as CSV bytes: a BOM, then UTF-8, CRLF line ends, every text cell guarded."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([guard(cell) for cell in header])
    for row in rows:
        writer.writerow([guard(cell) for cell in row])
    return (BOM + buffer.getvalue()).encode("utf-8")
