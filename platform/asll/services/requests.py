"""Households and requests: a prescriber files a request with the prior social diagnostic.

Drafts may be incomplete; submission validates everything, including the plugin's
extra fields, and sends the request to the commission of its measure type.
"""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa

from asll.extensions import db
from asll.models import (
    Household,
    HouseholdMember,
    Organisation,
    OrganisationKind,
    Request,
    RequestStatus,
    Role,
    SupportMeasure,
)
from asll.models.base import utcnow
from asll.services import audit, cases
from asll.services import plugins as plugin_service
from asll.services.access import get_in_tenant, household_criteria
from asll.services.actor import Actor
from asll.services.concurrency import claim
from asll.services.errors import Conflict, PermissionDenied, ServiceError, ValidationFailed
from asll.services.references import next_reference
from asll.services.schemas import HouseholdSchema, RequestSchema, SupportMeasureSchema, with_plugin_fields
from asll.services.validation import load

FILING_ROLES = (Role.PRESCRIBER, Role.DEPT_AGENT, Role.DEPT_ADMIN)
HOUSEHOLD_FIELDS = ("address", "postcode", "city", "sector", "housing_status", "monthly_resources",
                    "resources_kind", "family_situation", "landlord_id", "landlord_consent", "extra")
REQUEST_FIELDS = ("measure_type", "origin", "diagnostic", "consent_given_by", "consent_date", "extra",
                  "status", "commission_code")


def _require(actor: Actor, *roles: Role, message: str) -> None:
    if not actor.has(*roles):
        raise PermissionDenied(message)


def _visible_request(actor: Actor, request_id: int) -> Request:
    return cases.get_request(actor, request_id, log_read=False)


def _visible_household(actor: Actor, household_id: int | None) -> Household:
    household = db.session.scalar(
        sa.select(Household).where(Household.id == household_id, household_criteria(actor))
    )
    if household is None:
        raise ValidationFailed({"household_id": ["Ménage introuvable."]})
    return household


def _check_landlord(landlord_id: int | None) -> None:
    if landlord_id is None:
        return
    landlord = get_in_tenant(Organisation, landlord_id)
    if landlord is None or landlord.kind is not OrganisationKind.LANDLORD:
        raise ValidationFailed({"landlord_id": ["Bailleur introuvable dans ce département."]})


# -- households -------------------------------------------------------------------
def household_fields(tenant_id: int) -> dict[str, ma.fields.Field]:
    """The enabled plugins' extra household fields."""
    return plugin_service.merged_fields(tenant_id, "asll_household_fields")


def _household_schema(tenant_id: int, **kwargs) -> ma.Schema:
    """The household schema with the enabled plugins' extra fields under ``extra`` (and nothing else there)."""
    return with_plugin_fields(HouseholdSchema, household_fields(tenant_id), "TenantHouseholdSchema")(**kwargs)


def create_household(actor: Actor, data: dict) -> Household:
    _require(actor, *FILING_ROLES, message="Votre rôle ne permet pas de créer un ménage.")
    loaded = load(_household_schema(actor.tenant_id), {"extra": {}, **(data or {})})
    loaded["extra"] = audit._jsonable(loaded.get("extra") or {})
    _check_landlord(loaded.get("landlord_id"))
    members = loaded.pop("members")
    if not any(m["is_reference"] for m in members):
        members[0]["is_reference"] = True
    household = Household(
        reference=next_reference(Household, "M", actor.tenant_id, utcnow().year),
        created_by_id=actor.user_id,
        created_by_organisation_id=next(iter(sorted(actor.organisation_ids)), None),
        members=[HouseholdMember(**m) for m in members],
        **loaded,
    )
    db.session.add(household)
    db.session.flush()
    audit.record(actor, "household.create", object_type="household", object_id=household.id,
                 changes={**{k: [None, v] for k, v in loaded.items() if v not in (None, "", {}, False)},
                          "members": [None, [f"{m['last_name']} {m['first_name']}" for m in members]]})
    db.session.commit()
    return household


def update_household(actor: Actor, household_id: int, data: dict) -> Household:
    _require(actor, *FILING_ROLES, message="Votre rôle ne permet pas de modifier ce ménage.")
    household = _visible_household(actor, household_id)
    loaded = load(_household_schema(actor.tenant_id), data, partial=True)
    loaded.pop("members", None)
    if "extra" in loaded:
        loaded["extra"] = {**(household.extra or {}), **audit._jsonable(loaded["extra"])}
    _check_landlord(loaded.get("landlord_id"))
    before = audit.snapshot(household, loaded)
    for key, value in loaded.items():
        setattr(household, key, value)
    audit.record(actor, "household.update", object_type="household", object_id=household.id,
                 changes=audit.diff(before, loaded))
    db.session.commit()
    return household


def add_support_measure(actor: Actor, household_id: int, data: dict) -> SupportMeasure:
    """Record another support measure of the household (MASP, AEMO...), used for non-cumulation."""
    _require(actor, *FILING_ROLES, Role.OPERATOR_WORKER, message="Votre rôle ne permet pas de modifier ce ménage.")
    household = _visible_household(actor, household_id)
    loaded = load(SupportMeasureSchema(), data)
    known = plugin_service.support_measures(actor.tenant_id)
    if loaded["code"] not in known:
        raise ValidationFailed({"code": ["Mesure d'accompagnement inconnue."]})
    measure = SupportMeasure(household_id=household.id, **loaded)
    db.session.add(measure)
    db.session.flush()
    audit.record(actor, "household.support_measure", object_type="household", object_id=household.id,
                 changes={"support_measure": [None, f"{loaded['code']} depuis {loaded['start_date'].isoformat()}"]})
    db.session.commit()
    return measure


