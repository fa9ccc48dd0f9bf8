"""CSV and XLSX writers: French dates and decimals, no value a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# -- writers ------------------------------------------------------------------------------
def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, datetime):
        return _local(value).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float | Decimal):
        return format(value, "f").replace(".", ",") if isinstance(value, Decimal) else str(value).replace(".", ",")
    if isinstance(value, Enum):
        value = value.value
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text  # never let a spreadsheet evaluate a value as a formula
    return text


def _local(value: datetime) -> datetime:
    """A naive French wall-clock time (spreadsheets know no time zones)."""
    return value.astimezone(_paris()).replace(tzinfo=None) if value.tzinfo else value


def csv_cell(value) -> str:
    """How a value is written in a CSV export (French dates, decimal comma, no formulas)."""
    return _csv_cell(value)


def write_csv(path: Path, header: list[str], rows: Iterable[list], progress: Callable[[int], None]) -> int:
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([_csv_cell(v) for v in row])
            count += 1
            progress(count)
    return count


def _xlsx_value(sheet, value):
    from openpyxl.cell import WriteOnlyCell

    if value is None:
        return None
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, datetime):
        value = _local(value)
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "DD/MM/YYYY HH:MM"
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "DD/MM/YYYY"
        return cell
    if isinstance(value, Enum):
        value = value.value
    if not isinstance(value, int | float | Decimal | str):
        value = str(value)  # e.g. a list a plugin's column returns
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # a text cell, never a formula
        return cell
    return value


def write_xlsx(path: Path, sheet_title: str, header: list[str], rows: Iterable[list],
               progress: Callable[[int], None]) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_sheet_name(sheet_title, set()))
    bold = Font(bold=True)
    header_cells = []
    for label in header:
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    count = 0
    for row in rows:
        sheet.append([_xlsx_value(sheet, v) for v in row])
        count += 1
        progress(count)
    workbook.save(path)
    return count


def _sheet_name(title: str, used: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:31] or "Feuille"
    base, number = name, 2
    while name.lower() in used:
        suffix = f" ({number})"
        name = base[: 31 - len(suffix)] + suffix
        number += 1
    used.add(name.lower())
    return name


def _paris():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Paris")
