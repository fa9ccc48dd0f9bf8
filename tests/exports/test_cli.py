"""``flask asll export|stats|exports-cleanup``: the same services, from the command line."""

from __future__ import annotations

import csv

import sqlalchemy as sa
from openpyxl import load_workbook

from asll.extensions import db
from asll.models import AuditEvent, Role
from asll.tenancy import tenant_context


def test_export_command_uses_the_users_own_rights(app, world, tmp_path, folders):
    runner = app.test_cli_runner()
    output = tmp_path / "mesures.csv"
    result = runner.invoke(args=["asll", "export", "42", world.loire.users[Role.OPERATOR_WORKER].email,
                                 "--columns", "reference,last_name", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert "1 ligne(s) exportée(s)" in result.output
    with output.open(encoding="utf-8-sig", newline="") as handle:
        assert list(csv.reader(handle, delimiter=";")) == [["Référence de la mesure", "Nom"],
                                                           [world.loire.measure.reference, "Martin"]]
    # A commission member sees no measure: the same command gives an empty file, not the tenant's measures.
    result = runner.invoke(args=["asll", "export", "42", world.loire.users[Role.COMMISSION_MEMBER].email,
                                 "--output", str(output)])
    assert result.exit_code == 0 and "0 ligne(s)" in result.output
    # An Orne user has no rights in the Loire.
    result = runner.invoke(args=["asll", "export", "42", world.orne.users[Role.DEPT_ADMIN].email,
                                 "--output", str(tmp_path / "x.csv")])
    assert result.exit_code == 1 and "réservés aux membres" in result.output
    with app.app_context(), tenant_context(world.loire.tenant.id):
        actors = db.session.scalars(sa.select(AuditEvent.actor_id).where(AuditEvent.action == "export.done")
                                    .order_by(AuditEvent.seq)).all()
    assert actors == [world.loire.users[Role.OPERATOR_WORKER].id, world.loire.users[Role.COMMISSION_MEMBER].id]


def test_stats_command_prints_the_tables_and_writes_the_report(app, world, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["asll", "stats", "61", "2026", "--xlsx", str(tmp_path / "r.xlsx"),
                                 "--pdf", str(tmp_path / "r.pdf")])
    assert result.exit_code == 0, result.output
    assert "Synthèse de l'activité 2026" in result.output and "Mois-mesures | 0" in result.output
    assert load_workbook(tmp_path / "r.xlsx").worksheets[0]["A1"].value.startswith("Synthèse de l'activité 2026")
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    assert runner.invoke(args=["asll", "stats", "99", "2026"]).exit_code == 1
    assert runner.invoke(args=["asll", "exports-cleanup"]).output.strip() == (
        "0 export(s) expiré(s) supprimé(s), 0 export(s) interrompu(s) clos en échec.")
