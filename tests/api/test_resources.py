"""CRUD and validation of each admin API resource, on SQLite and PostgreSQL."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from frontdesk.config import Settings
from frontdesk.domain.crypto import integration_credentials
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import Call, CallDirection, CallStatus, CallTurn, Integration, TurnRole
from tests.api.conftest import Tenants, bearer


async def test_an_operator_sets_up_a_clinic_end_to_end(client: httpx.AsyncClient, tenants: Tenants) -> None:
    body = {
        "slug": "gamma",
        "name": "Gamma Dental",
        "timezone": "America/Chicago",
        "phone_numbers": [{"e164": "+15550100003"}],
        "services": [{"slug": "exam", "name": "Exam", "duration_minutes": 30}],
        "providers": [
            {
                "name": "Dr. Gil Moss",
                "short_name": "Dr. Moss",
                "role": "dentist",
                "service_slugs": ["exam"],
                "weekly_hours": [{"weekday": 0, "start_time": "09:00", "end_time": "17:00"}],
            }
        ],
    }
    refused = await client.post("/v1/clinics", headers=bearer(tenants.key_a), json=body)
    assert refused.status_code == 403
    created = await client.post("/v1/clinics", headers=bearer(tenants.operator_key), json=body)
    assert created.status_code == 201, created.text
    clinic_id = created.json()["id"]
    base = f"/v1/clinics/{clinic_id}"
    ops = bearer(tenants.operator_key)
    providers = (await client.get(f"{base}/providers", headers=ops)).json()["items"]
    services = (await client.get(f"{base}/services", headers=ops)).json()["items"]
    assert providers[0]["service_ids"] == [services[0]["id"]]
    schedules = (await client.get(f"{base}/providers/{providers[0]['id']}/schedules", headers=ops)).json()
    assert [(s["weekday"], s["start_time"]) for s in schedules["items"]] == [(0, "09:00:00")]
    numbers = (await client.get(f"{base}/phone-numbers", headers=ops)).json()["items"]
    assert [n["e164"] for n in numbers] == ["+15550100003"]

    duplicate = await client.post("/v1/clinics", headers=ops, json=body)
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "conflict"
    bad = await client.post(
        "/v1/clinics", headers=ops, json={**body, "slug": "delta", "timezone": "Mars/Base"}
    )
    assert bad.status_code == 422 and "timezone" in bad.json()["error"]["message"]


async def test_clinic_settings_read_and_update(client: httpx.AsyncClient, tenants: Tenants) -> None:
    url, key = f"/v1/clinics/{tenants.a.clinic_id}", bearer(tenants.key_a)
    patch = {
        "voice": "aura-2",
        "greeting": "Thanks for calling Alpha.",
        "style_notes": "warm, brief",
        "timezone": "America/Denver",
        "max_call_seconds": 900,
        "end_of_turn_profile": "patient",
        "escalation": {"transfer_number": "+15550100050", "after_hours_policy": "transfer_anyway"},
        "booking_rules": {"min_lead_minutes": 30, "horizon_days": 14},
        "insurance": {"accepted": ["Delta Dental", "Aetna"]},
    }
    updated = (await client.patch(url, headers=key, json=patch)).json()
    assert updated["escalation"]["transfer_number"] == "+15550100050"
    assert (await client.get(url, headers=key)).json() == updated
    assert updated["insurance"]["accepted"] == ["Delta Dental", "Aetna"]
    for bad, field in [
        ({"max_call_seconds": 5}, "max_call_seconds"),
        ({"escalation": {"transfer_number": "555"}}, "escalation.transfer_number"),
        ({"opening_hours": {"days": {"monday": [{"start": "17:00", "end": "09:00"}]}}}, "opening_hours"),
        ({"insurance": {"accepted": ["Aetna", "aetna"]}}, "insurance.accepted"),
    ]:
        response = await client.patch(url, headers=key, json=bad)
        assert response.status_code == 422 and field in response.json()["error"]["message"], response.text
    assert (await client.get(url, headers=key)).json()["max_call_seconds"] == 900


async def test_providers_services_schedules_and_exceptions(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    base, key = f"/v1/clinics/{tenants.a.clinic_id}", bearer(tenants.key_a)
    service = await client.post(
        f"{base}/services",
        headers=key,
        json={"slug": "whitening", "name": "Whitening", "duration_minutes": 90},
    )
    assert service.status_code == 201
    service_id = service.json()["id"]
    again = await client.post(
        f"{base}/services", headers=key, json={"slug": "whitening", "name": "Other", "duration_minutes": 30}
    )
    assert again.status_code == 409
    changed = await client.patch(f"{base}/services/{service_id}", headers=key, json={"duration_minutes": 60})
    assert changed.json()["duration_minutes"] == 60

    provider = await client.post(
        f"{base}/providers",
        headers=key,
        json={"name": "Kim Ray", "short_name": "Kim", "role": "hygienist", "service_ids": [service_id]},
    )
    assert provider.status_code == 201 and provider.json()["service_ids"] == [service_id]
    provider_url = f"{base}/providers/{provider.json()['id']}"
    retired = await client.patch(provider_url, headers=key, json={"active": False, "service_ids": []})
    assert retired.json()["active"] is False and retired.json()["service_ids"] == []
    active = (await client.get(f"{base}/providers?active=true", headers=key)).json()
    assert provider.json()["id"] not in [p["id"] for p in active["items"]]

    block = await client.post(
        f"{provider_url}/schedules",
        headers=key,
        json={"weekday": 2, "start_time": "08:00", "end_time": "12:00"},
    )
    assert block.status_code == 201
    backwards = await client.post(
        f"{provider_url}/schedules",
        headers=key,
        json={"weekday": 2, "start_time": "12:00", "end_time": "08:00"},
    )
    assert backwards.status_code == 422 and "end_time" in backwards.json()["error"]["message"]
    assert (
        await client.delete(f"{provider_url}/schedules/{block.json()['id']}", headers=key)
    ).status_code == 204
    assert (await client.get(f"{provider_url}/schedules", headers=key)).json()["total"] == 0

    start = datetime(2030, 2, 1, 15, tzinfo=UTC)
    off = await client.post(
        f"{provider_url}/exceptions",
        headers=key,
        json={
            "start_at": start.isoformat(),
            "end_at": (start + timedelta(hours=2)).isoformat(),
            "kind": "time_off",
        },
    )
    assert off.status_code == 201
    naive = await client.post(
        f"{provider_url}/exceptions",
        headers=key,
        json={"start_at": "2030-02-01T15:00:00", "end_at": "2030-02-01T16:00:00", "kind": "time_off"},
    )
    assert naive.status_code == 422 and "start_at" in naive.json()["error"]["message"]
    assert (
        await client.delete(f"{provider_url}/exceptions/{off.json()['id']}", headers=key)
    ).status_code == 204


async def test_patients_and_appointments(client: httpx.AsyncClient, tenants: Tenants) -> None:
    base, key = f"/v1/clinics/{tenants.a.clinic_id}", bearer(tenants.key_a)
    created = await client.post(
        f"{base}/patients",
        headers=key,
        json={
            "phone": "+15550111000",
            "first_name": "Sam",
            "last_name": "Doe",
            "date_of_birth": "1990-04-02",
        },
    )
    assert created.status_code == 201
    family = (await client.get(f"{base}/patients?phone=%2B15550111000", headers=key)).json()
    assert family["total"] == 2  # Pat Doe of the factory shares the number
    cleared = await client.patch(
        f"{base}/patients/{created.json()['id']}", headers=key, json={"date_of_birth": None}
    )
    assert cleared.json()["date_of_birth"] is None
    no_name = await client.patch(
        f"{base}/patients/{created.json()['id']}", headers=key, json={"last_name": None}
    )
    assert no_name.status_code == 422

    listed = await client.get(f"{base}/appointments?day=2030-01-09&status=booked", headers=key)
    assert listed.status_code == 200 and listed.json()["total"] == 0
    bad_status = await client.get(f"{base}/appointments?status=lost", headers=key)
    assert bad_status.status_code == 422 and "query.status" in bad_status.json()["error"]["message"]


async def test_integration_credentials_are_write_only_and_encrypted(
    client: httpx.AsyncClient, tenants: Tenants, engine: Engine, settings: Settings
) -> None:
    base, key = f"/v1/clinics/{tenants.a.clinic_id}/integrations", bearer(tenants.key_a)
    created = await client.post(
        base,
        headers=key,
        json={"kind": "crm", "provider": "hubspot", "credentials": {"token": "pat-SECRET-1"}},
    )
    assert created.status_code == 201 and created.json()["has_credentials"] is True
    assert "SECRET" not in created.text
    integration_id = created.json()["id"]
    rotated = await client.patch(
        f"{base}/{integration_id}", headers=key, json={"credentials": {"token": "pat-SECRET-2"}}
    )
    assert "SECRET" not in rotated.text and "SECRET" not in (await client.get(base, headers=key)).text
    with Session(engine) as session:
        row = session.get(Integration, uuid.UUID(integration_id))
        assert row is not None and "SECRET" not in (row.credentials_encrypted or "")
        assert integration_credentials(row, settings.secret_key) == {"token": "pat-SECRET-2"}
    assert (await client.delete(f"{base}/{integration_id}", headers=key)).status_code == 204
    assert (await client.get(f"{base}/{integration_id}", headers=key)).status_code == 404


async def test_calls_with_transcripts_and_metrics(
    client: httpx.AsyncClient, tenants: Tenants, engine: Engine
) -> None:
    base, key = f"/v1/clinics/{tenants.a.clinic_id}", bearer(tenants.key_a)
    day = datetime(2030, 1, 9, 15, tzinfo=UTC)  # 10:00 in New York
    with session_scope(engine) as session:
        calls = []
        for i, (outcome, minutes, hour) in enumerate(
            [("booked", 3, 15), ("transferred", 5, 16), (None, 1, 4)]
        ):
            start = day.replace(hour=hour)
            call = Call(
                clinic_id=tenants.a.clinic_id,
                call_sid=f"CA{i:032d}",
                direction=CallDirection.inbound,
                from_number="+15550111000",
                to_number="+15550100001",
                status=CallStatus.completed,
                started_at=start,
                ended_at=start + timedelta(minutes=minutes),
                outcome=outcome,
                summary="Booked an exam." if outcome == "booked" else None,
            )
            session.add(call)
            calls.append(call)
        session.flush()
        greeting = {"greeting": 1.0, "first_frame_sent": 40}  # answers no one: not a latency figure
        for index, timings in enumerate(
            [greeting, *({"first_frame_sent": ms, "stt_final": ms / 4} for ms in [400, 600, 800])]
        ):
            session.add(
                CallTurn(
                    clinic_id=tenants.a.clinic_id,
                    call_id=calls[0].id,
                    index=index,
                    role=TurnRole.agent,
                    text="Sure, Wednesday at ten works.",
                    heard_text="Sure, Wednesday",
                    timings=timings,
                )
            )
    transferred = (await client.get(f"{base}/calls?transferred=true", headers=key)).json()
    assert [c["outcome"] for c in transferred["items"]] == ["transferred"]
    window = await client.get(
        f"{base}/calls", headers=key, params={"from": "2030-01-09T14:00:00Z", "to": "2030-01-09T15:30:00Z"}
    )
    assert [c["call_sid"] for c in window.json()["items"]] == [calls[0].call_sid]

    detail = (await client.get(f"{base}/calls/{calls[0].id}", headers=key)).json()
    assert [t["heard_text"] for t in detail["turns"]] == ["Sure, Wednesday"] * 4
    assert detail["summary"] == "Booked an exam."
    assert detail["workflow_url"].endswith(f"/namespaces/default/workflows/{calls[0].call_sid}")

    metrics = (await client.get(f"{base}/metrics?from=2030-01-08&to=2030-01-09", headers=key)).json()
    assert metrics["calls_handled"] == 3
    assert metrics["average_handle_seconds"] == 180
    assert metrics["transfer_rate"] == 1 / 3
    assert metrics["booking_completion_rate"] == 1.0
    assert metrics["after_hours_calls_answered"] == 0  # no opening hours configured
    assert metrics["latency_ms"]["first_frame_sent"] == {"p50": 600, "p95": 800, "samples": 3}
    assert "greeting" not in metrics["latency_ms"]
    backwards = await client.get(f"{base}/metrics?from=2030-01-09&to=2030-01-01", headers=key)
    assert backwards.status_code == 422

    hours = {"days": {"wednesday": [{"start": "08:00", "end": "18:00"}]}}
    await client.patch(base, headers=key, json={"opening_hours": hours})
    after_hours = (await client.get(f"{base}/metrics?from=2030-01-08&to=2030-01-09", headers=key)).json()
    assert after_hours["after_hours_calls_answered"] == 1  # the 04:00 UTC call: 23:00 Tuesday local


async def test_prometheus_metrics_are_exposed(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert "python_info" in response.text or "process_" in response.text
