"""Demo data: the four départements with their plugins, seed organisations and one user per role."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from asll.extensions import db
from asll.models import Organisation, OrganisationKind, Role, User
from asll.plugins.contract import OrganisationSpec
from asll.services import plugins as plugin_service
from asll.services import tenants, users
from asll.services.actor import Actor
from asll.tenancy import tenant_context

DEMO_PASSWORD = "demo-asll-2026"
DEMO_DOMAIN = "demo-asll.fr"

ROLE_SLUGS = {
    Role.DEPT_ADMIN: "admin",
    Role.DEPT_AGENT: "agent",
    Role.COMMISSION_SECRETARY: "secretariat",
    Role.COMMISSION_MEMBER: "membre",
    Role.PRESCRIBER: "prescripteur",
    Role.OPERATOR_WORKER: "operateur",
    Role.AUDITOR: "auditeur",
}

# Which organisation kind a demo user of each role belongs to.
ROLE_ORGANISATION_KIND = {
    Role.DEPT_AGENT: OrganisationKind.DEPT_SERVICE,
    Role.COMMISSION_SECRETARY: OrganisationKind.COMMISSION_SECRETARIAT,
    Role.PRESCRIBER: OrganisationKind.PRESCRIBER,
    Role.OPERATOR_WORKER: OrganisationKind.OPERATOR,
}

FALLBACK_ORGANISATIONS = {
    OrganisationKind.PRESCRIBER: "Service social départemental",
    OrganisationKind.DEPT_SERVICE: "Service logement du Département",
    OrganisationKind.COMMISSION_SECRETARIAT: "Secrétariat des commissions ASLL",
    OrganisationKind.OPERATOR: "Association d'accompagnement (démonstration)",
}


@dataclass(frozen=True)
class Credential:
    email: str
    role: str
    tenant: str


def _user(system: Actor, email: str, full_name: str, *, platform_admin: bool = False) -> tuple[User, bool]:
    existing = db.session.scalar(sa.select(User).where(User.email == email))
    if existing is not None:
        return existing, False
    return users.create_user(system, {"email": email, "full_name": full_name, "password": DEMO_PASSWORD},
                             platform_admin=platform_admin), True


def load_demo_data() -> list[Credential]:
    """Create (idempotently) the demo départements; return the demo accounts."""
    system = Actor.system(label="données de démonstration")
    credentials = [Credential(f"plateforme@{DEMO_DOMAIN}", "Administrateur de la plateforme", "—")]
    _user(system, credentials[0].email, "Administratrice Plateforme", platform_admin=True)
    registry = plugin_service.registry()
    for plugin in registry.plugin_names:
        info = registry.infos[plugin]
        tenant = tenants.tenant_by_code(info.departement_code)
        if tenant is None:
            tenant = tenants.create_tenant(system, info.departement_code, info.departement_name)
        db.session.commit()
        if plugin not in plugin_service.enabled_plugins(tenant.id):
            plugin_service.set_enabled(system, tenant.id, plugin, True)
        tenant_actor = Actor.system(tenant.id, label="données de démonstration")
        with tenant_context(tenant.id):
            by_kind = _organisations(tenant_actor, plugin_service.call(tenant.id, "asll_organisations"))
            for role, slug in ROLE_SLUGS.items():
                email = f"{slug}.{info.departement_code}@{DEMO_DOMAIN}"
                user, created = _user(system, email, f"{role.label} {info.departement_name}")
                kind = ROLE_ORGANISATION_KIND.get(role)
                if created:
                    users.add_membership(tenant_actor, user, tenant.id, role,
                                         by_kind[kind].id if kind else None)
                credentials.append(Credential(email, role.label, f"{info.departement_name} ({info.departement_code})"))
            db.session.commit()
    # One account with two départements, to show the explicit switch of tenant.
    multi_email = f"auditeur.multi@{DEMO_DOMAIN}"
    multi, created = _user(system, multi_email, "Auditrice interdépartementale")
    if created:
        for code in sorted(registry.infos[p].departement_code for p in registry.plugin_names)[:2]:
            tenant = tenants.tenant_by_code(code)
            users.add_membership(Actor.system(tenant.id), multi, tenant.id, Role.AUDITOR)
    db.session.commit()
    credentials.append(Credential(multi_email, Role.AUDITOR.label, "plusieurs départements"))
    return credentials


def load_demo_cases() -> dict[str, tuple[int, list[str]]]:
    """Play every tenant's demo cases (after :func:`load_demo_data`)."""
    results = {}
    for tenant in tenants.all_tenants():
        results[tenant.code] = play_demo_cases(tenant.id)
    return results


