"""The admin API under test: the real app on the real databases, two small clinics and their keys.

Clinic A (`alpha`) and clinic B (`beta`) are tests.domain.factories' small clinics; each has a
clinic key, and there is one operator key. Temporal is unreachable unless a test brings its own.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from frontdesk.api.app import create_app
from frontdesk.config import Settings
from frontdesk.domain.api_keys import issue_key
from frontdesk.domain.models import ApiKeyScope
from tests.domain.factories import SmallClinic, make_small_clinic

UNREACHABLE_TEMPORAL = "127.0.0.1:1"


@dataclass(frozen=True)
class Tenants:
    """Two clinics and the keys that reach them."""

    a: SmallClinic
    b: SmallClinic
    key_a: str
    key_b: str
    operator_key: str


def bearer(key: str) -> dict[str, str]:
    """The Authorization header of an API key."""
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings of the database under test, with Temporal out of reach."""
    return Settings(database_url=database_url, temporal_address=UNREACHABLE_TEMPORAL)


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    """The real API app."""
    return create_app(settings)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the app."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as http:
        yield http


@pytest.fixture
def tenants(engine: Engine) -> Tenants:
    """Clinics A and B with a key each, and an operator key."""
    a = make_small_clinic(engine, "alpha", "+15550100001")
    b = make_small_clinic(engine, "beta", "+15550100002")
    key_a = issue_key(engine, scope=ApiKeyScope.clinic, name="alpha admin", clinic_slug="alpha").plain
    key_b = issue_key(engine, scope=ApiKeyScope.clinic, name="beta admin", clinic_slug="beta").plain
    operator = issue_key(engine, scope=ApiKeyScope.operator, name="ops").plain
    return Tenants(a, b, key_a, key_b, operator)
