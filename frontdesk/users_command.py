"""`frontdesk users create`: make a dashboard user. The password is asked for at a prompt (or read
from FRONTDESK_NEW_USER_PASSWORD, for scripts) and only its argon2 hash is stored."""

import typer

from frontdesk.config import get_settings

users_app = typer.Typer(help="Dashboard users (clinic admins and staff, operators).", no_args_is_help=True)


@users_app.command("create")
def create(
    email: str = typer.Option(..., help="the user's email, used to sign in"),
    role: str = typer.Option("admin", help="admin or staff (of --clinic), or operator (every clinic)"),
    clinic: str | None = typer.Option(None, help="the clinic's slug (not for operators)"),
    name: str = typer.Option("", help="the user's name, shown in the dashboard and the audit log"),
    password: str = typer.Option(
        ...,
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="FRONTDESK_NEW_USER_PASSWORD",
        help="at least 12 characters (asked for when not given)",
    ),
) -> None:
    """Make a user who can sign in to the dashboard at /app/."""
    from frontdesk.domain.database import make_engine
    from frontdesk.domain.errors import NotFound
    from frontdesk.domain.models import UserRole
    from frontdesk.domain.users import create_user

    try:
        user_role = UserRole(role)
    except ValueError:
        typer.echo(f"error: --role must be one of {', '.join(r.value for r in UserRole)}", err=True)
        raise typer.Exit(2) from None
    try:
        user = create_user(
            make_engine(get_settings().database_url),
            email=email,
            password=password,
            role=user_role,
            clinic_slug=clinic,
            name=name,
        )
    except NotFound:
        typer.echo(f"error: no clinic with slug {clinic!r}", err=True)
        raise typer.Exit(2) from None
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    where = "every clinic" if clinic is None else f"clinic {clinic}"
    typer.echo(f"user {user.id} ({user.email}, {user.role.value} of {where}) can sign in at /app/")
