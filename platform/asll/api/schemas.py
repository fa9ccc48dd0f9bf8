"""marshmallow schemas of the JSON API: what it returns, and the shape of what it accepts.

Request bodies that a service validates itself (households, requests, sessions,
decisions, transitions) are described by schemas *derived* from the service's own
schemas (:func:`derived`): the same fields and French messages, plus the bounds the
database needs (ids and integers within 32 bits, plausible dates, amounts within the
column). They check the body and document it, then hand the body as received to the
service (:class:`PassThrough`), which stays the one place that validates and loads it,
including the plugins' extra fields. Everything the API returns is declared, so that
the OpenAPI document says exactly what a client gets.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import Decimal

import marshmallow as ma
from marshmallow import fields, validate

from asll.domain.machine import TRANSITION_LABELS, TRANSITIONS
from asll.models import (
    DecisionOutcome,
    HousingStatus,
    MeasureStatus,
    ObligationState,
    OrganisationKind,
    RequestStatus,
    Role,
    SessionStatus,
)
from asll.models.base import MAX_ID
from asll.plugins.contract import CommissionRole, MeasureKind
from asll.services import schemas as service_schemas
from asll.services.documents import DOCUMENT_KINDS, GENERATED_KINDS

MAX_AMOUNT = Decimal("99999999.99")  # NUMERIC(10, 2)
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2199, 12, 31)
REQUIRED = {"required": "Ce champ est obligatoire.", "null": "Ce champ est obligatoire."}


# -- fields ---------------------------------------------------------------------------
class Id(service_schemas.Id):
    """The services' bounded id, as a JSON number in bodies (``strict=False``: text in a query)."""

    def __init__(self, *, strict: bool = True, **kwargs):
        super().__init__(strict=strict, **kwargs)


class UtcDateTime(fields.DateTime):
    """An instant in ISO 8601 with its offset (SQLite returns naive UTC values)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class Label(fields.String):
    """The French label of an attribute: an enum's ``label``, or the entry of ``labels``."""

    def __init__(self, labels: dict[str, str] | None = None, **kwargs):
        self.labels = labels
        kwargs.setdefault("dump_only", True)  # reads another attribute: output only
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return self.labels.get(value, value) if self.labels is not None else value.label


class Amount(fields.String):
    """A NUMERIC amount as a decimal string (no float rounding), e.g. ``"1234.50"``."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else f"{Decimal(value):.2f}"


def _in_date_range(value: date) -> None:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ma.ValidationError(f"Date hors des limites admises ({FIRST_DAY.year}–{LAST_DAY.year}).")


def complete(schema_cls):
    """Mark every field of an output schema as always present, so the document says so."""
    for field in schema_cls._declared_fields.values():
        field.required = True
    return schema_cls


# -- errors -----------------------------------------------------------------------------
class ViolationOut(ma.Schema):
    code = fields.String(required=True, metadata={"description": "Code stable de la règle."})
    message = fields.String(required=True, metadata={"description": "Message en français."})
    field = fields.String(required=True, allow_none=True, metadata={"description": "Champ concerné, s'il y en a un."})
    blocking = fields.Boolean(required=True, metadata={"description": "Vrai si la règle interdit l'action."})


class ErrorSchema(ma.Schema):
    """Every error of the API has this shape (messages in French)."""

    code = fields.String(required=True, metadata={"description": "Code stable de l'erreur (ex. « introuvable »)."})
    message = fields.String(required=True, metadata={"description": "Message en français."})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                         metadata={"description": "Messages par champ (chemin pointé pour les champs imbriqués)."})
    violations = fields.List(fields.Nested(ViolationOut),
                             metadata={"description": "Règles métier non respectées (code 409)."})


# -- inputs: derived from the services' schemas -----------------------------------------
class PassThrough(service_schemas.FrenchSchema):
    """Checks a body, then returns it unchanged: the service loads it with its own schema."""

    @ma.post_load(pass_original=True)
    def _as_received(self, data, original_data, **kwargs):
        return original_data


def _guarded(field: fields.Field) -> fields.Field:
    """A copy of a service field with the bounds the database needs."""
    field = copy.deepcopy(field)
    if isinstance(field, fields.Nested) and isinstance(field.nested, type):
        field.nested = derived(field.nested, f"{field.nested.__name__.removesuffix('Schema')}In")
        field._schema = None
    elif isinstance(field, fields.List):
        field.inner = _guarded(field.inner)
    elif isinstance(field, fields.Integer) and not isinstance(field, service_schemas.Id):  # ids are bounded
        field.validators = [*field.validators,
                            validate.Range(min=-MAX_ID, max=MAX_ID, error="Nombre hors des limites admises.")]
    elif isinstance(field, fields.Decimal):
        field.validators = [*field.validators,
                            validate.Range(min=-MAX_AMOUNT, max=MAX_AMOUNT, error="Montant hors des limites admises.")]
        # Documented as JSON numbers (apispec would write the Decimal bounds as strings).
        ranges = [v for v in field.validators if isinstance(v, validate.Range)]
        field.metadata = {**field.metadata,
                          "minimum": float(max(v.min for v in ranges if v.min is not None)),
                          "maximum": float(min(v.max for v in ranges if v.max is not None))}
    elif isinstance(field, fields.Date):
        field.validators = [*field.validators, _in_date_range]
    return field


_DERIVED: dict[str, type[ma.Schema]] = {}


def derived(service_schema: type[ma.Schema], name: str,
            extra: dict[str, fields.Field] | None = None) -> type[ma.Schema]:
    """An API input schema with the service schema's fields, bounded, that passes the body through."""
    if name not in _DERIVED:
        declared = {key: _guarded(field) for key, field in service_schema._declared_fields.items()}
        declared.update(extra or {})
        _DERIVED[name] = PassThrough.from_dict(declared, name=name)
    return _DERIVED[name]


