"""Reading a measure plan file (XLSX, ODS, CSV) into a header row and trimmed data rows."""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from handlers.plan_columns import PLAN_SHEETS, Column, column_for, normalize_header

# A cell as the import reads it: text (trimmed), a number, or a date from a date cell.
Cell = str | int | float | date

# The header row is looked for in the first rows only: a plan has a title block, not pages.
_HEADER_SEARCH_ROWS = 50
_ZIP = b"PK\x03\x04"
# The old binary Excel format (.xls) and other OLE files calamine also reads.
_OLE = b"\xd0\xcf\x11\xe0"


class Unreadable(enum.Enum):
    """Why a file is no measure plan; handlers/plan_import.py names each in the catalogue."""

    NOT_A_SPREADSHEET = "not_a_spreadsheet"
    NO_TITLE_COLUMN = "no_title_column"
    EMPTY = "empty"


class PlanReadError(Exception):
    def __init__(self, reason: Unreadable) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass
class PlanTable:
    """The plan as read: the header texts (by position), the header's row number, and the
    data rows, which `rows()` streams as (row number in the file, cells by position), empty
    rows left out — as often as asked, so a large plan is never held as Python objects whole."""

    headers: list[str]
    header_row: int
    source: Callable[[], Iterable[Sequence[object]]]
    sheet: str | None

    def rows(self) -> Iterator[tuple[int, list[Cell]]]:
        iterator = iter(self.source())
        for _skipped in zip(range(self.header_row), iterator, strict=False):
            pass
        return _data_rows(iterator, self.header_row)


def _cell(value: object) -> Cell:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        # A date cell with a time part (Excel keeps both); a plan's dates are days.
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, int):
        return value
    if isinstance(value, time | timedelta):
        return str(value)
    return "" if value is None else str(value).strip()


def _is_header(cells: Sequence[object]) -> bool:
    return any(isinstance(c, str) and column_for(c) is Column.TITLE for c in cells)


def _table(source: Callable[[], Iterable[Sequence[object]]], sheet: str | None) -> PlanTable:
    """Find the header row: the first naming the title column."""
    seen_any = False
    for number, raw in enumerate(source(), start=1):
        if number > _HEADER_SEARCH_ROWS:
            break
        if any(c not in ("", None) for c in raw):
            seen_any = True
        if _is_header(raw):
            return PlanTable([str(_cell(c)) for c in raw], number, source, sheet)
    raise PlanReadError(Unreadable.NO_TITLE_COLUMN if seen_any else Unreadable.EMPTY)


def _data_rows(
    rows: Iterator[Sequence[object]], header_row: int
) -> Iterator[tuple[int, list[Cell]]]:
    number = header_row
    for raw in rows:
        number += 1
        cells = [_cell(c) for c in raw]
        if any(c != "" for c in cells):
            yield number, cells


def _spreadsheet(data: bytes) -> PlanTable:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = workbook.sheet_names
        if not names:
            raise PlanReadError(Unreadable.EMPTY)
        wanted = {normalize_header(n) for n in PLAN_SHEETS}
        chosen = next((n for n in names if normalize_header(n) in wanted), names[0])
        sheet = workbook.get_sheet_by_name(chosen)
        # iter_rows starts at the sheet's first row, so the n-th row is row n as Excel shows it.
        return _table(sheet.iter_rows, chosen)
    except CalamineError as error:
        raise PlanReadError(Unreadable.NOT_A_SPREADSHEET) from error


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # German Excel saves "CSV (Trennzeichen-getrennt)" in Windows-1252.
        return data.decode("cp1252", errors="replace")


def _delimiter(text: str) -> str:
    """`;` (German Excel), `,` or a tab: the one the first lines use most, outside quotes."""
    sample = text[:8192]
    try:
        return csv.Sniffer().sniff(sample, delimiters=";,\t").delimiter
    except csv.Error:
        head = sample.splitlines()[:10]
        counts = {d: sum(line.count(d) for line in head) for d in ";,\t"}
        return max(counts, key=lambda d: counts[d])


def _csv(data: bytes) -> PlanTable:
    if b"\x00" in data[:4096]:
        raise PlanReadError(Unreadable.NOT_A_SPREADSHEET)
    text = _decode(data)
    if not text.strip():
        raise PlanReadError(Unreadable.EMPTY)
    delimiter = _delimiter(text)
    return _table(lambda: csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), None)


def read_plan(data: bytes, file_name: str) -> PlanTable:
    """The plan in `data`: XLSX/XLSM/XLS/ODS by content, anything else read as CSV."""
    lowered = file_name.casefold()
    if data.startswith(_ZIP) or data.startswith(_OLE) or lowered.endswith((".xlsx", ".ods")):
        return _spreadsheet(data)
    return _csv(data)
