"""Tenant isolation on every route of the OpenAPI schema: clinic A's key gets 404 for clinic B.

The routes come from the app's own schema, so a new endpoint is checked without editing this
test. Two ways in are tried on each: B's clinic id in the path, and A's clinic id with B's
resource ids. Neither may answer anything but 404, and no answer may contain B's ids or names.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine

from frontdesk.domain.campaign_settings import CampaignAudience, CampaignKind
from frontdesk.domain.campaigns import create_campaign
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import (
    Appointment,
    Call,
    CallDirection,
    DoNotContact,
    ExceptionKind,
    Integration,
    IntegrationKind,
    OptOutSource,
    PhoneNumber,
    ProviderSchedule,
    ScheduleException,
)
from tests.api.conftest import Tenants, bearer

# Bodies valid for the routes that take one, so that validation cannot answer before the
# ownership check does (a 422 would hide whether the resource was found).
SAMPLE_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/v1/clinics/{clinic_id}/providers/{provider_id}/schedules"): {
        "weekday": 1,
        "start_time": "09:00:00",
        "end_time": "12:00:00",
    },
    ("post", "/v1/clinics/{clinic_id}/providers/{provider_id}/exceptions"): {
        "start_at": "2030-01-09T15:00:00Z",
        "end_at": "2030-01-09T16:00:00Z",
        "kind": "time_off",
    },
}


def resource_ids_of_b(engine: Engine, tenants: Tenants) -> dict[str, uuid.UUID]:
    """One row of every kind for clinic B, by the path parameter naming it."""
    b = tenants.b
    start = datetime(2030, 1, 9, 15, tzinfo=UTC)
    with session_scope(engine) as session:
        rows = {
            "phone_number_id": PhoneNumber(clinic_id=b.clinic_id, e164="+15550100099"),
            "schedule_id": ProviderSchedule(
                clinic_id=b.clinic_id,
                provider_id=b.provider_id,
                weekday=0,
                start_time=datetime(2030, 1, 1, 8).time(),
                end_time=datetime(2030, 1, 1, 9).time(),
            ),
            "exception_id": ScheduleException(
                clinic_id=b.clinic_id,
                provider_id=b.provider_id,
                start_at=start,
                end_at=start + timedelta(hours=1),
                kind=ExceptionKind.time_off,
            ),
            "appointment_id": Appointment(
                clinic_id=b.clinic_id,
                patient_id=b.patient_id,
                provider_id=b.provider_id,
                service_id=b.exam_id,
                start_at=start + timedelta(days=1),
                end_at=start + timedelta(days=1, minutes=30),
            ),
            "call_id": Call(
                clinic_id=b.clinic_id,
                call_sid="CA" + "b" * 32,
                direction=CallDirection.inbound,
                from_number="+15550111000",
                to_number="+15550100002",
            ),
            "integration_id": Integration(
                clinic_id=b.clinic_id, kind=IntegrationKind.crm, provider="hubspot"
            ),
            "do_not_contact_id": DoNotContact(
                clinic_id=b.clinic_id, phone="+15550111000", sms_since=start, sms_source=OptOutSource.api
            ),
        }
        session.add_all(rows.values())
        session.flush()
        ids = {name: row.id for name, row in rows.items()}
    campaign = create_campaign(
        engine,
        b.clinic_id,
        name="beta recall",
        kind=CampaignKind.recall,
        audience=CampaignAudience(patient_ids=[b.patient_id]),
    )
    return {
        **ids,
        "campaign_id": campaign.id,
        "provider_id": b.provider_id,
        "service_id": b.exam_id,
        "patient_id": b.patient_id,
    }


def clinic_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path template) of the schema that names a clinic."""
    paths = app.openapi()["paths"]
    return [(method, path) for path, item in paths.items() for method in item if "{clinic_id}" in path]


async def test_a_clinic_key_gets_404_for_every_route_of_another_clinic(
    app: FastAPI, client: httpx.AsyncClient, engine: Engine, tenants: Tenants
) -> None:
    app.state.rate_limiter.burst = 10_000  # this test makes many requests with one key
    ids_of_b = resource_ids_of_b(engine, tenants)
    names_of_b = ["beta", "Clinic beta", "+15550100099"]
    routes = clinic_routes(app)
    assert len(routes) >= 40  # the schema really was enumerated
    checked = 0
    for method, template in routes:
        own_collection = template.count("{") == 1
        for clinic_id in (tenants.b.clinic_id, tenants.a.clinic_id):
            if clinic_id == tenants.a.clinic_id and own_collection:
                continue  # A's own collection: allowed, checked for leaks below
            path = template.format(clinic_id=clinic_id, **{k: str(v) for k, v in ids_of_b.items()})
            body = SAMPLE_BODIES.get((method, template), {} if method in ("post", "patch", "put") else None)
            response = await client.request(method.upper(), path, headers=bearer(tenants.key_a), json=body)
            where = f"{method.upper()} {template} via clinic {clinic_id}"
            assert response.status_code == 404, f"{where}: {response.text}"
            assert response.json()["error"]["code"] == "not_found"
            unasked = [str(v) for v in ids_of_b.values() if str(v) not in path]
            assert not any(secret in response.text for secret in names_of_b + unasked), f"{where} leaked"
            checked += 1
    assert checked > len(routes)

    # A's own collections answer, and never with B's rows.
    for method, template in routes:
        if method == "get" and template.count("{") == 1:
            response = await client.get(
                template.format(clinic_id=tenants.a.clinic_id), headers=bearer(tenants.key_a)
            )
            assert response.status_code == 200, f"{template}: {response.text}"
            leaked = [str(v) for v in ids_of_b.values()] + names_of_b
            assert not any(secret in response.text for secret in leaked), f"{template} leaked B's data"
