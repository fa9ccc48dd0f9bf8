"""marshmallow schemas of the workflow's inputs, with French messages."""

from __future__ import annotations

import re

import marshmallow as ma
from marshmallow import fields, validate

from asll.domain.machine import END_REASONS, TRANSFER_REASONS
from asll.models import DecisionOutcome, HousingStatus
from asll.models.base import MAX_ID

REQUIRED = {"required": "Ce champ est obligatoire.", "null": "Ce champ est obligatoire."}
DATE = {**REQUIRED, "invalid": "Date invalide (format attendu : AAAA-MM-JJ)."}
INT = {**REQUIRED, "invalid": "Nombre entier attendu."}
ID = {**REQUIRED, "invalid": "Identifiant invalide : nombre entier attendu."}
_DIGITS = re.compile(r"[+-]?[0-9]{1,20}")

# The census (INSEE) stops its household sizes at "6 personnes ou plus", a few per cent of
# households, and the largest it counts are well under 20 people: 20 leaves room for an extended
# family living together, and refuses absurd input (10,000 members) that would only bloat the
# file, its letters and the audit trail.
MAX_MEMBERS = 20


class Id(fields.Integer):
    """The id of a row (a landlord, an operator, a household...): 1 to ``MAX_ID``, what an id
    column holds on SQLite and PostgreSQL alike, so a bigger number is a French 422, not a 500.

    Forms send text: only ASCII digits are read (``int()`` would also take "1_000" or "١٢"), and
    a number with a fraction is refused instead of being truncated to another organisation's id.
    The API's bodies use it with ``strict=True`` (a JSON number).
    """

    def __init__(self, *, strict: bool = False, **kwargs):
        kwargs.setdefault("validate", validate.Range(min=1, max=MAX_ID, error="Identifiant invalide."))
        kwargs.setdefault("error_messages", ID)
        super().__init__(strict=strict, **kwargs)

    def _validated(self, value):
        if isinstance(value, str):
            value = value.strip()
            if not _DIGITS.fullmatch(value):
                raise self.make_error("invalid", input=value)
        elif isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


def text(required: bool = False, max_length: int = 5000, **kwargs) -> fields.String:
    return fields.String(required=required, error_messages=REQUIRED,
                         validate=validate.Length(max=max_length, error=f"{max_length} caractères au plus."), **kwargs)


def nonempty(max_length: int = 5000) -> fields.String:
    """A required text: an empty value and an over-long one each get their own French message."""
    return fields.String(required=True, error_messages=REQUIRED,
                         validate=[validate.Length(min=1, error="Ce champ est obligatoire."),
                                   validate.Length(max=max_length, error=f"{max_length} caractères au plus.")])


class FrenchSchema(ma.Schema):
    """Refuses unknown fields ("Champ inconnu." once through ValidationFailed, like every default message)."""

    class Meta:
        unknown = ma.RAISE


def with_plugin_fields(base: type[ma.Schema], plugin_fields: dict[str, fields.Field], name: str) -> type[ma.Schema]:
    """``base`` with the enabled plugins' fields as a nested schema under ``extra`` (unknown keys refused)."""
    extra_schema = FrenchSchema.from_dict(plugin_fields, name=f"{name}Extra")
    return base.from_dict({"extra": fields.Nested(extra_schema, load_default=dict)}, name=name)


class MemberSchema(FrenchSchema):
    last_name = nonempty(120)
    first_name = nonempty(120)
    birth_date = fields.Date(load_default=None, error_messages=DATE)
    relationship_to_reference = text(max_length=40)
    is_reference = fields.Boolean(load_default=None, metadata={  # None: not said (HouseholdSchema._reference)
        "description": "Personne de référence du ménage : une seule ; si aucun membre ne porte ce champ, "
                       "le premier l'est."})
    socio_professional_status = text(max_length=120)


class HouseholdSchema(FrenchSchema):
    address = text(max_length=300)
    postcode = fields.String(load_default="", validate=validate.Regexp(r"^(\d{5})?$", error="Code postal invalide."))
    city = text(max_length=120)
    sector = text(max_length=120)
    housing_status = fields.Enum(HousingStatus, by_value=True, load_default=None,
                                 error_messages={"unknown": "Statut d'occupation inconnu."})
    monthly_resources = fields.Decimal(load_default=None, places=2, validate=validate.Range(min=0, error="Montant négatif."),
                                       error_messages={"invalid": "Montant invalide."})
    resources_kind = text(max_length=120)
    family_situation = text(max_length=120)
    landlord_id = Id(load_default=None)
    landlord_consent = fields.Boolean(load_default=False)
    extra = fields.Dict(load_default=dict)
    members = fields.List(fields.Nested(MemberSchema), required=True, error_messages=REQUIRED, metadata={
        "description": f"De 1 à {MAX_MEMBERS} membres, dont une seule personne de référence."}, validate=[
        validate.Length(min=1, error="Au moins un membre du ménage est nécessaire."),
        validate.Length(max=MAX_MEMBERS, error=f"{MAX_MEMBERS} membres au plus par ménage.")])

    @ma.validates("members")
    def _one_reference(self, members, **kwargs):
        """Exactly one reference person: the decisions, letters and statistics name the household by them."""
        chosen = sum(1 for member in members if member.get("is_reference"))
        if chosen > 1:
            raise ma.ValidationError(f"Une seule personne de référence par ménage ({chosen} sont désignées).")
        if chosen == 0 and any(member.get("is_reference") is False for member in members):
            raise ma.ValidationError("Désignez la personne de référence du ménage parmi ses membres.")

    @ma.post_load
    def _reference(self, data, **kwargs):
        """When no member says whether they are the reference, the first one is (as the API documents)."""
        members = data.get("members")
        if members:
            if not any(member.get("is_reference") for member in members):
                members[0]["is_reference"] = True
            for member in members:
                member["is_reference"] = bool(member.get("is_reference"))
        return data