HouseholdIn = derived(service_schemas.HouseholdSchema, "HouseholdIn")
RequestDraftIn = derived(service_schemas.RequestSchema, "RequestDraftIn")
SessionIn = derived(service_schemas.SessionSchema, "SessionIn")
DecisionIn = derived(service_schemas.DecisionSchema, "DecisionIn", {
    "request_id": Id(required=True, metadata={"description": "Demande inscrite à l'ordre du jour."}),
    "extra": fields.Dict(metadata={"description": "Champs propres au département (plugins)."}),
})


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


TRANSITION_INPUTS: dict[str, type[ma.Schema]] = {
    name: derived(schema, f"{_camel(name)}In", {
        "extra": fields.Dict(metadata={"description": "Champs propres au département (plugins)."}),
    })
    for name, schema in service_schemas.TRANSITION_SCHEMAS.items()
}


# -- inputs: the API's own ---------------------------------------------------------------
class AgendaIn(service_schemas.FrenchSchema):
    request_ids = fields.List(Id(), load_default=None, allow_none=True,
                              error_messages={"invalid": "Une liste d'identifiants est attendue."},
                              metadata={"description": "Demandes à inscrire ; toutes les demandes en attente "
                                                       "de cette commission si absent."})


class DecideBatchIn(service_schemas.FrenchSchema):
    decisions = fields.List(fields.Nested(DecisionIn), required=True,
                            validate=validate.Length(min=1, max=500, error="Entre 1 et 500 décisions."),
                            error_messages={**REQUIRED, "invalid": "Une liste de décisions est attendue."})

    @ma.validates("decisions")
    def _distinct(self, value, **kwargs):
        # Runs on the valid part of the list too: items may lack their (invalid) request_id.
        ids = [item["request_id"] for item in value if isinstance(item, dict) and "request_id" in item]
        if len(ids) != len(set(ids)):
            raise ma.ValidationError("Une même demande figure deux fois.")


class DocumentIn(service_schemas.FrenchSchema):
    kind = fields.String(required=True, error_messages=REQUIRED,
                         validate=validate.OneOf(sorted(GENERATED_KINDS), error="Type de document inconnu."),
                         metadata={"description": "decision_letter (une lettre par destinataire), contract, "
                                                  "prolongation_request, bilan ou minutes."})
    measure_id = Id(load_default=None, metadata={"description": "Pour contract, prolongation_request et bilan."})
    session_id = Id(load_default=None, metadata={"description": "Pour minutes."})
    decision_id = Id(load_default=None, metadata={"description": "Pour decision_letter."})

    TARGETS = {"decision_letter": "decision_id", "contract": "measure_id", "prolongation_request": "measure_id",
               "bilan": "measure_id", "minutes": "session_id"}

    @ma.validates_schema
    def _target(self, data, **kwargs):
        wanted = self.TARGETS[data["kind"]]
        errors = {name: ["Sans objet pour ce type de document."]
                  for name in ("measure_id", "session_id", "decision_id") if name != wanted and data.get(name)}
        if data.get(wanted) is None:
            errors[wanted] = ["Ce champ est obligatoire pour ce type de document."]
        if errors:
            raise ma.ValidationError(errors)


