"""Which commissions a secretariat serves: the DDCS runs the commission des situations atypiques,
another secretariat the commission unique de sous-location (PDALPD). A secretary programmes,
fills and records only the sessions of the commissions their secretariat serves, and only they
are reminded of those commissions' deadlines; they read only those commissions' files."""

from __future__ import annotations

import re

from asll.extensions import db
from asll.models import CommissionSession, Organisation, Role
from asll.services import admin, cases, decisions, documents, users, views
from asll.services.actor import Actor
from asll.services.errors import NotFound, PermissionDenied, ValidationFailed
from asll.services.reminders import Directory
from asll_moselle.codes import BAIL_GLISSANT, DEPARTEMENT, SITUATION_ATYPIQUE, SITUATIONS_ATYPIQUES, SOUS_LOCATION
from tests.conftest import login
from tests.core.workflow_support import refused
from tests.plugins.departement import PASSWORD

PLAN = [{"action": "Proposer un logement PLAI adapté", "pilote": "Bailleur social"}]


def _serve(moselle, org_key: str, codes: list[str]) -> None:
    """The département admin says, on the organisation's page, which commissions it serves."""
    organisation = db.session.get(Organisation, moselle.org(org_key))
    values = {name: getattr(organisation, name) for name in admin.ORGANISATION_FIELDS}
    admin.update_organisation(moselle.actor("admin"), organisation.id, {
        **values, "kind": organisation.kind.value, "commission_codes": codes})


def _secretary_of(moselle, org_key: str, email: str) -> Actor:
    user = users.create_user(Actor.system(), {"email": email, "full_name": "Secrétaire", "password": PASSWORD})
    users.add_membership(Actor.system(moselle.dept.tenant_id), user, moselle.dept.tenant_id,
                         Role.COMMISSION_SECRETARY, moselle.org(org_key))
    db.session.commit()
    return Actor.for_user(user, users.memberships_of(user.id), moselle.dept.tenant_id)


def test_a_secretary_runs_only_the_sessions_of_the_commissions_their_secretariat_serves(moselle):
    _serve(moselle, "ddcs", [SITUATIONS_ATYPIQUES])
    ddcs = moselle.actor("secretary")
    exc = refused(PermissionDenied, decisions.create_session, ddcs,
                  {"commission_code": SOUS_LOCATION, "session_date": "2026-01-27"})
    assert exc.message == "Votre secrétariat ne sert pas la commission « Commission unique de sous-location »."
    # Its own commission: programme, agenda, decisions, attendance.
    atypical = moselle.request(SITUATION_ATYPIQUE, problematiques=["addictions"])
    session = decisions.create_session(ddcs, {"commission_code": SITUATIONS_ATYPIQUES, "session_date": "2026-01-27"})
    decisions.build_agenda(ddcs, session.id, [atypical])
    [decision] = decisions.decide_in_session(ddcs, session.id, {atypical: {
        "outcome": "granted", "operator_id": moselle.org("metz"), "extra": {"plan_actions": PLAN}}})
    assert decision.measure_id is not None
    admin.record_attendance(ddcs, session.id, "Mme Weber (DDCS), M. Klein (Département)")
    # The sous-location commission's session, programmed by the département admin: hands off.
    sliding = moselle.request(BAIL_GLISSANT)
    other = decisions.create_session(moselle.actor("admin"), {"commission_code": SOUS_LOCATION,
                                                              "session_date": "2026-01-28"})
    for attempt in (lambda: decisions.build_agenda(ddcs, other.id, [sliding]),
                    lambda: decisions.decide_in_session(ddcs, other.id, {sliding: {"outcome": "refused",
                                                                                   "reason": "Hors PDALPD."}}),
                    lambda: admin.record_attendance(ddcs, other.id, "Personne")):
        exc = refused(PermissionDenied, attempt)
        assert exc.message == "Votre secrétariat ne sert pas la commission « Commission unique de sous-location »."
    db.session.expire_all()
    assert db.session.get(CommissionSession, other.id).items == []
    assert db.session.get(CommissionSession, other.id).members_present == ""
    # The département admin serves every commission.
    decisions.build_agenda(moselle.actor("admin"), other.id, [sliding])
    assert [item.request_id for item in db.session.get(CommissionSession, other.id).items] == [sliding]


def test_a_secretariat_that_lists_no_commission_serves_them_all(moselle):
    secretary = moselle.actor("secretary")  # DDCS, nothing listed yet
    created = {decisions.create_session(secretary, {"commission_code": code, "session_date": "2026-01-27"}).id
               for code in (SITUATIONS_ATYPIQUES, SOUS_LOCATION)}
    assert {s.id for s in views.list_sessions(secretary).items} == created


