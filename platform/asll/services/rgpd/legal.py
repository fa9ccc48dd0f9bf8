"""The legal pages of a département (mentions légales, données personnelles, accessibilité, aide)
and its record of processing (registre des activités de traitement, RGPD art. 30).

Their texts are a tenant setting with French defaults (:data:`DEFAULTS`, ``{departement}`` is
replaced by the département's name with its article, « de la Loire », « de l'Orne »: the
plugin's ``PluginInfo.name_with_article``, see :func:`departement_de`); a département admin
edits them (audited). The retention
durations come from the retention policy, so the pages and the record never contradict what
the retention task does. The pages are public: a person in a file, without an account, reads
the page of their département (``?departement=42``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import sqlalchemy as sa
from marshmallow import fields, validate

from asll.extensions import db
from asll.models import LegalNotice, Role, Tenant
from asll.models.base import utcnow
from asll.services import audit
from asll.services.actor import Actor
from asll.services.errors import Conflict, PermissionDenied
from asll.services.rgpd.policy import Policy, policy_for
from asll.services.schemas import FrenchSchema
from asll.services.validation import load
from asll.tenancy import tenant_context, unscoped

ACCESSIBILITY_LEVELS = {
    "totalement conforme": "Totalement conforme au RGAA",
    "partiellement conforme": "Partiellement conforme au RGAA",
    "non conforme": "Non conforme au RGAA",
}

DEFAULTS = {
    "editor": "Département {departement}, collectivité territoriale.\nService logement – Fonds de solidarité "
              "logement (FSL).",
    "publication_director": "Le président ou la présidente du conseil départemental {departement}.",
    "host": "La plateforme est hébergée en France par le prestataire retenu par le Département {departement} ; "
            "ses coordonnées sont communiquées sur simple demande au service logement.",
    "controller": "Le Département {departement}, représenté par le président ou la présidente du conseil "
                  "départemental.",
    "dpo_contact": "Le délégué à la protection des données du Département {departement}, joignable par courrier "
                   "à l'hôtel du Département ou par l'adresse électronique indiquée sur le site du Département.",
    "purposes": "Instruire les demandes d'accompagnement social lié au logement (ASLL), les présenter aux "
                "commissions, notifier les décisions, suivre les mesures accordées et leurs échéances, établir "
                "les bilans et les statistiques annuelles d'activité du plan départemental (PDALHPD) et du fonds "
                "de solidarité logement (FSL).",
    "legal_basis": "Mission d'intérêt public et obligation légale (RGPD, article 6.1.c et 6.1.e) : loi n° 90-449 "
                   "du 31 mai 1990 visant à la mise en œuvre du droit au logement, règlement intérieur du FSL "
                   "du Département. Les données relatives à la santé éventuellement mentionnées le sont au titre "
                   "de l'article 9.2.h du RGPD (action sociale).",
    "data_categories": "Identité et composition du ménage, date de naissance, adresse et situation de logement, "
                       "ressources, diagnostic social préalable, adhésion du ménage, décisions, déroulement de la "
                       "mesure (contrat, plan d'action, bilan), documents et courriers.",
    "recipients": "Les agents habilités du Département, les membres et secrétariats des commissions, le "
                  "service instructeur (prescripteur) et l'association chargée de l'accompagnement, chacun pour "
                  "les dossiers qui le concernent ; le bailleur, pour la décision, lorsque le ménage l'a accepté. "
                  "Les statistiques transmises aux partenaires sont anonymes ou pseudonymisées.",
    "rights": "Vous pouvez accéder aux données vous concernant, les faire rectifier, demander leur effacement "
              "lorsqu'aucune obligation légale ne s'y oppose, ou la limitation de leur traitement, et vous "
              "opposer au traitement pour des raisons tenant à votre situation particulière. Adressez votre "
              "demande au délégué à la protection des données (ci-dessous), avec un justificatif d'identité. "
              "Si vous estimez, après nous avoir contactés, que vos droits ne sont pas respectés, vous pouvez "
              "adresser une réclamation à la CNIL (www.cnil.fr).",
    "accessibility_level": "non conforme",
    "accessibility_details": "Le Département {departement} s'engage à rendre ce service accessible conformément à "
                             "l'article 47 de la loi n° 2005-102 du 11 février 2005.\nAucun audit complet du "
                             "référentiel général d'amélioration de l'accessibilité (RGAA 4.1) n'a encore été "
                             "réalisé : le service est donc déclaré non conforme. À chaque version, les pages "
                             "principales sont vérifiées par des tests automatisés (axe-core), sur grand écran "
                             "(1366 pixels) et sur téléphone (390 pixels), sans erreur relevée ; ces tests ne "
                             "couvrent qu'une partie des critères du RGAA.",
    "accessibility_contact": "Si vous n'arrivez pas à accéder à un contenu ou à un service, contactez le service "
                             "logement du Département {departement} pour être orienté vers une alternative "
                             "accessible. Si vous n'obtenez pas de réponse, vous pouvez saisir le Défenseur des "
                             "droits (www.defenseurdesdroits.fr).",
    "help_text": "Cette plateforme sert aux professionnels de l'ASLL : services instructeurs, associations, "
                 "secrétariats des commissions et agents du Département. Pour obtenir un compte, adressez-vous "
                 "à l'administration du Département. Pour toute question sur une demande ou une mesure, "
                 "contactez le service logement.",
    "help_contact": "Service logement du Département {departement} – aux heures d'ouverture des services.",
}

LABELS = {
    "editor": "Éditeur du service",
    "publication_director": "Directeur ou directrice de la publication",
    "host": "Hébergement",
    "controller": "Responsable du traitement",
    "dpo_contact": "Délégué à la protection des données",
    "purposes": "Finalités du traitement",
    "legal_basis": "Base légale",
    "data_categories": "Données traitées",
    "recipients": "Destinataires",
    "rights": "Vos droits",
    "accessibility_level": "État de conformité (RGAA)",
    "accessibility_details": "Résultats des tests et contenus non accessibles",
    "accessibility_contact": "Retour d'information et voies de recours",
    "help_text": "Aide",
    "help_contact": "Contact",
}


def _text(name: str) -> fields.String:
    return fields.String(required=True, metadata={"label": LABELS[name], "multiline": True},
                         validate=validate.Length(min=1, max=5000, error="Entre 1 et 5 000 caractères."),
                         error_messages={"required": "Ce champ est obligatoire.", "null": "Ce champ est obligatoire."})


class LegalNoticeSchema(FrenchSchema):
    editor = _text("editor")
    publication_director = _text("publication_director")
    host = _text("host")
    controller = _text("controller")
    dpo_contact = _text("dpo_contact")
    purposes = _text("purposes")
    legal_basis = _text("legal_basis")
    data_categories = _text("data_categories")
    recipients = _text("recipients")
    rights = _text("rights")
    accessibility_level = fields.String(required=True, metadata={"label": LABELS["accessibility_level"]},
                                        validate=validate.OneOf(list(ACCESSIBILITY_LEVELS),
                                                                labels=list(ACCESSIBILITY_LEVELS.values()),
                                                                error="État de conformité inconnu."))
    accessibility_details = _text("accessibility_details")
    accessibility_contact = _text("accessibility_contact")
    help_text = _text("help_text")
    help_contact = _text("help_contact")


PAGES = {
    "mentions": ("Mentions légales", ("editor", "publication_director", "host")),
    "donnees": ("Données personnelles", ("controller", "purposes", "legal_basis", "data_categories", "recipients",
                                         "rights", "dpo_contact")),
    "accessibilite": ("Déclaration d'accessibilité", ("accessibility_level", "accessibility_details",
                                                       "accessibility_contact")),
    "aide": ("Aide et contact", ("help_text", "help_contact")),
}


@dataclass(frozen=True)
class Notice:
    tenant_name: str
    values: dict
    policy: Policy
    customised: bool
    version: int
    tenant_de: str = ""  # « de la Loire »: what follows « Département » in a title

    def text(self, key: str) -> str:
        return self.values[key]


_VOWELS = tuple("AEIOUYÉÈÊÂÎÔÛH")


def with_article(name: str) -> str:
    """The core's guess when a plugin gives no ``name_with_article``: « de l'Ain », « de Paris ».

    The gender (« de la Loire », « du Nord ») cannot be guessed from the name; the plugins give it."""
    name = name.strip()
    return f"de l'{name}" if name.upper().startswith(_VOWELS) else f"de {name}"


def departement_de(code: str, name: str) -> str:
    """« de la Loire »: the enabled-or-not plugin of the département's code says it, else :func:`with_article`."""
    from asll.services import plugins as plugin_service

    for info in plugin_service.registry().infos.values():
        if info.departement_code == code and getattr(info, "name_with_article", ""):
            return info.name_with_article
    return with_article(name)


