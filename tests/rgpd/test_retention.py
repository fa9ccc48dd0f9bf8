"""The retention task on the fixed clock: who is anonymised when, the dry run, the statistics of a past year.

Files are built through the services in the Loire on the core's fake département (``env``,
clock at 2 March 2026); the clock then moves two years ahead and the beat's daily task runs
(in-process), exactly as production runs it.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from asll.extensions import db
from asll.models import (
    AnonymisedHousehold,
    ArchiveEntry,
    AuditEvent,
    Decision,
    Document,
    Household,
    HouseholdMember,
    Measure,
    MeasureEvent,
    Request,
    Role,
)
from asll.services import measures, requests, statistics
from asll.services.rgpd import policy as policy_service
from asll.services.rgpd import retention
from asll.services.errors import Conflict, PermissionDenied, ValidationFailed
from tests.core.workflow_support import DIAGNOSTIC, granted_measure, refused, submitted_request
from tests.rgpd.conftest import anonymise_entries, attach, household, reference_names, run_retention_task


def test_a_file_two_years_and_a_day_after_its_last_contact_is_anonymised_one_a_day_short_is_not(env, app, uploads):
    old = household(env, "Aubert")  # last contact: created on 2 March 2026
    factory = env.world.loire.household.id  # the shared test file, created (and decided) the same day
    env.clock.to("2026-03-04")
    recent = household(env, "Bonnet")  # last contact: 4 March 2026
    env.clock.to("2028-03-03", 9)  # 2 years + 1 day after the first, 2 years - 1 day after the second

    result = run_retention_task(app)

    assert result["on_date"] == "2028-03-03"
    assert set(anonymise_entries(env.tenant_id)) == {factory, old}
    assert reference_names([old]) == ["Anonymisé", "Anonymisé"]
    assert reference_names([recent]) == ["Bonnet", "Bonnet"]
    with db.session.begin_nested():
        anonymised = db.session.get(Household, old)
        assert (anonymised.address, anonymised.city, anonymised.postcode, anonymised.family_situation,
                anonymised.monthly_resources) == ("", "", "", "", None)
        assert (anonymised.sector, anonymised.resources_kind, anonymised.housing_status.value) == (
            "Centre", "RSA", "hosted")  # what the statistics count stays
        births = db.session.scalars(sa.select(HouseholdMember.birth_date).where(HouseholdMember.household_id == old))
        assert list(births) == [None, None]
        kept = db.session.scalar(sa.select(AnonymisedHousehold).where(AnonymisedHousehold.household_id == old))
        assert kept.last_contact == date(2026, 3, 2)
        # Born in 1958: 69 in 2027, 70 in 2028; the birth date is gone, its brackets stay.
        assert kept.age_brackets == {"2028": "60 ans et plus"}
        assert db.session.get(Household, recent).address == "12 rue des Lilas Bonnet"

    # The next day's run does nothing more for the old file, and anonymises the other one the day after.
    env.clock.to("2028-03-04", 9)
    run_retention_task(app)
    assert len(anonymise_entries(env.tenant_id)) == 2
    env.clock.to("2028-03-05", 9)
    run_retention_task(app)
    assert anonymise_entries(env.tenant_id)[2:] == [recent]


def test_every_kind_of_contact_counts_and_the_dry_run_lists_exactly_what_the_task_changes(env, app, uploads):
    app_runner = app.test_cli_runner()
    only_created = household(env, "Carpentier")
    with_request = household(env, "Delmas")
    submitted_request(env, with_request)
    with_document = household(env, "Empis")
    document_request = submitted_request(env, with_document)
    with_measure = household(env, "Ferrand")
    measure_id = granted_measure(env, household_id=with_measure)  # decided on 10 March 2026 (its session)
    env.clock.to("2026-03-20")
    attach(env, document_request, "avis-imposition-empis.pdf")  # a document 18 days later
    measures.transition(env.operator, measure_id, "start", {"start_date": "2026-03-20"})  # runs to 20/09/2026
    late_event = household(env, "Gaillard")  # created 20 March

    env.clock.to("2028-03-11", 2)  # 2 years + 1 day after 10 March; before 3:30, so the next run is today
    dry_run = app_runner.invoke(args=["asll", "retention", "--dry-run", "--tenant", "42"])
    assert dry_run.exit_code == 0, dry_run.output
    listed = sorted(line.split()[0] for line in dry_run.output.splitlines() if line.startswith("    "))
    expected = sorted(db.session.scalars(sa.select(Household.reference).where(
        Household.id.in_([env.world.loire.household.id, only_created, with_request]))))
    assert listed == expected
    assert "Simulation : rien n'a été modifié." in dry_run.output
    assert anonymise_entries(env.tenant_id) == []  # the dry run wrote nothing

    run_retention_task(app)
    assert sorted(db.session.scalars(sa.select(Household.reference).where(
        Household.id.in_(anonymise_entries(env.tenant_id))))) == listed
    assert reference_names([with_document, with_measure, late_event]) == [
        "Empis", "Empis", "Ferrand", "Ferrand", "Gaillard", "Gaillard"]

    # The file with a document of 20 March waits until 21 March 2028; the running measure until its planned end.
    env.clock.to("2028-03-21", 9)
    run_retention_task(app)
    factory = env.world.loire.household.id
    assert set(anonymise_entries(env.tenant_id)) == {factory, only_created, with_request, with_document, late_event}
    env.clock.to("2028-09-21", 9)
    run_retention_task(app)
    assert set(anonymise_entries(env.tenant_id)) == {factory, only_created, with_request, with_document, late_event,
                                                     with_measure}


def test_anonymisation_removes_free_texts_and_files_and_keeps_the_archive(env, app, uploads):
    household_id = household(env, "Hamel")
    measure_id = granted_measure(env, household_id=household_id)
    request_id = db.session.scalar(sa.select(Request.id).where(Request.household_id == household_id))
    document_id = attach(env, request_id, "bail-hamel.pdf")
    stored = list(uploads.rglob("*"))
    assert [p for p in stored if p.is_file()]
    measures.transition(env.operator, measure_id, "start", {"start_date": "2026-03-16"})
    measures.transition(env.operator, measure_id, "request_prolongation", {
        "request_date": "2026-08-01", "months": 3, "reason": "Madame Hamel attend une place en foyer."})
    requests.add_support_measure(env.prescriber, household_id, {"code": "AVDL", "start_date": "2025-01-01",
                                                                 "end_date": "2025-12-31",
                                                                 "notes": "Suivie par Mme Hamel mère"})
    measures.transition(env.agent, measure_id, "end", {"end_date": "2026-09-01", "reason": "hand_over",
                                                       "hand_over_to": "CCAS de Saint-Étienne, M. Paul Hamel"})

    env.clock.to("2028-09-03", 9)
    run_retention_task(app)

    request = db.session.get(Request, request_id)
    assert (request.diagnostic, request.consent_given_by) == ({}, "")
    measure = db.session.get(Measure, measure_id)
    assert measure.hand_over_to == "" and measure.end_reason == "hand_over"
    reasons = [e.data.get("reason") for e in db.session.scalars(
        sa.select(MeasureEvent).where(MeasureEvent.measure_id == measure_id).order_by(MeasureEvent.id))]
    assert "hand_over" in reasons and not any(r and "Hamel" in r for r in reasons)
    assert db.session.get(Document, document_id) is None
    assert [p for p in uploads.rglob("*") if p.is_file()] == []
    archived = list(db.session.scalars(sa.select(ArchiveEntry).where(ArchiveEntry.household_id == household_id)))
    assert [(a.source, a.identity, a.destroy_after) for a in archived] == [
        ("decision", "HAMEL Ana", date(2038, 9, 3))]
    [entry] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "household.anonymise",
                                                             AuditEvent.object_id == household_id))
    assert entry.changes["documents_deleted"] == 1 and entry.changes["archive_entries"] == 1
    assert "Hamel" not in str(entry.changes)  # the audit says what was removed, never the values

    # After the archive period the next run destroys the archive (one audit entry per file).
    env.clock.to("2038-09-04", 9)
    run_retention_task(app)
    assert db.session.scalar(sa.select(sa.func.count(ArchiveEntry.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "rgpd.archive_destroy", AuditEvent.object_id == household_id)) == 1


def test_a_past_years_statistics_are_identical_after_anonymisation(env, app, uploads):
    """Measures of 2026 in every state, households of every age bracket: the 2026 tables do not move."""
    ids = []
    for index, (name, birth, sector, resources, status) in enumerate((
            ("Ibert", "2003-05-01", "Centre", "RSA", "hosted"),
            ("Jacob", "1990-01-01", "Ondaine", "Salaire", "private_tenant"),
            ("Klein", "1975-12-31", "Forez", "", "public_tenant"),
            ("Laval", "1950-06-15", "Centre", "Retraite", "homeless"),
            ("Marais", None, "Roannais", "AAH", None))):
        household_id = household(env, name, sector=sector, resources_kind=resources, housing_status=status,
                                 birth=birth)
        measure_id = granted_measure(env, household_id=household_id, months=6)
        ids.append(household_id)
        if index == 4:
            continue  # granted, never started
        measures.transition(env.operator, measure_id, "start", {"start_date": f"2026-03-{16 + index}"})
        if index >= 2:
            measures.transition(env.operator, measure_id, "record_action_plan",
                                {"plan_date": "2026-04-15", "objectives": f"Trouver un logement pour {name}"})
        if index == 3:
            measures.transition(env.agent, measure_id, "end", {"end_date": "2026-07-31", "reason": "term"})
    other = submitted_request(env)  # a request still waiting
    refused_request = submitted_request(env)
    from asll.services import decisions
    session = decisions.create_session(env.secretary, {"commission_code": "wf.clu", "session_date": "2026-04-02"})
    decisions.build_agenda(env.secretary, session.id, [other, refused_request])
    decisions.decide_in_session(env.secretary, session.id, {refused_request: {
        "outcome": "refused", "reason": "Ressources de M. Nadal trop élevées"}})

    env.clock.to("2029-01-15", 9)
    before = {year: statistics.tenant_tables(env.tenant_id, year) for year in (2026, 2027)}
    run_retention_task(app)
    assert len(anonymise_entries(env.tenant_id)) == len(ids) + 3  # and the two requests' and the factory's
    db.session.expire_all()
    after = {year: statistics.tenant_tables(env.tenant_id, year) for year in (2026, 2027)}
    assert after == before
    ages = statistics.as_dict(statistics.table(before[2026], "public_age"))
    assert {label: row[1] for label, row in ages.items()} == {
        "Moins de 25 ans": 1, "25 à 39 ans": 1, "40 à 59 ans": 1, "60 ans et plus": 1, "Total": 4}
    assert statistics.as_dict(statistics.table(after[2026], "decisions"))["Refusée"][1] == 1
    assert db.session.scalar(sa.select(Decision.reason).where(Decision.outcome == "refused")) == ""


def test_the_admin_sets_the_policy_audited_and_a_stale_form_gets_a_409(env):
    current = policy_service.policy_for(env.tenant_id)
    assert (current.active_months, current.archive_enabled, current.archive_years, current.audit_months,
            current.version) == (24, True, 10, 12, 0)
    refused(PermissionDenied, policy_service.update_policy, env.agent, {"active_months": 12})
    error = refused(ValidationFailed, policy_service.update_policy, env.admin,
                    {"active_months": 200, "archive_years": 0, "audit_months": 24}, 0)
    assert error.fields == {"active_months": ["Entre 6 et 120."], "archive_years": ["Entre 1 et 30."],
                            "audit_months": ["Entre 6 et 12."]}
    saved = policy_service.update_policy(env.admin, {"active_months": 36, "archive_enabled": False,
                                                     "archive_years": 5, "audit_months": 6}, 0)
    assert (saved.active_months, saved.archive_enabled, saved.version) == (36, False, 1)
    refused(Conflict, policy_service.update_policy, env.admin, {"active_months": 12, "archive_years": 5,
                                                                "audit_months": 6}, 0)
    [entry] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "rgpd.policy"))
    assert entry.changes["active_months"] == [24, 36] and entry.actor_id == env.admin.user_id
    # The new delay applies: a file of March 2026 is not due after 2 years any more, but after 3.
    noel = household(env, "Noël")
    assert retention.plan(env.tenant_id, date(2028, 3, 10)).files == []
    assert [c.household_id for c in retention.plan(env.tenant_id, date(2029, 3, 3)).files] == [
        env.world.loire.household.id, noel]


def test_the_admin_sees_the_next_batch_on_a_page_before_it_runs(app, world, clock, client):
    """Through the site: the admin's page lists tomorrow night's files; an agent may not open it."""
    from types import SimpleNamespace

    from asll.tenancy import tenant_context
    from tests.conftest import login

    loire = world.loire
    with app.app_context(), tenant_context(loire.tenant.id):
        old = household(SimpleNamespace(prescriber=loire.actor(Role.PRESCRIBER)), "Olivier")
        reference = db.session.get(Household, old).reference
        db.session.remove()
    clock.to("2028-03-02", 15)  # after 3:30: the next run is tomorrow's, when the file is due
    login(client, loire.users[Role.DEPT_ADMIN].email, world.password)
    page = client.get("/administration/conservation")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "nuit du 3 mars 2028" in html and reference in html and "02/03/2026" in html
    with app.app_context():
        assert anonymise_entries(loire.tenant.id) == []  # the page only shows what will happen
        db.session.remove()
    agent = app.test_client()
    login(agent, loire.users[Role.DEPT_AGENT].email, world.password)
    assert agent.get("/administration/conservation").status_code == 403


def test_beat_runs_the_retention_daily_at_the_time_the_admin_page_announces(app):
    entry = app.extensions["celery"].conf.beat_schedule["retention"]
    assert entry["task"] == "asll.retention.apply"
    schedule = entry["schedule"]
    assert (schedule.hour, schedule.minute) == ({retention.RUN_AT.hour}, {retention.RUN_AT.minute})
    assert "asll.retention.apply_tenant" in app.extensions["celery"].tasks
