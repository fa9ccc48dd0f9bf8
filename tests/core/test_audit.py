"""The audit trail is hash-chained per tenant: an edit or a deletion is detected and named."""

import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Role
from asll.services import audit, households
from asll.tenancy import tenant_context, unscoped


def _verify(app):
    return app.test_cli_runner().invoke(args=["asll", "audit-verify"])


def _loire_events(world):
    with unscoped():
        return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.tenant_id == world.loire.tenant.id)
                                  .order_by(AuditEvent.seq)).all()


def test_chain_of_a_normal_history_verifies(app, app_ctx, world):
    with tenant_context(world.loire.tenant.id):
        households.get_household(world.loire.actor(Role.AUDITOR), world.loire.household.id)
    result = _verify(app)
    assert result.exit_code == 0, result.output
    assert "Journal d'audit intègre (plateforme, 42, 61)." in result.output
    events = _loire_events(world)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))


def test_editing_an_entry_in_the_database_is_detected_and_named(app, app_ctx, world, maintenance_db):
    target = _loire_events(world)[2]
    with maintenance_db() as connection:  # the app's own role may not (PostgreSQL)
        connection.execute(sa.update(AuditEvent).where(AuditEvent.id == target.id)
                           .values(changes={"email": [None, "falsifie@exemple.fr"]}))
    result = _verify(app)
    assert result.exit_code == 1
    assert f"entrée n° {target.seq} (id {target.id}) : contenu modifié" in result.output
    assert "département" in result.output


def test_deleting_an_entry_is_detected_and_named(app, app_ctx, world, maintenance_db):
    events = _loire_events(world)
    target = events[1]
    with maintenance_db() as connection:
        connection.execute(sa.delete(AuditEvent).where(AuditEvent.id == target.id))
    result = _verify(app)
    assert result.exit_code == 1
    assert f"entrée n° {target.seq} manquante" in result.output


def test_rewriting_an_entry_with_a_recomputed_hash_breaks_the_next_link(app, app_ctx, world, maintenance_db):
    events = _loire_events(world)
    target = events[0]
    db.session.expunge(target)
    target.actor_label = "quelqu'un d'autre"
    with maintenance_db() as connection:
        connection.execute(sa.update(AuditEvent).where(AuditEvent.id == target.id)
                           .values(actor_label=target.actor_label, hash=audit._digest(target)))
    result = _verify(app)
    assert result.exit_code == 1
    assert f"entrée n° {events[1].seq} (id {events[1].id}) : chaînage rompu" in result.output


def test_each_tenant_has_its_own_chain(app_ctx, world):
    with tenant_context(world.orne.tenant.id):
        orne = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert orne[0].seq == 1 and orne[0].prev_hash == ""
    assert audit.verify_chain(world.orne.tenant.id) == []


def test_a_long_case_history_shows_its_latest_entries(app_ctx, world):
    """Every read is logged: once a file's journal is long, the page must still show what happened last."""
    with tenant_context(world.loire.tenant.id):
        auditor = world.loire.actor(Role.AUDITOR)
        for _ in range(4):
            households.get_household(auditor, world.loire.household.id)
        everything = audit.history("household", world.loire.household.id)
        latest = audit.history("household", world.loire.household.id, limit=3)
    assert len(everything) >= 4
    assert [e.seq for e in latest] == [e.seq for e in everything[-3:]]
