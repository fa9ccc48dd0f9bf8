"""What the Orne's own tables hold about a household, for the RGPD hooks (access, anonymisation, erasure).

The evaluation record and its domains are codes (public typology, situation at entry and exit,
domains worked on) and one date, the 6-month contact: no name, address or free text. The access
right shows them; anonymisation keeps them (the yearly evaluation tables count them); erasure
deletes them.
"""

from __future__ import annotations

import sqlalchemy as sa

from asll.toolkit import PersonalData, db, hookimpl, json_date, personal_rows

from .models import OrneMeasureDomain, OrneMeasureRecord


@hookimpl
def asll_personal_data(tenant, household):
    measure_ids = list(household.measure_ids)
    records = personal_rows(OrneMeasureRecord, OrneMeasureRecord.measure_id.in_(measure_ids))
    contacts = [json_date(row["contact_date"]) for row in records if row["contact_date"]]
    return [
        PersonalData(OrneMeasureRecord.__tablename__, "Évaluation de la mesure (Orne)", rows=records,
                     last_contact=max(contacts) if contacts else None),
        PersonalData(OrneMeasureDomain.__tablename__, "Domaines d'intervention travaillés (Orne)",
                     rows=personal_rows(OrneMeasureDomain, OrneMeasureDomain.measure_id.in_(measure_ids))),
    ]


@hookimpl
def asll_anonymise_personal_data(tenant, household, erase):
    if erase:
        measure_ids = list(household.measure_ids)
        db.session.execute(sa.delete(OrneMeasureDomain).where(OrneMeasureDomain.measure_id.in_(measure_ids)))
        db.session.execute(sa.delete(OrneMeasureRecord).where(OrneMeasureRecord.measure_id.in_(measure_ids)))
    return [OrneMeasureRecord.__tablename__, OrneMeasureDomain.__tablename__]
