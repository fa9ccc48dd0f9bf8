"""``flask asll`` commands of the RGPD feature (registered on :data:`asll.cli.asll_group`).

* ``retention [--dry-run] [--tenant 42] [--date AAAA-MM-JJ]``: what the daily retention does
  (or would do, with ``--dry-run``), per département, in French;
* ``rgpd-access CODE REFERENCE --output fichier.json [--pdf fichier.pdf]``: one household's
  complete data (the access right), audited;
* ``rgpd-erase CODE REFERENCE [--yes]``: erases a file where no legal duty forbids it, else
  says why not;
* ``rgpd-traces CODE REFERENCE``: who read or changed the file (audit entries);
* ``rgpd-registre CODE --output registre.csv``: the record of processing of the département;
* ``audit-purge [--dry-run]``: audit entries past their delay purged by checkpointed segments.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click
from flask.cli import with_appcontext

from asll.cli import _fail, _parse_date, _tenant, asll_group
from asll.services.errors import ServiceError


@asll_group.command("retention")
@click.option("--dry-run", is_flag=True, help="Affiche ce que le passage ferait, sans rien modifier.")
@click.option("--tenant", "tenant_code", metavar="CODE", help="Code INSEE d'un seul département (ex. 42).")
@click.option("--date", "on_date", callback=_parse_date, metavar="AAAA-MM-JJ",
              help="Jour du passage (par défaut : aujourd'hui, heure de Paris).")
@with_appcontext
def retention_command(dry_run: bool, tenant_code: str | None, on_date: date | None) -> None:
    """Anonymise les dossiers dont le délai de conservation est écoulé (ou, avec --dry-run, les liste)."""
    from asll.domain.calendar import today
    from asll.services.rgpd import retention
    from asll.tenancy import tenant_context

    on_date = on_date or today()
    tenant_ids = [_tenant(tenant_code).id] if tenant_code else retention.tenants_to_run()
    failed = False
    for tenant_id in tenant_ids:
        with tenant_context(tenant_id):
            plan = retention.plan(tenant_id, on_date)
            if dry_run:
                for line in retention.describe(plan):
                    click.echo(line)
                continue
        summary = retention.apply(tenant_id, on_date)
        click.echo(f"Département {plan.tenant_label} – passage du {on_date:%d/%m/%Y}")
        if summary.skipped:
            click.echo("  Un autre passage est en cours pour ce département : rien n'a été fait.")
            continue
        click.echo(f"  {len(summary.anonymised)} dossier(s) anonymisé(s)"
                   + (f" : {', '.join(summary.anonymised)}" if summary.anonymised else "") + ".")
        if summary.archived_entries:
            click.echo(f"  {summary.archived_entries} élément(s) versé(s) en archive intermédiaire.")
        for reference in summary.archive_destroyed:
            click.echo(f"  Archive intermédiaire détruite : {reference}.")
        for error in summary.errors:
            failed = True
            click.echo(f"  Non traité – {error}", err=True)
    if dry_run:
        click.echo("Simulation : rien n'a été modifié.")
    if failed:
        sys.exit(1)


def _household(tenant_id: int, reference: str):
    from asll.services.rgpd import rights

    household = rights.household_by_reference(reference)
    if household is None:
        click.echo(f"Erreur : ménage « {reference} » introuvable dans ce département.", err=True)
        sys.exit(1)
    return household


@asll_group.command("rgpd-access")
@click.argument("tenant_code")
@click.argument("reference")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Fichier JSON à écrire.")
@click.option("--pdf", type=click.Path(dir_okay=False, path_type=Path), help="Écrire aussi la version PDF lisible.")
@with_appcontext
def rgpd_access(tenant_code: str, reference: str, output: Path, pdf: Path | None) -> None:
    """Droit d'accès : toutes les données du ménage REFERENCE (JSON, et PDF avec --pdf)."""
    from asll.services.actor import Actor
    from asll.services.rgpd import rights
    from asll.tenancy import tenant_context

    tenant = _tenant(tenant_code)
    with tenant_context(tenant.id):
        household = _household(tenant.id, reference)
        actor = Actor.system(tenant.id, label="ligne de commande (droit d'accès)")
        try:
            export = rights.access(actor, household.id)
        except ServiceError as exc:
            _fail(exc)
        output.write_text(json.dumps(export, ensure_ascii=False, indent=2), encoding="utf-8")
        click.echo(f"Données du ménage {reference} écrites dans {output}.")
        if pdf:
            pdf.write_bytes(rights.access_pdf(tenant.id, export))
            click.echo(f"Version PDF écrite dans {pdf}.")


