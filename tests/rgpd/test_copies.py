"""Anonymisation and erasure reach the copies of a household's data outside its file: the API's stored
answers (replayed for 24 h) and the named exports already produced. Searched in the stored bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Household, Role
from asll.models.api import IdempotencyKey
from asll.models.exports import ExportJob, ExportStatus
from asll.services import api_tokens, exports
from asll.services.rgpd import rights
from asll.tenancy import tenant_context, unscoped
from tests.api.conftest import ApiClient
from tests.rgpd.conftest import run_retention_task

NAMES = ("Valette", "VALETTE", "Hélène", "Anatole")
VALETTE = {"address": "9 impasse des Glycines", "postcode": "42100", "city": "Saint-Étienne", "sector": "Centre",
           "members": [{"last_name": "Valette", "first_name": "Hélène", "birth_date": "1971-05-09",
                        "is_reference": True},
                       {"last_name": "Valette", "first_name": "Anatole", "relationship_to_reference": "fils"}]}
GARNIER = {"city": "Montbrison", "sector": "Forez", "members": [{"last_name": "Garnier", "first_name": "Luc"}]}


def _export(app, loire, **asked) -> int:
    with app.app_context(), tenant_context(loire.tenant.id):
        job = exports.request_export(loire.actor(Role.DEPT_ADMIN),
                                     {"dataset": "households", "file_format": "csv", **asked}, send_to_worker=False)
        assert exports.run_job(job.id)["status"] == "done"
        db.session.remove()
        return job.id


def _stored_bytes(app) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in Path(app.config["EXPORT_PATH"]).rglob("*") if p.is_file()}


def _answers(app) -> list[str]:
    with app.app_context(), unscoped():
        bodies = list(db.session.scalars(sa.select(IdempotencyKey.response_body).order_by(IdempotencyKey.id)))
        db.session.remove()
    return bodies


def _setup(app, world, client, clock, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_PATH", str(tmp_path / "exports"))  # this test's files alone
    loire = world.loire
    with app.app_context():
        _token, secret = api_tokens.create_token(loire.actor(Role.DEPT_ADMIN), {"label": "logiciel du service"})
        db.session.remove()
    api = ApiClient(client, secret)
    created = api.post("/households", json=VALETTE, headers={"Idempotency-Key": "creation-valette"})
    assert created.status_code == 201, created.get_json()
    household_id = created.get_json()["id"]
    clock.to("2026-04-15")
    other = api.post("/households", json=GARNIER, headers={"Idempotency-Key": "creation-garnier"})
    assert other.status_code == 201
    return loire, household_id


def _three_exports(app, loire):
    named = _export(app, loire)
    forez = _export(app, loire, filters={"sector": "Forez"})  # Garnier alone
    pseudonymised = _export(app, loire, pseudonymised=True)
    stored = b"".join(_stored_bytes(app).values())
    assert "Valette".encode() in stored and "Garnier".encode() in stored  # the named copies exist
    assert any("Valette" in (body or "") for body in _answers(app))
    assert any("Hélène" in json.dumps(json.loads(body), ensure_ascii=False) for body in _answers(app) if body)
    return named, forez, pseudonymised


def _no_copy_left(app, loire, named, forez, pseudonymised):
    for path, content in _stored_bytes(app).items():
        for name in NAMES:
            assert name.encode() not in content, (name, path)
    for body in _answers(app):
        readable = json.dumps(json.loads(body), ensure_ascii=False) if body else ""  # accents unescaped
        for name in NAMES:
            assert name not in (body or "") and name not in readable, name
    assert any("Garnier" in (body or "") for body in _answers(app))  # another household's answer stays
    with app.app_context(), tenant_context(loire.tenant.id):
        states = dict(db.session.execute(sa.select(ExportJob.id, ExportJob.status)).all())
        assert states[named] is ExportStatus.EXPIRED
        assert states[forez] is ExportStatus.DONE and states[pseudonymised] is ExportStatus.DONE
        _job, path, _name, _type = exports.open_file(loire.actor(Role.DEPT_ADMIN), forez, "csv")
        assert "Garnier" in path.read_text(encoding="utf-8-sig")
        db.session.remove()


def test_anonymisation_deletes_the_api_answers_and_expires_the_named_exports_that_hold_the_household(
        app, world, client, clock, tmp_path, monkeypatch):
    loire, household_id = _setup(app, world, client, clock, tmp_path, monkeypatch)
    clock.to("2028-04-02", 16)
    named, forez, pseudonymised = _three_exports(app, loire)  # the day before: still downloadable
    clock.to("2028-04-03", 9)  # 2 years + 1 day after its creation, its last contact
    with app.app_context():
        run_retention_task(app)
        with tenant_context(loire.tenant.id):
            assert db.session.get(Household, household_id).members[0].last_name == "Anonymisé"
            [entry] = db.session.scalars(sa.select(AuditEvent).where(
                AuditEvent.action == "household.anonymise", AuditEvent.object_id == household_id))
            assert entry.changes["api_answers_deleted"] == 1 and entry.changes["exports_expired"] == [named]
        db.session.remove()
    _no_copy_left(app, loire, named, forez, pseudonymised)


def test_erasure_deletes_them_too(app, world, client, clock, tmp_path, monkeypatch):
    loire, household_id = _setup(app, world, client, clock, tmp_path, monkeypatch)
    named, forez, pseudonymised = _three_exports(app, loire)
    with app.app_context(), tenant_context(loire.tenant.id):
        reference = db.session.get(Household, household_id).reference
        rights.erase(loire.actor(Role.DEPT_ADMIN), household_id, reference)
        [entry] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "household.erase"))
        assert entry.changes["api_answers_deleted"] == 1 and entry.changes["exports_expired"] == [named]
        db.session.remove()
    _no_copy_left(app, loire, named, forez, pseudonymised)


def test_a_named_export_running_while_the_household_is_erased_is_never_handed_out(
        app, world, client, clock, tmp_path, monkeypatch):
    """Its rows were read before the erasure: the file may name the person, so it expires at once."""
    from asll.services.exports import jobs

    loire, household_id = _setup(app, world, client, clock, tmp_path, monkeypatch)
    original = jobs._run_export

    def erase_meanwhile(actor, job, token, written):
        produced = original(actor, job, token, written)  # the file is written, names included
        reference = db.session.get(Household, household_id).reference
        rights.erase(loire.actor(Role.DEPT_ADMIN), household_id, reference)  # another user, meanwhile
        return produced

    monkeypatch.setattr(jobs, "_run_export", erase_meanwhile)
    with app.app_context(), tenant_context(loire.tenant.id):
        job = exports.request_export(loire.actor(Role.DEPT_ADMIN), {"dataset": "households", "file_format": "csv"},
                                     send_to_worker=False)
        exports.run_job(job.id)
        db.session.expire_all()
        assert db.session.get(ExportJob, job.id).status is ExportStatus.EXPIRED
        with pytest.raises(exports.ExportExpired):
            exports.open_file(loire.actor(Role.DEPT_ADMIN), job.id, "csv")
        [done] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export.done"))
        assert done.changes["expired_by_anonymisation"] is True
        db.session.remove()
    left = [path for path, content in _stored_bytes(app).items() if any(name.encode() in content for name in NAMES)]
    assert left == []