class TokenIn(service_schemas.FrenchSchema):
    label = fields.String(required=True, error_messages=REQUIRED,
                          validate=validate.Length(min=1, max=120, error="Entre 1 et 120 caractères."),
                          metadata={"description": "À quoi sert ce jeton (ex. « logiciel de suivi »)."})
    expires_in_days = fields.Integer(load_default=None, validate=validate.Range(min=1, max=3650, error="Entre 1 et 3650."),
                                     error_messages={"invalid": "Nombre entier de jours attendu."},
                                     metadata={"description": "Durée de validité en jours (par défaut et au plus : "
                                                              "365, selon la configuration)."})


# -- query strings ---------------------------------------------------------------------------
class PageArgs(ma.Schema):
    after = Id(strict=False, load_default=None,
               metadata={"description": "Identifiant du dernier élément de la page précédente (next_after)."})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200, error="Entre 1 et 200."),
                           error_messages={"invalid": "Nombre entier attendu."},
                           metadata={"description": "Nombre d'éléments par page (200 au plus)."})


class RequestListArgs(PageArgs):
    status = fields.Enum(RequestStatus, by_value=True, load_default=None,
                         error_messages={"unknown": "Statut de demande inconnu."})
    household_id = Id(strict=False, load_default=None)


class MeasureListArgs(PageArgs):
    status = fields.Enum(MeasureStatus, by_value=True, load_default=None,
                         error_messages={"unknown": "Statut de mesure inconnu."})
    measure_type = fields.String(data_key="type", load_default=None, validate=validate.Length(
        min=1, max=64, error="Entre 1 et 64 caractères."), metadata={"description": "Code du type de mesure."})
    operator_id = Id(strict=False, data_key="operator", load_default=None,
                     metadata={"description": "Identifiant de l'opérateur."})
    household_id = Id(strict=False, load_default=None)


class SessionListArgs(PageArgs):
    commission = fields.String(load_default=None, validate=validate.Length(min=1, max=64,
                                                                           error="Entre 1 et 64 caractères."))
    status = fields.Enum(SessionStatus, by_value=True, load_default=None,
                         error_messages={"unknown": "Statut de séance inconnu."})


class OrganisationArgs(ma.Schema):
    kind = fields.Enum(OrganisationKind, by_value=True, load_default=None,
                       error_messages={"unknown": "Type d'organisme inconnu."})


class DocumentListArgs(ma.Schema):
    request_id = Id(strict=False, load_default=None)
    measure_id = Id(strict=False, load_default=None)
    session_id = Id(strict=False, load_default=None)

    @ma.validates_schema
    def _one_target(self, data, **kwargs):
        given = [name for name in ("request_id", "measure_id", "session_id") if data.get(name) is not None]
        if len(given) != 1:
            raise ma.ValidationError("Indiquez exactement un paramètre parmi request_id, measure_id et session_id.",
                                     "_schema")


# -- outputs ------------------------------------------------------------------------------------
@complete
class MemberOut(ma.Schema):
    id = fields.Integer()
    last_name = fields.String()
    first_name = fields.String()
    birth_date = fields.Date(allow_none=True)
    relationship_to_reference = fields.String()
    is_reference = fields.Boolean()
    socio_professional_status = fields.String()


@complete
class HouseholdSummaryOut(ma.Schema):
    id = fields.Integer()
    reference = fields.String()
    display_name = fields.String(metadata={"description": "NOM Prénom de la personne de référence."})
    city = fields.String()
    sector = fields.String()
    housing_status = fields.Enum(HousingStatus, by_value=True, allow_none=True)
    created_at = UtcDateTime()


@complete
class HouseholdOut(HouseholdSummaryOut):
    address = fields.String()
    postcode = fields.String()
    housing_status_label = Label(attribute="housing_status", allow_none=True)
    monthly_resources = Amount(allow_none=True, metadata={"description": "Ressources mensuelles en euros."})
    resources_kind = fields.String()
    family_situation = fields.String()
    landlord_id = fields.Integer(allow_none=True)
    landlord_consent = fields.Boolean()
    extra = fields.Dict()
    updated_at = UtcDateTime()
    members = fields.List(fields.Nested(MemberOut))