def _organisations(actor: Actor, specs: list[list[OrganisationSpec]]) -> dict[OrganisationKind, Organisation]:
    """Create the plugin's seed organisations; return the first of each kind, creating fallbacks."""
    existing = {o.name: o for o in db.session.scalars(sa.select(Organisation))}
    first: dict[OrganisationKind, Organisation] = {}
    flat = [spec for group in specs for spec in (group or [])]
    for kind, name in FALLBACK_ORGANISATIONS.items():
        if not any(OrganisationKind(s.kind) is kind for s in flat):
            flat.append(OrganisationSpec(name=name, kind=kind.value))
    for spec in flat:
        organisation = existing.get(spec.name) or tenants.create_organisation(actor, spec)
        existing[spec.name] = organisation
        first.setdefault(organisation.kind, organisation)
    return first


def _open_session(actor: Actor, sessions: dict, commission_code: str, on) -> int:
    """A planned session of the commission on that day, created when none is still open."""
    from asll.models import CommissionSession, SessionStatus
    from asll.services import decisions

    key = (commission_code, on)
    session_id = sessions.get(key)
    if session_id is not None:
        status = db.session.scalar(sa.select(CommissionSession.status).where(CommissionSession.id == session_id))
        if status is SessionStatus.PLANNED:
            return session_id
    sessions[key] = decisions.create_session(actor, {"commission_code": commission_code,
                                                     "session_date": on.isoformat()}).id
    return sessions[key]


def _demo_actor(tenant_id: int) -> Actor:
    """Acts for every role of the tenant, in the name of its demo admin (demo data only)."""
    from asll.models import Membership

    admin_id = db.session.scalar(sa.select(Membership.user_id).where(Membership.role == Role.DEPT_ADMIN)
                                 .order_by(Membership.id).limit(1))
    organisation_ids = frozenset(db.session.scalars(sa.select(Organisation.id)))
    return Actor(user_id=admin_id, label="données de démonstration", tenant_id=tenant_id,
                 roles=frozenset(Role), organisation_ids=organisation_ids)


def play_demo_cases(tenant_id: int) -> tuple[int, list[str]]:
    """Play the plugins' demo cases through the services; return (cases played, errors).

    Skipped when the tenant already has households, so that running the demo twice
    never duplicates cases.
    """
    from asll.models import Household
    from asll.plugins.contract import DemoCase
    from asll.services import decisions, measures, requests
    from asll.services.errors import ServiceError

    with tenant_context(tenant_id):
        if db.session.scalar(sa.select(sa.func.count(Household.id))):
            return 0, []
        actor = _demo_actor(tenant_id)
        commissions = plugin_service.commissions(tenant_id)
        sessions: dict[tuple[str, object], int] = {}
        played, errors = 0, []
        for plugin, case in plugin_service.collect(tenant_id, "asll_demo_cases"):
            assert isinstance(case, DemoCase)
            label = f"{plugin} – {case.last_name} ({case.measure_type})"
            try:
                household = requests.create_household(actor, {
                    **case.household,
                    "members": case.household.get("members") or [
                        {"last_name": case.last_name, "first_name": case.first_name, "is_reference": True}],
                })
                request = requests.save_draft(actor, {"household_id": household.id,
                                                      "measure_type": case.measure_type, **case.request})
                measure_id = None
                for step in case.steps:
                    data = dict(step.data)
                    if step.action == "support_measure":
                        requests.add_support_measure(actor, household.id, data)
                    elif step.action == "submit":
                        requests.submit(actor, request.id)
                    elif step.action in ("schedule", "decide"):
                        commission = commissions.get(request.commission_code or "")
                        if commission is not None and commission.role.value != "single_decider":
                            session_id = _open_session(actor, sessions, commission.code, step.on)
                            if request.status.value == "submitted":
                                decisions.build_agenda(actor, session_id, [request.id])
                            if step.action == "schedule":
                                continue
                            decision = decisions.decide_in_session(actor, session_id, {request.id: data})[0]
                        else:
                            decision = decisions.decide_alone(actor, request.id,
                                                              {"decision_date": step.on.isoformat(), **data})
                        measure_id = decision.measure_id
                    else:
                        if measure_id is None:
                            raise ServiceError(f"étape « {step.action} » sans mesure accordée")
                        measures.transition(actor, measure_id, step.action, data)
                played += 1
            except ServiceError as exc:
                db.session.rollback()
                details = getattr(exc, "fields", None) or exc.violations or ""
                errors.append(f"{label} : {exc.message} {details}".strip())
    return played, errors