def test_only_a_secretariat_serves_commissions_and_only_known_ones(moselle):
    exc = refused(ValidationFailed, _serve, moselle, "caf", [SOUS_LOCATION])
    assert exc.fields == {"commission_codes": ["Seul un secrétariat de commission sert des commissions."]}
    for code in ("moselle.inconnue", DEPARTEMENT):  # the Département decides alone: no session to serve
        exc = refused(ValidationFailed, _serve, moselle, "ddcs", [code])
        assert exc.fields == {"commission_codes": {0: [
            "Commission inconnue dans ce département, ou qui décide seule, sans séance."]}}
    _serve(moselle, "ddcs", [SITUATIONS_ATYPIQUES])
    db.session.expire_all()
    assert db.session.get(Organisation, moselle.org("ddcs")).commission_codes == [SITUATIONS_ATYPIQUES]


def test_a_commissions_deadlines_remind_only_the_secretaries_who_serve_it(moselle):
    _serve(moselle, "ddcs", [SITUATIONS_ATYPIQUES])
    tenant_wide = _secretary_of(moselle, "departement", "secretaire.departement@test.asll.fr")  # no secretariat
    ddcs = moselle.actor("secretary").user_id
    directory = Directory()

    def reminded(code):
        return {user_id for user_id, _ in directory.resolve(
            Role.COMMISSION_SECRETARY.value, operator_id=None, worker_id=None, filed_by_id=None,
            prescriber_org_id=None, commission_code=code)}

    assert reminded(SITUATIONS_ATYPIQUES) == {ddcs, tenant_wide.user_id}
    assert reminded(SOUS_LOCATION) == {tenant_wide.user_id}
    assert reminded(None) == {ddcs, tenant_wide.user_id}  # a measure decided without a commission


def test_the_session_form_offers_only_the_commissions_served(moselle, app):
    _serve(moselle, "ddcs", [SITUATIONS_ATYPIQUES])
    client = app.test_client()
    assert login(client, "secretary.57@test.asll.fr", PASSWORD).status_code == 302
    html = client.get("/commissions").get_data(as_text=True)
    form_select = re.search(r'<select[^>]*name="commission_code".*?</select>', html, re.S).group(0)
    assert re.findall(r'<option value="(moselle\.[a-z_]+)"', form_select) == [SITUATIONS_ATYPIQUES]
    assert SOUS_LOCATION in html  # the filter of the sessions list still names every commission


def test_a_secretary_reads_only_the_files_of_the_commissions_served(moselle):
    """Need to know: the DDCS secretary does not read the sous-location commission's requests,
    measures and sessions; a secretariat that lists no commission reads them all."""
    _serve(moselle, "ddcs", [SITUATIONS_ATYPIQUES])
    admin_actor, ddcs = moselle.actor("admin"), moselle.actor("secretary")
    atypical = moselle.request(SITUATION_ATYPIQUE, problematiques=["addictions"])
    sliding = moselle.request(BAIL_GLISSANT)
    own = decisions.create_session(ddcs, {"commission_code": SITUATIONS_ATYPIQUES, "session_date": "2026-01-27"})
    other = decisions.create_session(admin_actor, {"commission_code": SOUS_LOCATION, "session_date": "2026-01-28"})
    decisions.build_agenda(admin_actor, other.id, [sliding])
    [granted] = decisions.decide_in_session(admin_actor, other.id, {sliding: {
        "outcome": "granted", "operator_id": moselle.org("metz")}})

    assert [r.id for r in views.list_requests(ddcs).items] == [atypical]
    assert views.list_measures(ddcs).items == []
    assert [s.id for s in views.list_sessions(ddcs).items] == [own.id]
    for read in (lambda: cases.get_request(ddcs, sliding), lambda: cases.get_measure(ddcs, granted.measure_id),
                 lambda: views.get_session(ddcs, other.id)):
        refused(NotFound, read)
    assert cases.get_request(ddcs, atypical).id == atypical
    minutes = documents.minutes(admin_actor, other.id)  # the session was held: its minutes exist
    for read in (lambda: documents.open_document(ddcs, minutes.id),
                 lambda: documents.list_documents(ddcs, session_id=other.id)):
        refused(NotFound, read)

    everything = _secretary_of(moselle, "departement", "secretaire.departement@test.asll.fr")  # no secretariat
    assert {r.id for r in views.list_requests(everything).items} == {atypical, sliding}
    assert [m.id for m in views.list_measures(everything).items] == [granted.measure_id]
    assert {s.id for s in views.list_sessions(everything).items} == {own.id, other.id}
    assert documents.open_document(everything, minutes.id)[0].id == minutes.id