@complete
class HouseholdPage(ma.Schema):
    items = fields.List(fields.Nested(HouseholdSummaryOut))
    next_after = fields.Integer(allow_none=True, metadata={"description": "À passer en « after » pour la page "
                                                                          "suivante ; null s'il n'y en a pas."})


@complete
class RequestSummaryOut(ma.Schema):
    id = fields.Integer()
    reference = fields.String()
    household_id = fields.Integer()
    measure_type = fields.String()
    status = fields.Enum(RequestStatus, by_value=True)
    status_label = Label(attribute="status")
    commission_code = fields.String(allow_none=True)
    submitted_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()


@complete
class RequestOut(RequestSummaryOut):
    origin = fields.String()
    prescriber_organisation_id = fields.Integer(allow_none=True)
    filed_by_id = fields.Integer(allow_none=True)
    diagnostic = fields.Dict(keys=fields.String(), values=fields.String())
    consent_given_by = fields.String()
    consent_date = fields.Date(allow_none=True)
    extra = fields.Dict()
    updated_at = UtcDateTime()


@complete
class RequestPage(ma.Schema):
    items = fields.List(fields.Nested(RequestSummaryOut))
    next_after = fields.Integer(allow_none=True)


@complete
class MeasureOut(ma.Schema):
    id = fields.Integer()
    reference = fields.String()
    household_id = fields.Integer()
    request_id = fields.Integer(allow_none=True)
    measure_type = fields.String()
    kind = fields.String()
    status = fields.Enum(MeasureStatus, by_value=True)
    status_label = Label(attribute="status")
    operator_id = fields.Integer(allow_none=True)
    worker_id = fields.Integer(allow_none=True)
    decision_date = fields.Date(allow_none=True)
    granted_months = fields.Integer(allow_none=True)
    start_date = fields.Date(allow_none=True)
    planned_end_date = fields.Date(allow_none=True)
    end_date = fields.Date(allow_none=True)
    end_reason = fields.String()
    reinforced = fields.Boolean()
    prolongation_count = fields.Integer()
    prolonged_months = fields.Integer()
    notified_date = fields.Date(allow_none=True)
    contract_sent_date = fields.Date(allow_none=True)
    action_plan_date = fields.Date(allow_none=True)
    suspended_from = fields.Date(allow_none=True)
    bilan_date = fields.Date(allow_none=True)
    hand_over_to = fields.String()
    transferred_from_id = fields.Integer(allow_none=True)
    extra = fields.Dict()
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


@complete
class MeasurePage(ma.Schema):
    items = fields.List(fields.Nested(MeasureOut))
    next_after = fields.Integer(allow_none=True)




@complete
class MeasureEventOut(ma.Schema):
    id = fields.Integer()
    transition = fields.String()
    transition_label = Label(TRANSITION_LABELS, attribute="transition")
    from_status = fields.String()
    to_status = fields.String()
    effective_date = fields.Date(allow_none=True)
    at = UtcDateTime()
    actor_id = fields.Integer(allow_none=True)
    data = fields.Dict()


@complete
class ObligationOut(ma.Schema):
    id = fields.Integer()
    kind = fields.String()
    label = fields.String()
    due_date = fields.Date()
    responsible_role = fields.String()
    state = fields.Enum(ObligationState, by_value=True)
    state_label = Label(attribute="state")
    closed_at = UtcDateTime(allow_none=True)


@complete
class TransitionOut(ma.Schema):
    name = fields.String(validate=validate.OneOf(list(TRANSITIONS)))
    label = fields.String()


@complete
class DecisionOut(ma.Schema):
    id = fields.Integer()
    request_id = fields.Integer()
    session_id = fields.Integer(allow_none=True)
    outcome = fields.Enum(DecisionOutcome, by_value=True)
    outcome_label = Label(attribute="outcome")
    decision_date = fields.Date()
    measure_type = fields.String(allow_none=True)
    duration_months = fields.Integer(allow_none=True)
    operator_id = fields.Integer(allow_none=True)
    reason = fields.String()
    redirected_to = fields.String()
    measure_id = fields.Integer(allow_none=True)
    warnings = fields.List(fields.Nested(ViolationOut), metadata={
        "description": "Avertissements non bloquants des règles du département (secteur, capacité de "
                       "l'opérateur...), donnés quand la décision est enregistrée ; vide à la relecture."})


