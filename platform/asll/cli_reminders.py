"""``flask asll`` commands of the reminders feature (registered on :data:`asll.cli.asll_group`)."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import with_appcontext

from asll.cli import _parse_date, _tenant, asll_group


@asll_group.command("reminders-preview")
@click.option("--date", "on_date", callback=_parse_date, metavar="AAAA-MM-JJ",
              help="Date du balayage à simuler (par défaut : aujourd'hui, heure de Paris).")
@click.option("--tenant", "tenant_code", metavar="CODE", help="Code INSEE d'un seul département (ex. 42).")
@with_appcontext
def reminders_preview(on_date: date | None, tenant_code: str | None) -> None:
    """Affiche les rappels que le balayage enverrait à cette date, sans rien enregistrer ni envoyer."""
    from asll.domain.calendar import today
    from asll.services import reminders

    on_date = on_date or today()
    tenant_ids = [_tenant(tenant_code).id] if tenant_code else reminders.sweepable_tenants()
    total = 0
    for tenant_id in tenant_ids:
        preview = reminders.preview(tenant_id, on_date)
        steps = ", ".join(reminders.step_label(s) for s in preview.steps) or "aucun"
        click.echo(f"Département {preview.tenant_code} {preview.tenant_name} – balayage du "
                   f"{on_date:%d/%m/%Y} (délais de rappel : {steps})")
        for item in sorted(preview.planned, key=lambda p: (p.email, p.due_date, p.measure_reference, p.kind)):
            channel = "récapitulatif" if item.digest else "rappel"
            click.echo(f"  {item.email} [{channel}] {item.label} – mesure {item.measure_reference} "
                       f"(ménage {item.household_reference}) – échéance {item.due_date:%d/%m/%Y} "
                       f"({reminders.step_label(item.step)}, {reminders.relative(item.due_date, on_date)})")
        if not preview.planned:
            click.echo("  Aucun nouveau rappel.")
        click.echo(f"  {len(preview.planned)} rappel(s) en {preview.message_count} message(s) ; "
                   f"{preview.waiting} message(s) non encore envoyé(s) seraient renvoyé(s).")
        total += len(preview.planned)
    click.echo(f"Total : {total} rappel(s).")
