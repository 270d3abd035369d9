"""The CSV export: one row per ticket, the spec's fields, safe to open in a spreadsheet.

Tenant text reaches these cells, and a spreadsheet runs a cell that starts with ``=``, ``+``,
``-`` or ``@`` as a formula (CSV injection), as do some with a leading tab or carriage return:
such a cell gets a leading apostrophe, which spreadsheets show as text.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A cell's text: empty for None, booleans as true/false, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(out: TextIO, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> int:
    """Write a header and one line per row; returns how many rows were written."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    n = 0
    for row in rows:
        writer.writerow([safe_cell(row.get(c)) for c in columns])
        n += 1
    return n
