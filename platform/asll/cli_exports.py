"""``flask asll`` commands of the exports feature (registered on :data:`asll.cli.asll_group`).

* ``export CODE EMAIL``: an export produced at once, with the rights EMAIL has in the
  département (rebuilt from their memberships, as the worker does), copied to ``--output``;
  audited as asked by that user.
* ``stats CODE YEAR``: the activity tables of the département printed, and optionally the
  yearly report written to ``--xlsx`` / ``--pdf`` (aggregates only, no personal data).
* ``exports-cleanup``: deletes the expired export files of every département now and fails
  the jobs whose worker died.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from asll.cli import _fail, _tenant, asll_group
from asll.services.errors import ServiceError


@asll_group.command("export")
@click.argument("tenant_code")
@click.argument("email")
@click.option("--dataset", type=click.Choice(["measures", "requests", "households", "decisions"]), default="measures",
              show_default=True, help="Données à exporter.")
@click.option("--format", "file_format", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--pseudonymised", is_flag=True, help="Sans données nominatives, avec des pseudonymes stables.")
@click.option("--columns", help="Colonnes séparées par des virgules (par défaut : celles proposées par défaut).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Fichier à écrire.")
@with_appcontext
def export(tenant_code: str, email: str, dataset: str, file_format: str, pseudonymised: bool, columns: str | None,
           output: Path) -> None:
    """Produit un export avec les droits de l'utilisateur EMAIL dans le département TENANT_CODE."""
    import sqlalchemy as sa

    from asll.extensions import db
    from asll.models import User
    from asll.services import exports
    from asll.services.actor import Actor
    from asll.services.users import memberships_of, normalise_email
    from asll.tenancy import tenant_context

    tenant = _tenant(tenant_code)
    user = db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    if user is None or not user.active:
        click.echo(f"Erreur : aucun compte actif « {email} ».", err=True)
        sys.exit(1)
    data = {"dataset": dataset, "file_format": file_format, "pseudonymised": pseudonymised}
    if columns:
        data["columns"] = [c.strip() for c in columns.split(",") if c.strip()]
    with tenant_context(tenant.id):
        actor = Actor.for_user(user, memberships_of(user.id), tenant.id)
        try:
            job = exports.request_export(actor, data, send_to_worker=False)
            state = exports.run_job(job.id)
            if state["status"] != "done":
                click.echo(f"Erreur : {state['error']}", err=True)
                sys.exit(1)
            _job, path, _name, _type = exports.open_file(actor, job.id, file_format)
        except ServiceError as exc:
            _fail(exc)
        with path.open() as source, output.open("wb") as target:
            shutil.copyfileobj(source, target)
    click.echo(f"{state['rows']} ligne(s) exportée(s) dans {output} (export n° {job.id}).")


@asll_group.command("stats")
@click.argument("tenant_code")
@click.argument("year", type=int)
@click.option("--xlsx", type=click.Path(dir_okay=False, path_type=Path), help="Écrire le rapport annuel en XLSX.")
@click.option("--pdf", type=click.Path(dir_okay=False, path_type=Path), help="Écrire le rapport annuel en PDF.")
@with_appcontext
def stats(tenant_code: str, year: int, xlsx: Path | None, pdf: Path | None) -> None:
    """Affiche les tableaux d'activité de l'année YEAR du département TENANT_CODE."""
    from asll.services import exports, statistics
    from asll.tenancy import tenant_context

    tenant = _tenant(tenant_code)
    with tenant_context(tenant.id):
        try:
            tables = statistics.tenant_tables(tenant.id, year)
        except ServiceError as exc:
            _fail(exc)
        for table in tables:
            click.echo(f"\n{table.title}")
            click.echo(" | ".join(table.columns))
            for row in table.rows:
                click.echo(" | ".join(statistics.format_number(v) for v in row))
        if xlsx:
            exports.write_report_xlsx(xlsx, tenant.name, year, tables)
            click.echo(f"\nRapport XLSX écrit dans {xlsx}.")
        if pdf:
            pdf.write_bytes(exports.render_report_pdf(exports.report_context(tenant.id, year, tables)))
            click.echo(f"Rapport PDF écrit dans {pdf}.")


@asll_group.command("exports-cleanup")
@with_appcontext
def exports_cleanup() -> None:
    """Supprime dès maintenant les fichiers d'export expirés et clôt en échec les exports interrompus."""
    from asll.services import exports
    from asll.tenancy import tenant_context

    expired = stalled = 0
    for tenant_id in exports.tenant_ids():
        with tenant_context(tenant_id):
            done = exports.sweep(tenant_id)
            expired, stalled = expired + done[0], stalled + done[1]
    click.echo(f"{expired} export(s) expiré(s) supprimé(s), {stalled} export(s) interrompu(s) clos en échec.")
