"""Preparing the embedded stack's database: newest schema, the demo clinic on a fresh one, and
its demo admin and an operator for the dashboard.

Each demo user's password is made at random when the user is made, kept in
`var/demo-admin.txt` or `var/demo-operator.txt` (readable by this user only) and printed in
`frontdesk dev`'s banner.
"""

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from sqlalchemy import Engine, make_url
from sqlmodel import Session, select

from frontdesk.api.health import describe_failure
from frontdesk.devstack.errors import DevStackError
from frontdesk.domain.database import database_is_empty, make_engine, upgrade_database
from frontdesk.domain.models import Clinic, PhoneNumber, User, UserRole
from frontdesk.domain.seed import DEMO_SLUG, seed_demo
from frontdesk.domain.users import create_user
from frontdesk.logs import get_logger

log = get_logger(__name__)


DEMO_ADMIN_EMAIL: Final = "admin@maple-dental.example"
DEMO_ADMIN_FILE: Final = "demo-admin.txt"
DEMO_OPERATOR_EMAIL: Final = "operator@frontdesk.example"
DEMO_OPERATOR_FILE: Final = "demo-operator.txt"


@dataclass(frozen=True)
class DemoSignIn:
    """A dashboard sign-in `frontdesk dev` prints."""

    email: str
    password: str


@dataclass(frozen=True)
class DemoClinic:
    """What `frontdesk dev` prints about the demo clinic."""

    slug: str
    name: str
    numbers: list[str]
    admin: DemoSignIn | None = None
    operator: DemoSignIn | None = None


def find_demo_clinic(engine: Engine) -> DemoClinic | None:
    """The demo clinic and its phone numbers, or None when this database has no demo clinic."""
    with Session(engine) as session:
        clinic = session.exec(select(Clinic).where(Clinic.slug == DEMO_SLUG)).first()
        if clinic is None:
            return None
        numbers = session.exec(
            select(PhoneNumber.e164).where(PhoneNumber.clinic_id == clinic.id).order_by(PhoneNumber.e164)
        ).all()
        return DemoClinic(slug=clinic.slug, name=clinic.name, numbers=list(numbers))


def _ensure_demo_user(
    engine: Engine, var_dir: Path, *, email: str, role: UserRole, clinic_slug: str | None, file: str
) -> DemoSignIn | None:
    """A demo user of `role`, made (with a new password kept in `var_dir / file`) when that clinic
    (or, for an operator, the stack) has no such user yet; None when the password was not made
    here (the file is gone)."""
    path = var_dir / file
    with Session(engine) as session:
        users = select(User.id)
        if clinic_slug is None:
            users = users.where(User.role == UserRole.operator)
        else:
            clinic_id = session.exec(select(Clinic.id).where(Clinic.slug == clinic_slug)).first()
            if clinic_id is None:
                return None
            users = users.where(User.clinic_id == clinic_id)
        has_users = session.exec(users).first() is not None
    if not has_users:
        password = secrets.token_urlsafe(12)
        name = "Demo operator" if clinic_slug is None else "Demo admin"
        create_user(engine, email=email, password=password, role=role, clinic_slug=clinic_slug, name=name)
        var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{email}\n{password}\n")
        os.chmod(path, 0o600)
        log.info("demo_user_created", role=role.value)
    if not path.exists():
        return None
    saved_email, password = [*path.read_text().splitlines(), "", ""][:2]
    return DemoSignIn(saved_email, password) if saved_email and password else None


def ensure_demo_admin(engine: Engine, var_dir: Path) -> DemoSignIn | None:
    """The demo clinic's admin (see _ensure_demo_user)."""
    return _ensure_demo_user(
        engine,
        var_dir,
        email=DEMO_ADMIN_EMAIL,
        role=UserRole.admin,
        clinic_slug=DEMO_SLUG,
        file=DEMO_ADMIN_FILE,
    )


def ensure_demo_operator(engine: Engine, var_dir: Path) -> DemoSignIn | None:
    """The stack's operator, who sees every clinic and reads payloads in the Temporal UI."""
    return _ensure_demo_user(
        engine,
        var_dir,
        email=DEMO_OPERATOR_EMAIL,
        role=UserRole.operator,
        clinic_slug=None,
        file=DEMO_OPERATOR_FILE,
    )


def prepare_database(url: str, var_dir: Path) -> DemoClinic | None:
    """Upgrade the schema at `url`, seed the demo clinic if the database is empty, make its demo
    admin if it has no user, and describe it."""
    try:
        password = make_url(url).password
        upgrade_database(url)
        engine = make_engine(url)
        try:
            if database_is_empty(engine):
                seed_demo(engine)
                log.info("demo_clinic_seeded", slug=DEMO_SLUG)
            demo = find_demo_clinic(engine)
            if demo is None:
                return None
            return DemoClinic(
                demo.slug,
                demo.name,
                demo.numbers,
                ensure_demo_admin(engine, var_dir),
                ensure_demo_operator(engine, var_dir),
            )
        finally:
            engine.dispose()  # the children open their own connections; this process needs none
    except (sa.exc.SQLAlchemyError, ValueError) as exc:
        raise DevStackError(
            "cannot prepare the database named by FRONTDESK_DATABASE_URL: "
            + describe_failure(exc, [password] if password else [])
        ) from exc
