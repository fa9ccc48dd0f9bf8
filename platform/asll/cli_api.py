"""``flask asll api-token ...``: personal API tokens from the command line (on :data:`asll.cli.asll_group`)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from asll.cli import _fail, asll_group
from asll.services.actor import Actor
from asll.services.errors import ServiceError


@asll_group.group("api-token")
def api_token_group() -> None:
    """Jetons d'accès personnels à l'API JSON."""


@api_token_group.command("create")
@click.argument("email")
@click.argument("tenant_code")
@click.option("--label", default="Créé en ligne de commande", show_default=True, help="À quoi sert ce jeton.")
@with_appcontext
def create(email: str, tenant_code: str, label: str) -> None:
    """Crée un jeton pour EMAIL dans le département TENANT_CODE (code INSEE) et l'affiche une seule fois."""
    from asll.services import api_tokens

    try:
        token, secret = api_tokens.issue_for_user(Actor.system(label="ligne de commande"), email, tenant_code, label)
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"Jeton n° {token.id} créé pour {email} ({tenant_code}) : conservez-le, il ne sera plus affiché.")
    click.echo(secret)
