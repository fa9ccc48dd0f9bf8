"""``flask asll ...`` commands (and the ``asll`` console script) over the services."""

from __future__ import annotations

import sys
from datetime import date

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from asll.extensions import db
from asll.services.actor import Actor
from asll.services.errors import ServiceError

asll_group = click.Group("asll", help="Commandes de la plateforme ASLL.")


def register(app: Flask) -> None:
    from asll import cli_exports, cli_reminders, cli_rgpd  # noqa: F401  (their commands join asll_group)

    app.cli.add_command(asll_group)


def _tenant(code: str):
    """The département with this INSEE code, or a French error and exit status 1."""
    from asll.services import tenants

    tenant = tenants.tenant_by_code(code)
    if tenant is None:
        click.echo(f"Erreur : département « {code} » introuvable.", err=True)
        sys.exit(1)
    return tenant


def _parse_date(_ctx, _param, value: str | None) -> date | None:
    """A ``--date AAAA-MM-JJ`` option (reminders preview, retention), refused in French otherwise."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("date attendue au format AAAA-MM-JJ") from exc


def _fail(exc: ServiceError) -> None:
    click.echo(f"Erreur : {exc.message}", err=True)
    for field, messages in getattr(exc, "fields", {}).items():
        click.echo(f"  {field} : {' '.join(map(str, messages))}", err=True)
    sys.exit(1)


@asll_group.command("demo-data")
@with_appcontext
def demo_data() -> None:
    """Crée les quatre départements de démonstration, leurs organismes et un compte par rôle."""
    from asll.services.demo import DEMO_PASSWORD, load_demo_cases, load_demo_data

    credentials = load_demo_data()
    failed = False
    for code, (played, errors) in load_demo_cases().items():
        if played or errors:
            click.echo(f"Département {code} : {played} dossier(s) de démonstration créés.")
        for error in errors:
            failed = True
            click.echo(f"  Dossier non créé – {error}", err=True)
    click.echo("Comptes de démonstration (mot de passe commun : %s)" % DEMO_PASSWORD)
    for credential in credentials:
        click.echo(f"  {credential.email:<42} {credential.role:<40} {credential.tenant}")
    if failed:
        sys.exit(1)


@asll_group.group("plugins")
def plugins_group() -> None:
    """Plugins départementaux et leur activation par département."""


@plugins_group.command("list")
@with_appcontext
def plugins_list() -> None:
    """Liste les plugins installés et leur état dans chaque département."""
    from asll.services import plugins

    for row in plugins.plugin_overview(Actor.system()):
        states = ", ".join(
            f"{p['name']}={'activé' if p['activation'] and p['activation'].enabled else 'désactivé'}"
            for p in row["plugins"]
        )
        click.echo(f"{row['tenant'].code} {row['tenant'].name}: {states}")


def _toggle(tenant_code: str, plugin: str, enabled: bool) -> None:
    from asll.services import plugins

    tenant = _tenant(tenant_code)
    try:
        plugins.set_enabled(Actor.system(label="ligne de commande"), tenant.id, plugin, enabled)
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"Plugin « {plugin} » {'activé' if enabled else 'désactivé'} pour {tenant.name}.")


@plugins_group.command("enable")
@click.argument("tenant_code")
@click.argument("plugin")
@with_appcontext
def plugins_enable(tenant_code: str, plugin: str) -> None:
    """Active PLUGIN pour le département TENANT_CODE (code INSEE)."""
    _toggle(tenant_code, plugin, True)


@plugins_group.command("disable")
@click.argument("tenant_code")
@click.argument("plugin")
@with_appcontext
def plugins_disable(tenant_code: str, plugin: str) -> None:
    """Désactive PLUGIN pour le département TENANT_CODE (les dossiers sont conservés)."""
    _toggle(tenant_code, plugin, False)


@asll_group.command("create-tenant")
@click.argument("code")
@click.argument("name")
@with_appcontext
def create_tenant(code: str, name: str) -> None:
    """Crée un département (CODE INSEE, NOM)."""
    from asll.services import tenants

    try:
        tenant = tenants.create_tenant(Actor.system(label="ligne de commande"), code, name)
        db.session.commit()
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"Département {tenant.name} ({tenant.code}) créé.")


@asll_group.command("create-platform-admin")
@click.argument("email")
@click.argument("full_name")
@click.password_option("--password", prompt="Mot de passe", confirmation_prompt="Confirmez le mot de passe")
@with_appcontext
def create_platform_admin(email: str, full_name: str, password: str) -> None:
    """Crée un administrateur de la plateforme."""
    from asll.services import passwords, users

    try:
        # The one password typed for someone else (the first account of a platform): the same policy applies.
        passwords.require_acceptable(password, None, email=email, full_name=full_name)
        users.create_user(Actor.system(label="ligne de commande"),
                          {"email": email, "full_name": full_name, "password": password}, platform_admin=True)
        db.session.commit()
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"Administrateur {email} créé.")


@asll_group.command("audit-verify")
@with_appcontext
def audit_verify() -> None:
    """Vérifie le journal d'audit de chaque département (chaînage, signatures, points de contrôle) ;
    échoue en nommant la première entrée manquante ou altérée."""
    from asll.services import audit

    result = audit.verify_all()
    if result.problems:
        for problem in result.problems:
            if problem.checkpoint_file:
                where = "points de contrôle"
            else:
                where = f"département {problem.tenant_id}" if problem.tenant_id else "plateforme"
            click.echo(f"ALTÉRATION – {where} : {problem.message}", err=True)
        sys.exit(1)
    click.echo(f"Journal d'audit intègre ({', '.join(result.checked)}).")
    if result.last_checkpoint is None:
        click.echo("Aucun point de contrôle : la suppression des entrées les plus récentes ne serait pas détectée "
                   "(beat en écrit un chaque heure ; « asll audit-checkpoint » en écrit un tout de suite).")
    else:
        click.echo(f"Comparé à {result.checkpoints} point(s) de contrôle ; dernier : {result.last_checkpoint_label}.")


@asll_group.command("audit-checkpoint")
@with_appcontext
def audit_checkpoint() -> None:
    """Écrit maintenant un point de contrôle du journal d'audit (tête de chaque chaîne), hors de la base."""
    from asll.services import audit

    result = audit.checkpoint()
    db.session.rollback()
    click.echo(f"Point de contrôle écrit dans {result.path} ({len(result.heads)} chaîne(s)).")
    for problem in result.problems:
        where = f"département {problem.tenant_id}" if problem.tenant_id else "plateforme"
        click.echo(f"ALTÉRATION – {where} : {problem.message}", err=True)
    if result.problems:
        sys.exit(1)


def main() -> None:
    """The ``asll`` console script: ``flask`` with the platform's app already chosen."""
    from asll.app import create_app

    FlaskGroup(create_app=lambda: create_app(), help="Plateforme ASLL.")(prog_name="asll")
