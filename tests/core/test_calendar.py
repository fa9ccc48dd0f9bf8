"""Calendar-month arithmetic: the basis of every deadline."""

from datetime import date

import pytest

from asll.domain.calendar import add_months, months_between


@pytest.mark.parametrize(("start", "months", "expected"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),
    (date(2026, 3, 31), 6, date(2026, 9, 30)),
    (date(2026, 8, 15), 6, date(2027, 2, 15)),
    (date(2026, 12, 31), 2, date(2027, 2, 28)),
    (date(2026, 5, 31), -1, date(2026, 4, 30)),
    (date(2026, 1, 1), 18, date(2027, 7, 1)),
])
def test_add_months_clamps_to_the_end_of_the_month(start, months, expected):
    assert add_months(start, months) == expected


def test_months_between_counts_whole_calendar_months():
    assert months_between(date(2026, 1, 15), date(2027, 7, 15)) == 18
    assert months_between(date(2026, 1, 15), date(2027, 7, 14)) == 17
    assert months_between(date(2026, 1, 31), date(2026, 2, 28)) == 1