def tenant_de(tenant_id: int) -> str:
    with unscoped():
        tenant = db.session.get(Tenant, tenant_id)
    return departement_de(tenant.code, tenant.name)


def _defaults(departement: str) -> dict:
    return {key: value.replace("{departement}", departement) for key, value in DEFAULTS.items()}


def notice_for(tenant_id: int | None) -> Notice:
    """The texts of a tenant (its admin's, over the defaults), or the platform's generic ones (``None``)."""
    if tenant_id is None:
        return Notice("", _defaults("concerné").copy(), Policy(), False, 0)
    with unscoped():
        tenant = db.session.get(Tenant, tenant_id)
    with tenant_context(tenant_id):
        row = db.session.scalar(sa.select(LegalNotice))
        policy = policy_for(tenant_id)
    de = departement_de(tenant.code, tenant.name)
    values = _defaults(de)
    if row is not None:
        values.update({k: v for k, v in (row.content or {}).items() if k in DEFAULTS and v})
    return Notice(tenant.name, values, policy, row is not None, row.version if row else 0, de)


def accessibility_level(tenant_id: int | None) -> str:
    """The declared RGAA level alone (one query): every page's footer says it."""
    if tenant_id is None:
        return DEFAULTS["accessibility_level"]
    with tenant_context(tenant_id):
        content = db.session.scalar(sa.select(LegalNotice.content)) or {}
    return content.get("accessibility_level") or DEFAULTS["accessibility_level"]


