"""An audit trail that cannot be rewritten quietly.

Entries are signed with a key kept out of the database, and every chain's head is
checkpointed outside it: what someone who can write the database would try (delete the
newest entries, delete one and re-sign the rest with the app's own code, rewrite a row) is
named by ``audit-verify``. Also: key rotation, the checkpoint files, the append-only table
on PostgreSQL, the audited edit form and the private export files.
"""

from __future__ import annotations

import json
import logging
import os
import stat

import pytest
import sqlalchemy as sa

from asll.config import load_config
from asll.extensions import db
from asll.models import AuditEvent, Role
from asll.services import audit, exports, households
from asll.tenancy import tenant_context, unscoped
from tests.conftest import login

ATTACKER_KEY = "clé-de-quelqu-un-qui-n-a-pas-la-bonne-0123456789"
NEW_KEY = "nouvelle-clé-d-audit-après-rotation-0123456789abcdef"


@pytest.fixture
def checkpoints(app, tmp_path, monkeypatch):
    """This test's checkpoint folder (the instance's one is shared by the whole run)."""
    folder = tmp_path / "audit-checkpoints"
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_PATH", str(folder))
    return folder


def _verify(app):
    return app.test_cli_runner().invoke(args=["asll", "audit-verify"])


def _chain(tenant_id: int | None) -> list[AuditEvent]:
    """The chain as the database holds it now, detached (a forger's working copy)."""
    with unscoped():
        events = list(db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.tenant_id.is_(None) if tenant_id is None
                                        else AuditEvent.tenant_id == tenant_id)
            .order_by(AuditEvent.seq).execution_options(populate_existing=True)))
    db.session.expunge_all()
    return events


def _reads(world, n: int) -> None:
    """``n`` more entries in the Loire chain: the auditor opens the household's file."""
    with tenant_context(world.loire.tenant.id):
        for _ in range(n):
            households.get_household(world.loire.actor(Role.AUDITOR), world.loire.household.id)


def _resign(events: list[AuditEvent], *, first_seq: int, prev_hash: str, unkeyed: bool = False) -> list[AuditEvent]:
    """What a forger does with the app's own code: renumber, re-link and re-hash ``events``."""
    for offset, event in enumerate(events):
        event.seq, event.prev_hash = first_seq + offset, prev_hash
        event.key_id = "" if unkeyed else audit.current_key_id()
        event.hash = prev_hash = audit._digest(event)
    return events


def _write(maintenance_db, events: list[AuditEvent]) -> None:
    with maintenance_db() as connection:
        for event in events:  # ascending: each new number was freed by the previous row
            connection.execute(sa.update(AuditEvent).where(AuditEvent.id == event.id).values(
                seq=event.seq, prev_hash=event.prev_hash, key_id=event.key_id, hash=event.hash,
                actor_label=event.actor_label))


def _delete(maintenance_db, *events: AuditEvent) -> None:
    with maintenance_db() as connection:
        connection.execute(sa.delete(AuditEvent).where(AuditEvent.id.in_([e.id for e in events])))


def test_deleting_the_newest_entry_is_named_against_the_checkpoint(app, app_ctx, world, checkpoints, clock,
                                                                   maintenance_db):
    _reads(world, 2)
    assert app.test_cli_runner().invoke(args=["asll", "audit-checkpoint"]).exit_code == 0
    intact = _verify(app)
    assert intact.exit_code == 0, intact.output
    assert "Comparé à 1 point(s) de contrôle ; dernier : 02/03/2026 09:00." in intact.output
    newest = _chain(world.loire.tenant.id)[-1]
    _delete(maintenance_db, newest)

    result = _verify(app)
    assert result.exit_code == 1
    assert (f"ALTÉRATION – département {world.loire.tenant.id} : entrée n° {newest.seq} manquante : le point de "
            f"contrôle du 02/03/2026 09:00 connaissait le journal jusqu'au n° {newest.seq}") in result.output