# -- requests ---------------------------------------------------------------------
def request_fields(tenant_id: int, measure_type: str | None) -> dict[str, ma.fields.Field]:
    """The enabled plugins' extra request fields for ``measure_type``."""
    if not measure_type:
        return {}
    return plugin_service.merged_fields(tenant_id, "asll_request_fields", measure_type=measure_type)


def _request_schema(tenant_id: int, measure_type: str | None, **kwargs) -> ma.Schema:
    """The request schema with the plugins' extra fields of ``measure_type`` under ``extra`` (and nothing else there)."""
    return with_plugin_fields(RequestSchema, request_fields(tenant_id, measure_type), "TenantRequestSchema")(**kwargs)


def _check_measure_type(tenant_id: int, code: str | None):
    if code is None:
        return None
    definition = plugin_service.measure_types(tenant_id).get(code)
    if definition is None:
        raise ValidationFailed({"measure_type": ["Type de mesure inconnu dans ce département."]})
    return definition


def save_draft(actor: Actor, data: dict, request_id: int | None = None, expected: int | None = None) -> Request:
    """Create or update a draft; incomplete input is accepted, wrong input is not."""
    _require(actor, *FILING_ROLES, message="Votre rôle ne permet pas de déposer une demande.")
    request = _visible_request(actor, request_id) if request_id else None
    if request is not None and request.status is not RequestStatus.DRAFT:
        raise ServiceError("Seul un brouillon peut être modifié.", "demande_non_modifiable")
    measure_type = data.get("measure_type") or (request.measure_type if request else None)
    _check_measure_type(actor.tenant_id, measure_type)
    if isinstance(data.get("diagnostic"), dict):
        # A blank section of the diagnostic is one still to write, not a wrong one: submission asks for it.
        data = {**data, "diagnostic": {k: v for k, v in data["diagnostic"].items() if v not in ("", None)}}
    loaded = load(_request_schema(actor.tenant_id, measure_type, partial=True), data)
    if "extra" in loaded:
        loaded["extra"] = audit._jsonable(loaded["extra"])  # plugin fields may load dates: store them as JSON
    if request is None:
        household = _visible_household(actor, loaded.pop("household_id", None))
        request = Request(
            reference=next_reference(Request, "D", actor.tenant_id, utcnow().year),
            household_id=household.id, measure_type=loaded.pop("measure_type", "") or "",
            filed_by_id=actor.user_id,
            prescriber_organisation_id=next(iter(sorted(actor.organisation_ids)), None),
            **loaded,
        )
        db.session.add(request)
        db.session.flush()
        audit.record(actor, "request.create", object_type="request", object_id=request.id,
                     changes={k: [None, v] for k, v in loaded.items()})
    else:
        claim(request, expected)
        loaded.pop("household_id", None)
        before = audit.snapshot(request, loaded)
        for key, value in loaded.items():
            setattr(request, key, value)
        audit.record(actor, "request.update", object_type="request", object_id=request.id,
                     changes=audit.diff(before, loaded))
    db.session.commit()
    return request


def submit(actor: Actor, request_id: int, expected: int | None = None) -> Request:
    """Validate the whole request and send it to its commission (or single decider)."""
    _require(actor, *FILING_ROLES, message="Votre rôle ne permet pas de déposer une demande.")
    request = _visible_request(actor, request_id)
    if request.status is not RequestStatus.DRAFT:
        raise Conflict("Cette demande a déjà été déposée.", "deja_deposee")
    definition = _check_measure_type(actor.tenant_id, request.measure_type or None)
    stored = {
        "household_id": request.household_id,
        "measure_type": request.measure_type or None,
        "origin": request.origin,
        "diagnostic": request.diagnostic or None,
        "consent_given_by": request.consent_given_by or None,
        "consent_date": request.consent_date.isoformat() if request.consent_date else None,
        "extra": request.extra or {},
    }
    stored = {k: v for k, v in stored.items() if v is not None}
    partial = () if definition is None or definition.requires_diagnostic else ("diagnostic",)
    load(_request_schema(actor.tenant_id, request.measure_type or None, partial=partial), stored)
    commission = plugin_service.call(actor.tenant_id, "asll_request_commission", request=request) \
        or definition.commission
    if commission is not None and commission not in plugin_service.commissions(actor.tenant_id):
        raise ServiceError(f"Instance « {commission} » inconnue dans ce département.", "commission_inconnue")
    claim(request, expected)
    request.status = RequestStatus.SUBMITTED
    request.submitted_at = utcnow()
    request.commission_code = commission
    audit.record(actor, "request.submit", object_type="request", object_id=request.id,
                 changes={"status": ["draft", "submitted"], "commission_code": [None, commission]})
    db.session.commit()
    return request


def withdraw(actor: Actor, request_id: int, reason: str, expected: int | None = None) -> Request:
    _require(actor, *FILING_ROLES, message="Votre rôle ne permet pas de retirer une demande.")
    request = _visible_request(actor, request_id)
    if request.status not in (RequestStatus.DRAFT, RequestStatus.SUBMITTED):
        raise Conflict("Une demande inscrite à l'ordre du jour, décidée ou retirée ne peut plus être retirée.",
                       "retrait_impossible")
    if not (reason or "").strip():
        raise ValidationFailed({"reason": ["Le motif du retrait est obligatoire."]})
    claim(request, expected)
    before = request.status.value
    request.status = RequestStatus.WITHDRAWN
    audit.record(actor, "request.withdraw", object_type="request", object_id=request.id,
                 changes={"status": [before, "withdrawn"], "reason": [None, reason.strip()]})
    db.session.commit()
    return request

