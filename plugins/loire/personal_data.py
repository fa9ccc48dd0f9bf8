"""What the Loire's own table holds about a household, for the RGPD hooks (access, anonymisation, erasure).

An AML dwelling row says which association mobilised a dwelling for a measure, in which mode and
when: no name, address or free text. The access right shows the rows; anonymisation keeps them
as they are (the AML counts of the yearly tables read them); erasure deletes them.
"""

from __future__ import annotations

import sqlalchemy as sa

from asll.toolkit import PersonalData, db, hookimpl, json_date, personal_rows

from .models import LoireAmlDwelling


def _mine(household):
    return LoireAmlDwelling.measure_id.in_(list(household.measure_ids))


@hookimpl
def asll_personal_data(tenant, household):
    rows = personal_rows(LoireAmlDwelling, _mine(household))
    dates = [json_date(row["event_date"]) for row in rows if row["event_date"]]
    return [PersonalData(LoireAmlDwelling.__tablename__, "Logements de l'aide à la médiation locative (AML)",
                         rows=rows, last_contact=max(dates) if dates else None)]


@hookimpl
def asll_anonymise_personal_data(tenant, household, erase):
    if erase:
        db.session.execute(sa.delete(LoireAmlDwelling).where(_mine(household)))
    return [LoireAmlDwelling.__tablename__]