@pytest.mark.parametrize("forger", ["another key", "no key"])
def test_a_deleted_middle_entry_with_the_rest_re_signed_is_named(app, app_ctx, world, checkpoints, maintenance_db,
                                                                  monkeypatch, forger):
    """Whoever writes the database has the app's code, not its key: the first re-signed entry is named."""
    _reads(world, 3)
    audit.checkpoint()
    events = _chain(world.loire.tenant.id)
    middle = len(events) // 2
    removed, later = events[middle], events[middle + 1:]
    with monkeypatch.context() as forgery:
        forgery.setitem(app.config, "AUDIT_KEY", ATTACKER_KEY)  # the forger's copy of the app
        forged = _resign(later, first_seq=removed.seq, prev_hash=events[middle - 1].hash, unkeyed=forger == "no key")
    _delete(maintenance_db, removed)
    _write(maintenance_db, forged)

    result = _verify(app)
    assert result.exit_code == 1
    first = f"entrée n° {removed.seq} (id {later[0].id}) : "
    if forger == "another key":
        assert f"{first}signée avec la clé « {audit.key_id_of(ATTACKER_KEY)} », inconnue" in result.output
    else:
        assert f"{first}sans signature après des entrées signées (réécrite)" in result.output
    assert "chaînage rompu" not in result.output  # the links were forged consistently: only the key tells


def test_a_middle_entry_deleted_and_re_signed_with_the_stolen_key_is_caught_by_the_checkpoints(
        app, app_ctx, world, checkpoints, clock, maintenance_db):
    """Even with the key, the checkpoints taken before bound where the trail was rewritten."""
    audit.checkpoint()
    before = _chain(world.loire.tenant.id)[-1].seq
    clock.to("2026-03-02", hour=11)
    _reads(world, 4)
    audit.checkpoint()
    events = _chain(world.loire.tenant.id)
    newest, removed = events[-1].seq, events[before + 1]  # an entry between the two checkpoints
    _delete(maintenance_db, removed)
    _write(maintenance_db, _resign(events[before + 2:], first_seq=removed.seq, prev_hash=events[before].hash))

    result = _verify(app)
    assert result.exit_code == 1
    assert (f"entrée n° {newest} manquante : le point de contrôle du 02/03/2026 11:00 connaissait le "
            f"journal jusqu'au n° {newest} (entrées supprimées, ou renumérotées après le n° {before})"
            ) in result.output
    assert "contenu modifié" not in result.output and "chaînage rompu" not in result.output


def test_a_rewritten_row_is_named(app, app_ctx, world, checkpoints, clock, maintenance_db):
    _reads(world, 1)
    audit.checkpoint()
    target = _chain(world.loire.tenant.id)[3]
    with maintenance_db() as connection:
        connection.execute(sa.update(AuditEvent).where(AuditEvent.id == target.id)
                           .values(changes={"monthly_resources": [None, "4000"]}))
    result = _verify(app)
    assert result.exit_code == 1
    assert f"entrée n° {target.seq} (id {target.id}) : contenu modifié" in result.output


def test_a_rewritten_row_re_signed_with_the_stolen_key_differs_from_the_checkpoint(
        app, app_ctx, world, checkpoints, clock, maintenance_db):
    audit.checkpoint()
    first_checkpointed = _chain(world.loire.tenant.id)[-1].seq
    clock.to("2026-03-02", hour=11)
    _reads(world, 3)
    audit.checkpoint()
    events = _chain(world.loire.tenant.id)
    events[first_checkpointed + 1].actor_label = "quelqu'un d'autre"
    rewritten = events[first_checkpointed + 1:]
    _write(maintenance_db, _resign(rewritten, first_seq=rewritten[0].seq, prev_hash=events[first_checkpointed].hash))

    result = _verify(app)
    assert result.exit_code == 1
    assert (f"entrée n° {events[-1].seq} (id {events[-1].id}) : différente de celle du point de contrôle du "
            f"02/03/2026 11:00 ; le journal a été réécrit à partir d'une entrée entre le n° {first_checkpointed + 1} "
            f"et le n° {events[-1].seq}") in result.output


