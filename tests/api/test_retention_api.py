"""The retention period through the admin API: read, changed, refused with a clear error out of
bounds; and what a clean-up leaves for the API to show (the call's removal, the system's audit
entry with its counts)."""

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from frontdesk.activities.retention import remove_expired_texts
from frontdesk.domain.models import utcnow
from tests.activities.test_retention import add_conversation
from tests.api.conftest import Tenants, bearer


async def test_the_retention_period_is_read_and_changed(client: httpx.AsyncClient, tenants: Tenants) -> None:
    url, key = f"/v1/clinics/{tenants.a.clinic_id}", bearer(tenants.key_a)
    assert (await client.get(url, headers=key)).json()["retention_days"] == 365

    changed = await client.patch(url, headers=key, json={"retention_days": 90})

    assert changed.status_code == 200 and changed.json()["retention_days"] == 90
    assert (await client.get(url, headers=key)).json()["retention_days"] == 90
    audit = (await client.get(f"{url}/audit-log", headers=key)).json()["items"]
    assert [(a["method"], a["route"], a["detail"]) for a in audit] == [
        ("PATCH", "/v1/clinics/{clinic_id}", None)
    ]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (29, "greater than or equal to 30"),
        (3651, "less than or equal to 3650"),
        ("365", "valid integer"),
        (365.5, "valid integer"),
        (None, "cannot be null"),
    ],
)
async def test_a_period_out_of_bounds_is_refused_and_named(
    client: httpx.AsyncClient, tenants: Tenants, value: Any, says: str
) -> None:
    url, key = f"/v1/clinics/{tenants.a.clinic_id}", bearer(tenants.key_a)

    refused = await client.patch(url, headers=key, json={"retention_days": value})

    assert refused.status_code == 422, refused.text
    message = refused.json()["error"]["message"]
    assert "retention_days" in message and says in message, message
    assert (await client.get(url, headers=key)).json()["retention_days"] == 365


async def test_a_new_clinic_is_set_up_with_its_period(client: httpx.AsyncClient, tenants: Tenants) -> None:
    body = {"slug": "gamma", "name": "Gamma Dental", "timezone": "America/Chicago"}
    ops = bearer(tenants.operator_key)

    assert (
        await client.post("/v1/clinics", headers=ops, json={**body, "retention_days": 10})
    ).status_code == 422
    created = await client.post("/v1/clinics", headers=ops, json={**body, "retention_days": 180})

    assert created.status_code == 201 and created.json()["retention_days"] == 180


async def test_a_clean_up_shows_on_the_call_and_in_the_audit_log(
    client: httpx.AsyncClient, tenants: Tenants, engine: Engine
) -> None:
    base, key = f"/v1/clinics/{tenants.a.clinic_id}", bearer(tenants.key_a)
    conversation = add_conversation(engine, tenants.a.clinic_id, utcnow() - timedelta(days=400))

    remove_expired_texts(engine, "run-1", batch_size=100)

    call = (await client.get(f"{base}/calls/{conversation.call_id}", headers=key)).json()
    assert call["transcript_removed_at"] is not None and call["summary"] is None
    assert [turn["text"] for turn in call["turns"]] == ["", ""] and call["outcome"] == "booked"
    [entry] = (await client.get(f"{base}/audit-log", headers=key)).json()["items"]
    assert (entry["actor_kind"], entry["actor_name"], entry["method"], entry["route"]) == (
        "system",
        "Frontdesk",
        "DELETE",
        "retention",
    )
    assert entry["detail"] == {"calls": 1, "turns": 2, "messages": 1}
    other = (
        await client.get(f"/v1/clinics/{tenants.b.clinic_id}/audit-log", headers=bearer(tenants.key_b))
    ).json()
    assert other["total"] == 0
