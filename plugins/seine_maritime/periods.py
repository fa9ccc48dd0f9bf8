"""Dates the référentiel derives from a measure, all counted in calendar months.

Shared by the rules (refusals and warnings) and the obligations (due dates), so that a
deadline is computed once. ``add_months`` clamps to the month's end: one month after
31 January is 28 (or 29) February.
"""

from __future__ import annotations

from datetime import date, timedelta

from asll.toolkit import add_months, household_measures, household_support_measures, request_profile
from asll.toolkit import json_date as iso

from .codes import MAX_TOTAL_MONTHS


def suspended_days(measure, until: date | None = None) -> int:
    """Days the measure was suspended, including a suspension still running on ``until``."""
    days = int((measure.extra or {}).get("suspended_days", 0))
    if measure.suspended_from is not None and until is not None:
        days += max(0, (until - measure.suspended_from).days)
    return days


def start_deadline(measure) -> date:
    """§2.2.2: the operator starts within the month following the commission locale's decision."""
    return add_months(measure.decision_date, 1)


def prolongation_request_deadline(measure) -> date:
    """§2.2.1: any prolongation is requested at the latest one month before the measure's end."""
    return add_months(measure.planned_end_date, -1)


def suspension_limit(measure) -> date:
    """§2.4.3: a suspension lasts two months at most."""
    return add_months(measure.suspended_from, 2)


def total_duration_cap(measure, until: date | None = None) -> date:
    """§2.2.1/§2.2.3: eighteen months in all from the start; suspended days pause the measure."""
    return add_months(measure.start_date, MAX_TOTAL_MONTHS) + timedelta(days=suspended_days(measure, until))


def planned_end(measure, until: date | None = None) -> date | None:
    """The planned end, pushed by a suspension still running on ``until`` (the core adds it on resume)."""
    if measure.planned_end_date is None:
        return None
    running = suspended_days(measure, until) - int((measure.extra or {}).get("suspended_days", 0))
    return measure.planned_end_date + timedelta(days=running)


def next_measure_start(measure, until: date | None = None) -> date | None:
    """§2.2.3: start of the household's next support measure (another ASLL or MASP, AVDL...), if any.

    Only measures starting after this one's start (and by ``until`` when given) count as a hand-over.
    """
    if measure.start_date is None:
        return None
    starts = [m["start_date"] for m in household_measures(measure.household_id)
              if m["id"] != measure.id and m["start_date"] is not None]
    starts += [s["start_date"] for s in household_support_measures(measure.household_id)]
    later = sorted(s for s in starts if s > measure.start_date and (until is None or s <= until))
    return later[0] if later else None


def hand_over_limit(next_start: date) -> date:
    """§2.2.3: the ASLL may go on one month at most after the next measure starts."""
    return add_months(next_start, 1)


def diagnostic_letter_date(measure) -> date | None:
    """§3.3: the diagnostic starts on the date of the letter sent to the association."""
    return iso((measure.extra or {}).get("date_courrier_association"))


def diagnostic_reexamination(measure) -> date | None:
    """The household's re-examination date in CPEX, given with the CCAPEX's request."""
    profile = request_profile(measure.request_id)
    return iso(profile["extra"].get("date_reexamen_cpex")) if profile else None


def diagnostic_bilan_due(measure) -> date | None:
    """§3.3: within the month following the diagnostic, and at the latest the day before the CPEX re-examination."""
    if measure.start_date is None:
        return None
    end_of_diagnostic = add_months(measure.start_date, 2)
    if measure.end_date is not None and measure.end_date < end_of_diagnostic:
        end_of_diagnostic = measure.end_date
    due = add_months(end_of_diagnostic, 1)
    reexamination = diagnostic_reexamination(measure)
    if reexamination is not None:
        due = min(due, reexamination - timedelta(days=1))
    return due