def test_after_a_key_rotation_old_entries_verify_with_their_retired_key(app, app_ctx, world, checkpoints,
                                                                        monkeypatch):
    old_key = app.config["AUDIT_KEY"]
    audit.checkpoint()
    monkeypatch.setitem(app.config, "AUDIT_KEY", NEW_KEY)
    monkeypatch.setitem(app.config, "AUDIT_RETIRED_KEYS", (old_key,))
    _reads(world, 2)
    audit.checkpoint()
    key_ids = [e.key_id for e in _chain(world.loire.tenant.id)]
    assert set(key_ids[:-2]) == {audit.key_id_of(old_key)} and key_ids[-2:] == [audit.key_id_of(NEW_KEY)] * 2
    result = _verify(app)
    assert result.exit_code == 0, result.output
    assert "Comparé à 2 point(s) de contrôle" in result.output

    monkeypatch.setitem(app.config, "AUDIT_RETIRED_KEYS", ())  # the old key forgotten: nothing it signed verifies
    forgotten = _verify(app)
    assert forgotten.exit_code == 1
    assert f"entrée n° 1 (id {_chain(None)[0].id}) : signée avec la clé « {audit.key_id_of(old_key)} », inconnue" \
        in forgotten.output
    assert f"signé avec la clé « {audit.key_id_of(old_key)} », inconnue (ajoutez-la à ASLL_AUDIT_RETIRED_KEYS)" \
        in forgotten.output  # the first checkpoint too


def test_the_audit_keys_come_from_the_environment_or_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("ASLL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("ASLL_AUDIT_KEY", raising=False)
    monkeypatch.delenv("ASLL_AUDIT_RETIRED_KEYS", raising=False)
    generated = load_config()["AUDIT_KEY"]
    assert load_config()["AUDIT_KEY"] == generated  # generated once, then kept
    key_file = tmp_path / "audit_key"
    assert key_file.read_text() == generated and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".audit_key.*"))  # the draft it was written under is gone

    monkeypatch.setenv("ASLL_AUDIT_KEY", NEW_KEY)
    monkeypatch.setenv("ASLL_AUDIT_RETIRED_KEYS", f"{generated}, {ATTACKER_KEY}")
    config = load_config()
    assert (config["AUDIT_KEY"], config["AUDIT_RETIRED_KEYS"]) == (NEW_KEY, (generated, ATTACKER_KEY))
    monkeypatch.setenv("ASLL_AUDIT_KEY", "trop-courte")
    with pytest.raises(ValueError, match="ASLL_AUDIT_KEY doit compter au moins 32 caractères"):
        load_config()


def test_checkpoints_are_private_signed_and_chained_lines(app, app_ctx, world, checkpoints, clock, eager):
    from asll_tasks.audit import checkpoint as checkpoint_task

    assert app.extensions["celery"].conf.beat_schedule["audit-checkpoint"]["task"] == "asll.audit.checkpoint"
    assert checkpoint_task.delay().get()["problems"] == []
    clock.to("2026-03-02", hour=11)
    assert checkpoint_task.delay().get()["chains"] == 3  # the platform, Loire and Orne
    path = checkpoints / "2026-03.log"
    assert stat.S_IMODE(checkpoints.stat().st_mode) == 0o700 and stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert second["prev"] == first["mac"] and first["prev"] == ""
    assert [head[0] for head in first["heads"]] == [None, world.loire.tenant.id, world.orne.tenant.id]
    assert _verify(app).exit_code == 0

    forged = dict(first, heads=[[t, s - 1, h] for t, s, h in first["heads"]])  # edited to hide a deletion
    path.write_text(json.dumps(forged) + "\n" + lines[1] + "\n")
    result = _verify(app)
    assert result.exit_code == 1
    assert "ALTÉRATION – points de contrôle : point de contrôle 2026-03.log:1 : signature invalide" in result.output

    path.write_text(lines[1] + "\n")  # the first line removed
    result = _verify(app)
    assert result.exit_code == 1
    assert ("point de contrôle 2026-03.log:1 : ne suit pas le point de contrôle précédent "
            "(ligne ou fichier supprimé, ou déplacé)") in result.output


