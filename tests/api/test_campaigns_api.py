"""Campaigns through the admin API against a real worker on the Temporal dev server: create
(the row and its CampaignWorkflow), progress from the workflow's query, pause, resume, cancel."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine

from frontdesk.api.app import create_app
from frontdesk.config import Settings
from tests.api.conftest import Tenants, bearer
from tests.realtime.call_worker import CallWorker, call_worker, temporal_env

__all__ = ["call_worker", "temporal_env"]


@pytest.fixture
async def api(database_url: str, call_worker: CallWorker) -> AsyncIterator[httpx.AsyncClient]:
    """The API app starting its campaigns on the worker's task queue."""
    settings = Settings(
        database_url=database_url,
        temporal_address=call_worker.address,
        temporal_task_queue=call_worker.task_queue,
    )
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
        yield http


async def test_a_campaign_is_created_steered_and_cancelled(
    api: httpx.AsyncClient, tenants: Tenants, call_worker: CallWorker, engine: Engine
) -> None:
    clinic = tenants.a.clinic_id
    base = f"/v1/clinics/{clinic}/campaigns"
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()  # nothing is dialled in this test
    body = {
        "name": "spring recall",
        "kind": "recall",
        "audience": {"patient_ids": [str(tenants.a.patient_id)]},
        "start_at": later,
    }
    created = await api.post(base, json=body, headers=bearer(tenants.key_a))
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert campaign["workflow_id"] == f"campaign-{campaign['id']}"

    async def progress() -> dict[str, object]:
        answer = await api.get(f"{base}/{campaign['id']}/progress", headers=bearer(tenants.key_a))
        assert answer.status_code == 200, answer.text
        counts: dict[str, object] = answer.json()["progress"]
        return counts

    for _ in range(100):  # the workflow counts its targets in its first activity: moments after the start
        if (counts := await progress())["total"]:
            break
        await asyncio.sleep(0.1)
    assert (counts["total"], counts["pending"]) == (1, 1)
    for signal, status in [("pause", "paused"), ("resume", "running")]:
        steered = await api.post(f"{base}/{campaign['id']}/{signal}", headers=bearer(tenants.key_a))
        assert steered.status_code == 202, steered.text
        assert (await progress())["status"] == status
    other_clinic = await api.post(f"{base}/{campaign['id']}/cancel", headers=bearer(tenants.key_b))
    assert other_clinic.status_code == 404 and "error" in other_clinic.json()
    cancelled = await api.post(f"{base}/{campaign['id']}/cancel", headers=bearer(tenants.key_a))
    assert cancelled.status_code == 202

    final = await call_worker.client.get_workflow_handle(campaign["workflow_id"]).result()
    assert (final["status"], final["skipped"], final["pending"]) == ("cancelled", 1, 0)
    row = await api.get(f"{base}/{campaign['id']}", headers=bearer(tenants.key_a))
    assert row.json()["status"] == "cancelled"
