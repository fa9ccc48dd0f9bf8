"""What Moselle's own tables hold about a household, for the RGPD hooks (access, anonymisation, erasure).

The FSL aids and the first unpaid rent are amounts and dates the FSL accounts must justify: they
go to the intermediate archive when the file is anonymised, and stay in the active base as plain
figures (the yearly tables sum them) with no name, address or free text. Erasure deletes them.
"""

from __future__ import annotations

import sqlalchemy as sa

from asll.toolkit import PersonalData, db, french_date, hookimpl, json_date, personal_rows

from .fields import FSL_AIDS, FSL_KIND_LABELS, REPORTERS
from .models import FslAid, RentArrearsFollowUp


def _of(model, household):
    return sa.or_(model.household_id == household.id, model.measure_id.in_(list(household.measure_ids)))


def _euros(value) -> str:
    return f"{value} €"


@hookimpl
def asll_personal_data(tenant, household):
    aids = personal_rows(FslAid, _of(FslAid, household))
    follow_ups = personal_rows(RentArrearsFollowUp, _of(RentArrearsFollowUp, household))
    aid_dates = [json_date(row["granted_on"]) for row in aids]
    follow_up_dates = [json_date(row["opened_on"]) for row in follow_ups]
    return [
        PersonalData(FslAid.__tablename__, "Aides du FSL (Moselle)", rows=aids,
                     last_contact=max(aid_dates) if aid_dates else None,
                     archive=tuple({
                         "libellé": f"{FSL_KIND_LABELS.get(row['kind'], row['kind'])} – "
                                    f"{FSL_AIDS.get(row['kind'], {}).get(row['nature'], row['nature'])}",
                         "montant": _euros(row["amount"]), "accordée le": french_date(json_date(row["granted_on"])),
                         "mesure": row["measure_id"]} for row in aids)),
        PersonalData(RentArrearsFollowUp.__tablename__, "Prévention des impayés : premier impayé (Moselle)",
                     rows=follow_ups, last_contact=max(follow_up_dates) if follow_up_dates else None,
                     archive=tuple({
                         "libellé": "Premier impayé de loyer", "montant": _euros(row["first_unpaid_amount"]),
                         "date de l'impayé": french_date(json_date(row["first_unpaid_date"])),
                         "signalé par": REPORTERS.get(row["reported_by"], row["reported_by"]),
                         "mesure": row["measure_id"]} for row in follow_ups)),
    ]


@hookimpl
def asll_anonymise_personal_data(tenant, household, erase):
    if erase:
        db.session.execute(sa.delete(FslAid).where(_of(FslAid, household)))
        db.session.execute(sa.delete(RentArrearsFollowUp).where(_of(RentArrearsFollowUp, household)))
    return [FslAid.__tablename__, RentArrearsFollowUp.__tablename__]
