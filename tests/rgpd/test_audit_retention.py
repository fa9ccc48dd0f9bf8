"""Audit retention: entries older than the département's delay are purged by segments whose boundary
a checkpoint recorded first, so ``audit-verify`` still proves the rest of the chain; an old entry
deleted any other way is still named."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent
from asll.services import audit, households
from asll.services.rgpd import audit_retention
from asll.services.rgpd import policy as policy_service
from asll.tenancy import unscoped
from tests.rgpd.conftest import household


def _chain(tenant_id: int) -> list[tuple[int, str]]:
    with unscoped():
        return [tuple(r) for r in db.session.execute(sa.select(AuditEvent.seq, AuditEvent.action).where(
            AuditEvent.tenant_id == tenant_id).order_by(AuditEvent.seq))]


def test_old_entries_are_purged_by_checkpointed_segments_and_the_rest_still_verifies(env, maintenance_db, checkpoints):
    household_id = household(env, "Aubry")  # 2 March 2026
    env.clock.to("2026-06-10")
    households.get_household(env.agent, household_id)  # a read in June 2026
    before = _chain(env.tenant_id)
    assert before[-1][1] == "household.read"
    env.clock.to("2027-04-01")  # 12 months kept: everything before 1 April 2026 goes, the June read stays

    [loire] = [s for s in audit_retention.plan() if s.tenant_id == env.tenant_id]
    assert (loire.first_seq, loire.cutoff, loire.months) == (1, date(2026, 4, 1), 12)
    assert loire.last_seq == before[-2][0]  # every entry of March 2026; the chain's newest is kept anyway
    db.session.commit()
    with maintenance_db() as connection:
        purged = audit_retention.purge(connection)
    audit_retention.record_purges(purged)

    after = _chain(env.tenant_id)
    assert after[0] == before[-1] and after[-1][1] == "audit.purge"
    result = audit.verify_all()
    assert result.problems == []
    lines = audit.read_checkpoints().lines
    assert lines[-1].purged[env.tenant_id] == (loire.last_seq, loire.last_hash)
    [entry] = [e for e in db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "audit.purge"))]
    assert entry.changes == {"entries": loire.entries, "up_to_seq": loire.last_seq, "before": "2026-04-01",
                             "months": 12}
    assert audit_retention.plan() == [s for s in audit_retention.plan() if s.tenant_id != env.tenant_id]


def test_old_entries_deleted_without_a_recorded_boundary_are_still_named(env, maintenance_db, checkpoints):
    household(env, "Barre")
    env.clock.to("2026-06-10")
    households.get_household(env.agent, env.world.loire.household.id)
    db.session.commit()
    audit.checkpoint()
    with unscoped():
        first_read = db.session.scalar(sa.select(sa.func.min(AuditEvent.seq)).where(
            AuditEvent.tenant_id == env.tenant_id, AuditEvent.action == "household.read"))
    with maintenance_db() as connection:  # someone deletes the beginning of the chain by hand
        table = AuditEvent.__table__
        connection.execute(table.delete().where(table.c.tenant_id == env.tenant_id, table.c.seq < first_read))
    problems = [p.message for p in audit.verify_all().problems if p.tenant_id == env.tenant_id]
    assert problems[0] == "entrée n° 1 manquante (supprimée ?)"


def test_the_delay_is_the_departements_and_the_command_line_says_what_it_purges(env, app, maintenance_db, checkpoints):
    policy_service.update_policy(env.admin, {"active_months": 24, "archive_enabled": True, "archive_years": 10,
                                             "audit_months": 6}, 0)
    household(env, "Collin")
    env.clock.to("2026-10-15")  # 6 months kept: March goes
    households.get_household(env.agent, env.world.loire.household.id)
    db.session.commit()
    dry_run = app.test_cli_runner().invoke(args=["asll", "audit-purge", "--dry-run"])
    assert dry_run.exit_code == 0, dry_run.output
    assert "Journal d'audit – Loire (42) : " in dry_run.output and "antérieure(s) au 15/04/2026 (conservation " \
        "6 mois)" in dry_run.output and "Simulation : rien n'a été supprimé." in dry_run.output
    seen = _chain(env.tenant_id)
    assert len(seen) > 2
    run = app.test_cli_runner().invoke(args=["asll", "audit-purge"])
    db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        # The application's role may only append to the trail: the purge is a maintenance task.
        assert run.exit_code == 1 and "n'est pas membre de asll_maintenance" in run.output
        assert _chain(env.tenant_id) == seen
    else:
        assert run.exit_code == 0, run.output
        assert "Purgé – Loire (42) : " in run.output
        assert _chain(env.tenant_id)[0] == seen[-1] and audit.verify_all().problems == []