def retention_text(policy: Policy) -> str:
    """The durations the retention task applies, in French (pages and record of processing)."""
    years, months = divmod(policy.active_months, 12)
    active = (f"{years} an{'s' if years > 1 else ''}" if not months else f"{policy.active_months} mois")
    text = (f"Les dossiers sont conservés pendant la durée de l'accompagnement puis {active} après le dernier "
            "contact avec le ménage, puis anonymisés : les statistiques restent, plus rien ne permet "
            "d'identifier les personnes.")
    if policy.archive_enabled:
        text += (f" Les décisions d'attribution et les montants versés nécessaires aux comptes du FSL sont "
                 f"conservés en archive intermédiaire, à accès restreint, pendant {policy.archive_years} an"
                 f"{'s' if policy.archive_years > 1 else ''}, puis détruits.")
    text += (f" Le journal des consultations et des modifications est conservé {policy.audit_months} mois.")
    return text


def update_notice(actor: Actor, data: dict, expected: int | None = None) -> Notice:
    """Save the admin's texts (every field, validated); ``expected`` is the version their form showed."""
    if actor.tenant_id is None or not actor.has(Role.DEPT_ADMIN):
        raise PermissionDenied("Seul un administrateur départemental peut modifier les pages légales.")
    loaded = load(LegalNoticeSchema(), data)
    row = db.session.scalar(sa.select(LegalNotice))
    seen = row.version if row else 0
    conflict = "Les pages légales viennent d'être modifiées par quelqu'un d'autre ; rechargez la page."
    if expected is not None and expected != seen:
        raise Conflict(conflict)
    before = notice_for(actor.tenant_id).values
    if row is None:
        row = LegalNotice(content=loaded, tenant_id=actor.tenant_id, version=1, changed_by_id=actor.user_id,
                          changed_at=utcnow())
        db.session.add(row)
    elif db.session.execute(sa.update(LegalNotice).where(LegalNotice.id == row.id, LegalNotice.version == seen)
                            .values(content=loaded, version=seen + 1, changed_by_id=actor.user_id,
                                    changed_at=utcnow()).execution_options(synchronize_session=False)).rowcount != 1:
        db.session.rollback()
        raise Conflict(conflict)
    db.session.flush()
    audit.record(actor, "rgpd.legal_notice", object_type="rgpd_legal_notice", object_id=row.id,
                 changes={key: "modifié" for key in sorted(loaded) if loaded[key] != before.get(key)})
    db.session.commit()
    db.session.expire_all()
    return notice_for(actor.tenant_id)


# -- the record of processing ------------------------------------------------------------------
SECURITY_MEASURES = (
    "Cloisonnement des départements par construction (chaque requête est filtrée sur le département courant) ; "
    "habilitations par rôle et par organisme ; chaque consultation et chaque modification d'un dossier est "
    "enregistrée dans un journal d'audit chaîné (toute altération est détectée) ; sessions révocables et second "
    "facteur d'authentification ; pages et fichiers jamais conservés dans les caches ; exports pseudonymisés "
    "pour les partenaires ; anonymisation automatique à l'échéance de conservation.")


def register_rows(tenant_id: int) -> list[tuple[str, str]]:
    notice = notice_for(tenant_id)
    values = notice.values
    return [
        ("Nom du traitement", "Accompagnement social lié au logement (ASLL) – plateforme de gestion des demandes "
                              "et des mesures"),
        ("Responsable du traitement", values["controller"]),
        ("Délégué à la protection des données", values["dpo_contact"]),
        ("Finalités", values["purposes"]),
        ("Base légale", values["legal_basis"]),
        ("Personnes concernées", "Ménages demandeurs ou bénéficiaires d'une mesure ASLL et leurs membres ; "
                                 "professionnels utilisateurs de la plateforme."),
        ("Catégories de données", values["data_categories"]),
        ("Destinataires", values["recipients"]),
        ("Transferts hors de l'Union européenne", "Aucun."),
        ("Durées de conservation", retention_text(notice.policy)),
        ("Mesures de sécurité", SECURITY_MEASURES),
    ]


def register_csv(tenant_id: int) -> bytes:
    """The record of processing as CSV (UTF-8 with BOM, ``;``: what French spreadsheets open as is)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(("Rubrique", "Contenu"))
    for row in register_rows(tenant_id):
        writer.writerow(row)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def public_tenants() -> list[Tenant]:
    """The départements whose pages anyone may read (the footer's choice when nobody is logged in)."""
    with unscoped():
        return list(db.session.scalars(sa.select(Tenant).where(Tenant.active).order_by(Tenant.code)))


def tenant_by_code(code: str) -> Tenant | None:
    with unscoped():
        return db.session.scalar(sa.select(Tenant).where(Tenant.code == (code or "").strip()[:3], Tenant.active))
