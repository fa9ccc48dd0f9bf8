"""Deadline arithmetic in calendar months, as the départements' rules count them.

"Within 1 month of 31 January" is 28 (or 29) February: the day is clamped to the
end of the target month, as French administrative practice and ``dateutil`` do.
"""

from __future__ import annotations

import calendar
from datetime import date


def add_months(start: date, months: int) -> date:
    """Return ``start`` moved by ``months`` calendar months, clamping the day to the month's end."""
    month_index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(month_index, 12)
    month += 1
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(start.day, last_day))


def months_between(start: date, end: date) -> int:
    """Whole calendar months from ``start`` to ``end`` (``add_months(start, n) <= end``)."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if add_months(start, months) > end:
        months -= 1
    return months


def today() -> date:
    """Today in France: deadlines are French calendar days, whatever the server's zone."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Europe/Paris")).date()
