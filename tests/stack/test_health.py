"""GET /healthz and /readyz of the API and media apps, against a real Temporal dev server and a
real database, and against addresses where nothing answers.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from frontdesk.api.app import create_app as create_api_app
from frontdesk.config import Settings
from frontdesk.devstack.ports import free_port
from frontdesk.realtime.app import create_app as create_realtime_app
from tests.temporal_fixtures import temporal_address


async def _get(app: FastAPI, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return await client.get(path)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'health.db'}"


@pytest.fixture
async def reachable_settings(temporal_env: WorkflowEnvironment, database_url: str) -> AsyncIterator[Settings]:
    """Settings naming the shared Temporal dev server and a real database (SQLite, then PostgreSQL)."""
    yield Settings(database_url=database_url, temporal_address=temporal_address(temporal_env))


@pytest.mark.parametrize("create_app", [create_api_app, create_realtime_app], ids=["api", "realtime"])
async def test_ready_when_database_and_temporal_answer(create_app, reachable_settings: Settings) -> None:
    app = create_app(reachable_settings)

    health = await _get(app, "/healthz")
    ready = await _get(app, "/readyz")

    assert health.status_code == 200
    assert health.json() == {"status": "ok", "database": "ok", "temporal": "ok", "draining": False}
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"


async def test_a_draining_media_process_is_alive_but_not_ready(reachable_settings: Settings) -> None:
    app = create_realtime_app(reachable_settings)
    app.state.live_calls.drain()  # as its server does on SIGTERM

    health = await _get(app, "/healthz")
    ready = await _get(app, "/readyz")

    assert health.status_code == 200
    assert ready.status_code == 503
    assert ready.json() == {"status": "ok", "database": "ok", "temporal": "ok", "draining": True}


@pytest.mark.parametrize("create_app", [create_api_app, create_realtime_app], ids=["api", "realtime"])
async def test_not_ready_when_temporal_is_unreachable(create_app, sqlite_url: str) -> None:
    address = f"127.0.0.1:{free_port()}"
    app = create_app(Settings(database_url=sqlite_url, temporal_address=address))

    health = await _get(app, "/healthz")
    ready = await _get(app, "/readyz")

    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "degraded"
    assert body["database"] == "ok"
    # A refused connection is reported as such, at once, not after the check's timeout.
    assert address in body["temporal"]
    assert "no answer within" not in body["temporal"]
    assert ready.status_code == 503
    assert ready.json() == body


async def test_unreachable_database_is_reported_without_its_password(
    temporal_env: WorkflowEnvironment,
) -> None:
    password = "s3cret-pa55"
    url = f"postgresql+psycopg://frontdesk:{password}@127.0.0.1:{free_port()}/frontdesk"
    app = create_api_app(Settings(database_url=url, temporal_address=temporal_address(temporal_env)))

    ready = await _get(app, "/readyz")

    assert ready.status_code == 503
    body = ready.json()
    assert body["temporal"] == "ok"
    assert body["database"] != "ok"
    assert "unreachable" in body["database"]
    assert password not in ready.text
