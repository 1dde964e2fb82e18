"""Preparing the embedded stack's database: newest schema, and the demo clinic on a fresh one."""

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Engine, make_url
from sqlmodel import Session, select

from frontdesk.api.health import describe_failure
from frontdesk.devstack.errors import DevStackError
from frontdesk.domain.database import database_is_empty, make_engine, upgrade_database
from frontdesk.domain.models import Clinic, PhoneNumber
from frontdesk.domain.seed import DEMO_SLUG, seed_demo
from frontdesk.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class DemoClinic:
    """What `frontdesk dev` prints about the demo clinic."""

    slug: str
    name: str
    numbers: list[str]


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


def prepare_database(url: str) -> DemoClinic | None:
    """Upgrade the schema at `url`, seed the demo clinic if the database is empty, and describe it."""
    try:
        password = make_url(url).password
        upgrade_database(url)
        engine = make_engine(url)
        try:
            if database_is_empty(engine):
                seed_demo(engine)
                log.info("demo_clinic_seeded", slug=DEMO_SLUG)
            return find_demo_clinic(engine)
        finally:
            engine.dispose()  # the children open their own connections; this process needs none
    except (sa.exc.SQLAlchemyError, ValueError) as exc:
        raise DevStackError(
            "cannot prepare the database named by FRONTDESK_DATABASE_URL: "
            + describe_failure(exc, [password] if password else [])
        ) from exc
