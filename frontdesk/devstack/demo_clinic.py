"""Preparing the embedded stack's database: newest schema, the demo clinic on a fresh one, and
its demo admin for the dashboard.

The demo admin's password is made at random when the admin is made, kept in
`var/demo-admin.txt` (readable by this user only) and printed in `frontdesk dev`'s banner.
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


@dataclass(frozen=True)
class DemoAdmin:
    """The dashboard sign-in `frontdesk dev` prints."""

    email: str
    password: str


@dataclass(frozen=True)
class DemoClinic:
    """What `frontdesk dev` prints about the demo clinic."""

    slug: str
    name: str
    numbers: list[str]
    admin: DemoAdmin | None = None


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


def ensure_demo_admin(engine: Engine, var_dir: Path) -> DemoAdmin | None:
    """The demo clinic's admin, made (with a new password kept under `var_dir`) when the demo
    clinic has no user yet; None when the password was not made here (the file is gone)."""
    path = var_dir / DEMO_ADMIN_FILE
    with Session(engine) as session:
        clinic_id = session.exec(select(Clinic.id).where(Clinic.slug == DEMO_SLUG)).first()
        if clinic_id is None:
            return None
        has_users = session.exec(select(User.id).where(User.clinic_id == clinic_id)).first() is not None
    if not has_users:
        password = secrets.token_urlsafe(12)
        create_user(
            engine,
            email=DEMO_ADMIN_EMAIL,
            password=password,
            role=UserRole.admin,
            clinic_slug=DEMO_SLUG,
            name="Demo admin",
        )
        var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{DEMO_ADMIN_EMAIL}\n{password}\n")
        os.chmod(path, 0o600)
        log.info("demo_admin_created")
    if not path.exists():
        return None
    email, password = [*path.read_text().splitlines(), "", ""][:2]
    return DemoAdmin(email, password) if email and password else None


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
            return DemoClinic(demo.slug, demo.name, demo.numbers, ensure_demo_admin(engine, var_dir))
        finally:
            engine.dispose()  # the children open their own connections; this process needs none
    except (sa.exc.SQLAlchemyError, ValueError) as exc:
        raise DevStackError(
            "cannot prepare the database named by FRONTDESK_DATABASE_URL: "
            + describe_failure(exc, [password] if password else [])
        ) from exc
