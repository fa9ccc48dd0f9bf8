"""``flask asll account ...``: suspend or restore an account, remove a lost second factor."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from asll.cli import _fail, asll_group
from asll.services.actor import Actor
from asll.services.errors import ServiceError


@asll_group.group("account")
def account_group() -> None:
    """Comptes : suspension, double authentification."""


def _user(email: str):
    from asll.services.users import find_by_email

    user = find_by_email(email)
    if user is None:
        click.echo(f"Erreur : aucun compte pour « {email} ».", err=True)
        sys.exit(1)
    return user


@account_group.command("suspend")
@click.argument("email")
@with_appcontext
def suspend(email: str) -> None:
    """Suspend le compte EMAIL : ses sessions et ses jetons d'accès cessent aussitôt."""
    from asll.services import users

    try:
        users.set_account_active(Actor.system(label="ligne de commande"), _user(email).id, False)
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"Compte {email} suspendu ; ses sessions et ses jetons sont révoqués.")


@account_group.command("restore")
@click.argument("email")
@with_appcontext
def restore(email: str) -> None:
    """Rétablit le compte EMAIL (ses anciens jetons restent révoqués)."""
    from asll.services import users

    try:
        users.set_account_active(Actor.system(label="ligne de commande"), _user(email).id, True)
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"Compte {email} rétabli.")


@account_group.command("totp-reset")
@click.argument("email")
@with_appcontext
def totp_reset(email: str) -> None:
    """Retire la double authentification de EMAIL (téléphone perdu) ; ses sessions sont fermées."""
    from asll.services import totp

    try:
        totp.reset(Actor.system(label="ligne de commande"), email)
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"Double authentification retirée pour {email} : à configurer de nouveau à la prochaine connexion.")