@complete
class MeasureDetailOut(ma.Schema):
    measure = fields.Nested(MeasureOut)
    timeline = fields.List(fields.Nested(MeasureEventOut))
    obligations = fields.List(fields.Nested(ObligationOut))
    transitions = fields.List(fields.Nested(TransitionOut),
                              metadata={"description": "Actions que l'utilisateur peut tenter maintenant "
                                                       "(les règles sont vérifiées à l'essai)."})
    decision = fields.Nested(DecisionOut, allow_none=True)


@complete
class TransitionResultOut(ma.Schema):
    measure = fields.Nested(MeasureOut)
    warnings = fields.List(fields.Nested(ViolationOut),
                           metadata={"description": "Avertissements non bloquants des règles du département."})


@complete
class AgendaItemOut(ma.Schema):
    request_id = fields.Integer()
    request_reference = fields.String(attribute="request.reference")
    position = fields.Integer()


@complete
class SessionOut(ma.Schema):
    id = fields.Integer()
    commission_code = fields.String()
    session_date = fields.Date()
    location = fields.String()
    status = fields.Enum(SessionStatus, by_value=True)
    status_label = Label(attribute="status")
    members_present = fields.String()
    items = fields.List(fields.Nested(AgendaItemOut))


@complete
class SessionPage(ma.Schema):
    items = fields.List(fields.Nested(SessionOut))
    next_after = fields.Integer(allow_none=True)


@complete
class OrganisationOut(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.Enum(OrganisationKind, by_value=True)
    kind_label = Label(attribute="kind")
    sectors = fields.List(fields.String())
    capacity = fields.Integer(allow_none=True)
    capacity_unit = fields.String()
    reinforced_capacity = fields.Integer(allow_none=True)
    address = fields.String()
    phone = fields.String()
    email = fields.String()
    description = fields.String()
    active = fields.Boolean()


@complete
class MeasureTypeOut(ma.Schema):
    code = fields.String()
    label = fields.String()
    kind = fields.Enum(MeasureKind, by_value=True)
    kind_label = Label(attribute="kind")
    default_months = fields.Integer()
    max_months = fields.Integer()
    max_prolongations = fields.Integer()
    prolongation_months = fields.Integer(allow_none=True)
    max_total_months = fields.Integer(allow_none=True)
    commission = fields.String(allow_none=True)
    incompatible_with = fields.List(fields.String())
    requires_diagnostic = fields.Boolean()
    description = fields.String()
    plugin = fields.String()


@complete
class CommissionOut(ma.Schema):
    code = fields.String()
    label = fields.String()
    role = fields.Enum(CommissionRole, by_value=True)
    examines = fields.List(fields.String())
    rhythm = fields.String()
    description = fields.String()
    plugin = fields.String()


@complete
class DocumentOut(ma.Schema):
    id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(list(DOCUMENT_KINDS)))
    kind_label = Label(DOCUMENT_KINDS, attribute="kind")
    title = fields.String()
    request_id = fields.Integer(allow_none=True)
    measure_id = fields.Integer(allow_none=True)
    session_id = fields.Integer(allow_none=True)
    decision_id = fields.Integer(allow_none=True)
    recipient = fields.String()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    created_at = UtcDateTime()


@complete
class TokenOut(ma.Schema):
    id = fields.Integer()
    label = fields.String()
    prefix = fields.String(metadata={"description": "Début du jeton, pour le reconnaître."})
    created_at = UtcDateTime()
    expires_at = UtcDateTime(metadata={"description": "Au-delà, le jeton est refusé (401)."})
    last_used_at = UtcDateTime(allow_none=True)
    revoked = fields.Boolean()
    revoked_at = UtcDateTime(allow_none=True)


@complete
class TokenCreatedOut(TokenOut):
    token = fields.String(metadata={"description": "Le jeton lui-même : affiché cette seule fois, à conserver."})


@complete
class UserOut(ma.Schema):
    id = fields.Integer()
    email = fields.String()
    full_name = fields.String()


@complete
class TenantOut(ma.Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


@complete
class MeOut(ma.Schema):
    user = fields.Nested(UserOut)
    tenant = fields.Nested(TenantOut)
    roles = fields.List(fields.Enum(Role, by_value=True))
    organisation_ids = fields.List(fields.Integer())
    authentication = fields.String(validate=validate.OneOf(["jeton", "session"]))
    csrf_token = fields.String(allow_none=True, metadata={
        "description": "Avec une session : à renvoyer dans l'en-tête X-CSRFToken des requêtes qui modifient."})