DIAGNOSTIC_FIELDS = {
    "family_situation": "Situation familiale",
    "administrative_situation": "Situation administrative",
    "financial_situation": "Situation financière et endettement",
    "housing_conditions": "Conditions d'habitat",
    "housing_path": "Parcours logement",
    "difficulties": "Difficultés au regard du logement",
    "strengths": "Potentiels du ménage",
    "steps_taken": "Démarches déjà entreprises",
    "objectives": "Objectifs de l'accompagnement",
}

DiagnosticSchema = FrenchSchema.from_dict({name: nonempty() for name in DIAGNOSTIC_FIELDS}, name="DiagnosticSchema")


class RequestSchema(FrenchSchema):
    """A complete request, as checked on submission (drafts are loaded with ``partial=True``)."""

    household_id = Id(required=True)
    measure_type = nonempty(64)
    origin = text(max_length=64)
    diagnostic = fields.Nested(DiagnosticSchema, required=True, error_messages=REQUIRED)
    consent_given_by = nonempty(200)
    consent_date = fields.Date(required=True, error_messages=DATE)
    extra = fields.Dict(load_default=dict)


class SupportMeasureSchema(FrenchSchema):
    code = nonempty(32)
    start_date = fields.Date(required=True, error_messages=DATE)
    end_date = fields.Date(load_default=None, error_messages=DATE)
    notes = text()

    @ma.validates_schema
    def _dates(self, data, **kwargs):
        if data.get("end_date") and data["end_date"] < data["start_date"]:
            raise ma.ValidationError("La fin ne peut précéder le début.", "end_date")


class DecisionSchema(FrenchSchema):
    outcome = fields.Enum(DecisionOutcome, by_value=True, required=True,
                          error_messages={**REQUIRED, "unknown": "Décision inconnue."})
    decision_date = fields.Date(load_default=None, error_messages=DATE)
    measure_type = fields.String(load_default=None)
    duration_months = fields.Integer(load_default=None, error_messages=INT,
                                     validate=validate.Range(min=1, max=24, error="Durée entre 1 et 24 mois."))
    operator_id = Id(load_default=None)
    reinforced = fields.Boolean(load_default=False)
    reason = text(load_default="")
    redirected_to = text(max_length=200, load_default="")

    @ma.validates_schema
    def _reason(self, data, **kwargs):
        if data["outcome"] is DecisionOutcome.REFUSED and not data.get("reason"):
            raise ma.ValidationError("Le motif du refus est obligatoire.", "reason")
        if data["outcome"] is DecisionOutcome.REDIRECTED and not data.get("redirected_to"):
            raise ma.ValidationError("Indiquez vers quelle mesure ou quel dispositif le ménage est réorienté.",
                                     "redirected_to")


class SessionSchema(FrenchSchema):
    commission_code = nonempty(64)
    session_date = fields.Date(required=True, error_messages=DATE)
    location = text(max_length=200)


def _date(required=True):
    return fields.Date(required=required, load_default=None if not required else ma.missing, error_messages=DATE)


TRANSITION_SCHEMAS: dict[str, type[ma.Schema]] = {
    "assign_operator": FrenchSchema.from_dict({"operator_id": Id(required=True),
                                               "notified_date": _date(required=False)}),
    "start": FrenchSchema.from_dict({"start_date": _date()}),
    "record_contract_sent": FrenchSchema.from_dict({"sent_date": _date()}),
    "record_action_plan": FrenchSchema.from_dict({"plan_date": _date(), "objectives": text()}),
    "request_prolongation": FrenchSchema.from_dict({
        "request_date": _date(),
        "months": fields.Integer(required=True, error_messages=INT,
                                 validate=validate.Range(min=1, max=12, error="Durée entre 1 et 12 mois.")),
        "reason": nonempty(),
        "synthesis_meeting_date": _date(required=False),
    }),
    "grant_prolongation": FrenchSchema.from_dict({"decision_date": _date(), "opinion": text(),
                                                  "opinion_by": text(max_length=64)}),
    "refuse_prolongation": FrenchSchema.from_dict({"decision_date": _date(), "reason": nonempty()}),
    "suspend": FrenchSchema.from_dict({"from_date": _date(), "reason": nonempty(), "opinion": text()}),
    "resume": FrenchSchema.from_dict({"resume_date": _date()}),
    "transfer": FrenchSchema.from_dict({
        "operator_id": Id(required=True),
        "transfer_date": _date(),
        "reason": fields.String(required=True, error_messages=REQUIRED,
                                validate=validate.OneOf(list(TRANSFER_REASONS), error="Motif de transfert inconnu.")),
        "member": text(max_length=200),
        "opinion": text(),
    }),
    "end": FrenchSchema.from_dict({
        "end_date": _date(),
        "reason": fields.String(required=True, error_messages=REQUIRED,
                                validate=validate.OneOf(list(END_REASONS), error="Motif de fin inconnu.")),
        "hand_over_to": text(max_length=200),
    }),
    "record_bilan": FrenchSchema.from_dict({"bilan_date": _date(), "summary": nonempty(),
                                            "signed_by_household": fields.Boolean(load_default=False)}),
    "close": FrenchSchema.from_dict({"close_date": _date()}),
}