@asll_group.command("rgpd-erase")
@click.argument("tenant_code")
@click.argument("reference")
@click.option("--yes", is_flag=True, help="Effacer sans demander de confirmation.")
@with_appcontext
def rgpd_erase(tenant_code: str, reference: str, yes: bool) -> None:
    """Droit à l'effacement : efface le dossier du ménage REFERENCE si aucune obligation légale ne l'interdit."""
    from asll.services.actor import Actor
    from asll.services.rgpd import rights
    from asll.tenancy import tenant_context

    tenant = _tenant(tenant_code)
    with tenant_context(tenant.id):
        household = _household(tenant.id, reference)
        verdict = rights.erasure_verdict(household.id)
        if not verdict.allowed:
            click.echo(f"Effacement refusé pour le ménage {reference} :", err=True)
            for reason in verdict.reasons:
                click.echo(f"  – {reason}", err=True)
            sys.exit(1)
        if not yes and not click.confirm(f"Effacer définitivement le dossier du ménage {reference} ?"):
            click.echo("Rien n'a été effacé.")
            return
        actor = Actor.system(tenant.id, label="ligne de commande (droit à l'effacement)")
        try:
            counts = rights.erase(actor, household.id, reference)
        except ServiceError as exc:
            _fail(exc)
    click.echo(f"Dossier du ménage {reference} effacé : {counts['requests']} demande(s), {counts['measures']} "
               f"mesure(s), {counts['documents']} document(s).")


@asll_group.command("rgpd-traces")
@click.argument("tenant_code")
@click.argument("reference")
@with_appcontext
def rgpd_traces(tenant_code: str, reference: str) -> None:
    """Qui a consulté ou modifié le dossier du ménage REFERENCE (journal d'audit)."""
    from asll.services.rgpd import rights
    from asll.tenancy import tenant_context

    tenant = _tenant(tenant_code)
    with tenant_context(tenant.id):
        household = _household(tenant.id, reference)
        entries = rights.traces_of(household.id)
        for entry in entries:
            click.echo(f"{entry.at:%d/%m/%Y %H:%M} {entry.who} – {entry.label} ({entry.what})")
        click.echo(f"{len(entries)} entrée(s).")


@asll_group.command("rgpd-registre")
@click.argument("tenant_code")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Fichier CSV à écrire.")
@with_appcontext
def rgpd_registre(tenant_code: str, output: Path) -> None:
    """Le registre des activités de traitement du département (CSV)."""
    from asll.services.rgpd import legal
    from asll.tenancy import tenant_context

    tenant = _tenant(tenant_code)
    with tenant_context(tenant.id):
        output.write_bytes(legal.register_csv(tenant.id))
    click.echo(f"Registre des activités de traitement écrit dans {output}.")


@asll_group.command("audit-purge")
@click.option("--dry-run", is_flag=True, help="Affiche ce qui serait purgé, sans rien supprimer.")
@click.option("--date", "on_date", callback=_parse_date, metavar="AAAA-MM-JJ",
              help="Jour de la purge (par défaut : aujourd'hui, heure de Paris).")
@with_appcontext
def audit_purge(dry_run: bool, on_date: date | None) -> None:
    """Purge les entrées du journal d'audit plus anciennes que la durée de conservation de chaque département,
    par segments dont la limite est notée dans un point de contrôle (audit-verify prouve le reste du journal).

    Sur PostgreSQL, le journal est en ajout seul pour le rôle de l'application : lancez la commande connecté
    avec un rôle membre de asll_maintenance (DATABASE_URL du propriétaire, ASLL_DATABASE_ROLE_CHECK=off)."""
    import sqlalchemy as sa

    from asll.domain.calendar import today
    from asll.extensions import db
    from asll.services.rgpd import audit_retention
    from asll.tenancy import MAINTENANCE_ROLE, unscoped

    on_date = on_date or today()
    if dry_run:
        for line in audit_retention.describe(audit_retention.plan(on_date), on_date):
            click.echo(line)
        click.echo("Simulation : rien n'a été supprimé.")
        return
    with unscoped(), db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            try:
                with connection.begin_nested():
                    connection.execute(sa.text(f"SET LOCAL ROLE {MAINTENANCE_ROLE}"))
            except sa.exc.DBAPIError:
                click.echo(f"Erreur : le rôle de connexion n'est pas membre de {MAINTENANCE_ROLE} ; le journal "
                           "d'audit est en ajout seul pour l'application (voir le README, RGPD).", err=True)
                sys.exit(1)
            connection.execute(sa.text("SELECT set_config('app.bypass_rls', 'on', true)"))
        segments = audit_retention.purge(connection, on_date)
    audit_retention.record_purges(segments)
    for line in audit_retention.describe(segments, on_date):
        click.echo(line.replace("Journal d'audit – ", "Purgé – ", 1) if segments else line)
