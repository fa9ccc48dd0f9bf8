"""A département's retention policy: how long a file stays active, what is archived, how long traces live.

Defaults follow the CNIL's référentiel for the social and medico-social sector (délibération
n° 2023-095): the active base keeps a file 2 years after the last contact; the decisions and
amounts the FSL accounts need then go to an intermediate archive for the legal period the
département sets; access logs are kept 6 months to 1 year. The same policy holds the k of the pseudonymised
exports' k-anonymity (5 by default). A département admin changes them (audited); a form built
on an older version gets a French 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from marshmallow import fields, validate

from asll.extensions import db
from asll.models import RetentionPolicy, Role, User
from asll.models.base import utcnow
from asll.models.rgpd import DEFAULT_ACTIVE_MONTHS, DEFAULT_ARCHIVE_YEARS, DEFAULT_AUDIT_MONTHS, DEFAULT_EXPORT_K
from asll.services import audit
from asll.services.actor import Actor
from asll.services.errors import Conflict, PermissionDenied
from asll.services.schemas import INT, FrenchSchema
from asll.services.validation import load

POLICY_FIELDS = ("active_months", "archive_enabled", "archive_years", "audit_months", "export_k")


def _months(label: str, low: int, high: int, hint: str) -> fields.Integer:
    return fields.Integer(required=True, error_messages=INT, metadata={"label": label, "description": hint},
                          validate=validate.Range(min=low, max=high, error=f"Entre {low} et {high}."))


class RetentionPolicySchema(FrenchSchema):
    active_months = _months("Conservation en base active après le dernier contact (mois)", 6, 120,
                            "Le référentiel de la CNIL prévoit 2 ans (24 mois) après le dernier contact : demande, "
                            "décision, événement d'une mesure, document ou contact enregistré. Passé ce délai, le "
                            "dossier est anonymisé.")
    archive_enabled = fields.Boolean(load_default=False, metadata={
        "label": "Verser les décisions d'attribution et les montants en archive intermédiaire",
        "description": "Pour les comptes du FSL : ces éléments, avec l'identité du ménage, sont conservés à part, "
                       "consultables par le délégué à la protection des données et les auditeurs seulement."})
    archive_years = _months("Durée de l'archive intermédiaire (années)", 1, 30,
                            "Durée légale fixée par le Département (par exemple 10 ans pour les pièces "
                            "justificatives comptables). L'archive est ensuite détruite.")
    audit_months = _months("Conservation du journal d'audit (mois)", 6, 12,
                           "Traces des consultations et modifications : 6 mois à 1 an selon le référentiel.")
    export_k = fields.Integer(
        load_default=DEFAULT_EXPORT_K, error_messages=INT,
        validate=validate.Range(min=2, max=50, error="Entre 2 et 50."),
        metadata={"label": "Seuil d'anonymat des exports pseudonymisés (k)",
                  "description": "Dans un export pseudonymisé, une combinaison de caractéristiques (tranche d'âge, "
                                 "taille du ménage, tranche de ressources, secteur, type de mesure…) partagée par "
                                 "moins de k lignes est d'abord généralisée, puis masquée : aucune personne ne peut "
                                 "y être reconnue à une combinaison rare. 5 par défaut."})


@dataclass(frozen=True)
class Policy:
    active_months: int = DEFAULT_ACTIVE_MONTHS
    archive_enabled: bool = True
    archive_years: int = DEFAULT_ARCHIVE_YEARS
    audit_months: int = DEFAULT_AUDIT_MONTHS
    export_k: int = DEFAULT_EXPORT_K
    version: int = 0  # 0: the defaults, never saved
    changed_at: datetime | None = None
    changed_by: str = ""

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in POLICY_FIELDS}


def _row() -> RetentionPolicy | None:
    return db.session.scalar(sa.select(RetentionPolicy))


def policy_for(tenant_id: int) -> Policy:
    """The policy of the current tenant (``tenant_id`` must be the tenant context's)."""
    row = _row()
    if row is None:
        return Policy()
    author = db.session.scalar(sa.select(User.full_name).where(User.id == row.changed_by_id)) or ""
    return Policy(row.active_months, row.archive_enabled, row.archive_years, row.audit_months,
                  row.export_k or DEFAULT_EXPORT_K, row.version, row.changed_at, author)


def require_admin(actor: Actor) -> None:
    if actor.tenant_id is None or not actor.has(Role.DEPT_ADMIN):
        raise PermissionDenied("Seul un administrateur départemental peut modifier la politique de conservation.")


def update_policy(actor: Actor, data: dict, expected: int | None = None) -> Policy:
    """Save the admin's policy; ``expected`` is the version their form showed (0 for the defaults)."""
    require_admin(actor)
    loaded = load(RetentionPolicySchema(), data)
    row = _row()
    seen = row.version if row else 0
    if expected is not None and expected != seen:
        raise Conflict("La politique de conservation vient d'être modifiée par quelqu'un d'autre ; rechargez la page.")
    before = policy_for(actor.tenant_id).as_dict()
    if row is None:
        row = RetentionPolicy(**loaded, tenant_id=actor.tenant_id, version=1, changed_by_id=actor.user_id,
                              changed_at=utcnow())
        db.session.add(row)
    else:
        won = db.session.execute(
            sa.update(RetentionPolicy).where(RetentionPolicy.id == row.id, RetentionPolicy.version == seen)
            .values(version=seen + 1, changed_at=utcnow(), changed_by_id=actor.user_id, **loaded)
            .execution_options(synchronize_session=False)).rowcount == 1
        if not won:
            db.session.rollback()
            raise Conflict("La politique de conservation vient d'être modifiée par quelqu'un d'autre ; "
                           "rechargez la page.")
    db.session.flush()
    audit.record(actor, "rgpd.policy", object_type="rgpd_retention_policy", object_id=row.id,
                 changes=audit.diff(before, loaded))
    db.session.commit()
    db.session.expire_all()
    return policy_for(actor.tenant_id)