def test_the_hourly_checkpoint_reports_entries_gone_since_the_last_one(app, app_ctx, world, checkpoints, clock,
                                                                       maintenance_db, eager, caplog):
    from asll_tasks.audit import checkpoint as checkpoint_task

    checkpoint_task.delay()
    newest = _chain(world.orne.tenant.id)[-1]
    _delete(maintenance_db, newest)
    clock.to("2026-03-02", hour=10)
    with caplog.at_level(logging.ERROR, logger="asll_tasks.audit"):
        problems = checkpoint_task.delay().get()["problems"]
    expected = f"entrée n° {newest.seq} manquante depuis le point de contrôle du 02/03/2026 09:00"
    assert problems == [expected]
    assert [r.getMessage() for r in caplog.records] == [
        f"Journal d'audit altéré – département {world.orne.tenant.id} : {expected}"]


@pytest.mark.postgresql
def test_the_application_role_cannot_update_delete_or_truncate_audit_entries(app, app_ctx, world):
    for statement in ("update audit_event set actor_label = 'x'", "delete from audit_event",
                      "truncate audit_event"):
        with unscoped(), pytest.raises(sa.exc.ProgrammingError, match="permission denied for table audit_event"):
            db.session.execute(sa.text(statement))
        db.session.rollback()
    with unscoped():  # it may add and read entries
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) > 0


@pytest.mark.postgresql
def test_only_the_maintenance_role_gets_past_the_audit_trigger(app, world, database_urls):
    """Even a superuser (a careless admin) is refused until it takes the maintenance role on purpose."""
    admin_url = sa.engine.make_url(os.environ["ASLL_TEST_DATABASE_URL"]).set(
        database=sa.engine.make_url(database_urls.app).database)
    engine = sa.create_engine(admin_url)
    try:
        for statement in ("update audit_event set actor_label = 'x'", "delete from audit_event",
                          "truncate audit_event"):
            with engine.connect() as connection:
                with pytest.raises(sa.exc.ProgrammingError, match="Le journal d'audit est en ajout seul"):
                    connection.execute(sa.text(statement))
        with engine.connect() as connection:
            connection.execute(sa.text("set local role asll_maintenance"))
            connection.execute(sa.text("select set_config('app.bypass_rls', 'on', true)"))
            assert connection.execute(sa.text("update audit_event set actor_label = actor_label")).rowcount > 0
            connection.rollback()
    finally:
        engine.dispose()


def test_opening_the_household_edit_form_is_an_audited_read(app, client, world):
    household_id = world.loire.household.id

    def reads(user_id: int) -> int:
        with app.app_context(), unscoped():
            return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "household.read", AuditEvent.object_id == household_id,
                AuditEvent.actor_id == user_id))

    prescriber = world.loire.users[Role.PRESCRIBER]
    login(client, prescriber.email, world.password)
    assert client.get(f"/menages/{household_id}/modifier").status_code == 200
    assert reads(prescriber.id) == 1

    auditor, other = world.loire.users[Role.AUDITOR], app.test_client()
    login(other, auditor.email, world.password)
    assert other.get(f"/menages/{household_id}/modifier").status_code == 403  # shown nothing: nothing logged
    assert reads(auditor.id) == 0


def test_export_files_are_private(app, app_ctx, world, folders):
    job = world.loire.add_export()
    with tenant_context(world.loire.tenant.id):
        assert exports.run_job(job.id)["status"] == "done"
    root = folders / "exports"
    files = [p for p in root.rglob("*") if p.is_file()]
    assert len(files) == 1
    assert {stat.S_IMODE(p.stat().st_mode) for p in (root, files[0].parent)} == {0o700}
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
