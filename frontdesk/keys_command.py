"""`frontdesk keys ...`: make and revoke admin API keys. A new key is printed once and only its
hash is stored. The database is imported inside the commands, so `frontdesk --help` stays fast."""

import uuid

import typer

from frontdesk.config import get_settings

keys_app = typer.Typer(help="Admin API keys (clinic or operator).", no_args_is_help=True)


@keys_app.command("create")
def create(
    clinic: str | None = typer.Option(None, help="the clinic's slug (a clinic key sees only this clinic)"),
    operator: bool = typer.Option(False, "--operator", help="an operator key: may manage every clinic"),
    name: str | None = typer.Option(None, help="who or what uses the key (shown in the audit log)"),
) -> None:
    """Make a key and print it once: store it now, it cannot be shown again."""
    from frontdesk.domain.api_keys import issue_key
    from frontdesk.domain.database import make_engine
    from frontdesk.domain.errors import NotFound
    from frontdesk.domain.models import ApiKeyScope

    if operator == (clinic is not None):
        typer.echo("error: give either --clinic SLUG or --operator", err=True)
        raise typer.Exit(2)
    scope = ApiKeyScope.operator if operator else ApiKeyScope.clinic
    try:
        issued = issue_key(
            make_engine(get_settings().database_url),
            scope=scope,
            name=name or (f"{clinic} admin" if clinic else "operator"),
            clinic_slug=clinic,
        )
    except NotFound:
        typer.echo(f"error: no clinic with slug {clinic!r}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{scope.value} key {issued.id} ({issued.name}); it is shown only this once:", err=True)
    typer.echo(issued.plain)


@keys_app.command("revoke")
def revoke(key_id: uuid.UUID) -> None:
    """Refuse a key from now on."""
    from frontdesk.domain.api_keys import revoke_key
    from frontdesk.domain.database import make_engine
    from frontdesk.domain.errors import NotFound

    try:
        revoke_key(make_engine(get_settings().database_url), key_id)
    except NotFound:
        typer.echo(f"error: no key {key_id}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"key {key_id} revoked")
