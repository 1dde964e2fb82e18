"""The do-not-contact list through the admin API (list, add, remove, audited, walled off by
clinic), the patients' opt-outs read from and written to it, a text's STOP landing on it before
the patient registers, and campaign plans refused outside the legal calling hours."""

from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import httpx
import pytest

from frontdesk.api.app import create_app
from frontdesk.config import Settings
from frontdesk.telephony.twilio.signatures import SIGNATURE_HEADER, sign
from tests.api.conftest import UNREACHABLE_TEMPORAL, Tenants, bearer

STRANGER = "+15550142222"  # nobody's number, until a patient registers with it
PUBLIC = "https://frontdesk.example.com"


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The API's settings, served at a public address (the SMS webhook signs that)."""
    return Settings(database_url=database_url, temporal_address=UNREACHABLE_TEMPORAL, public_base_url=PUBLIC)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the app at a private address, as behind a proxy."""
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.7:8000") as http:
        yield http


async def add(client: httpx.AsyncClient, key: str, clinic: Any, phone: str, channel: str) -> httpx.Response:
    url = f"/v1/clinics/{clinic}/do-not-contact"
    return await client.post(url, headers=bearer(key), json={"phone": phone, "channel": channel})


async def listed(client: httpx.AsyncClient, key: str, clinic: Any, query: str = "") -> dict[str, Any]:
    response = await client.get(f"/v1/clinics/{clinic}/do-not-contact{query}", headers=bearer(key))
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_numbers_are_added_listed_and_removed_each_change_audited(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    clinic, key = tenants.a.clinic_id, tenants.key_a
    texts = await add(client, key, clinic, STRANGER, "sms")
    assert texts.status_code == 201, texts.text
    entry = texts.json()
    assert (entry["phone"], entry["blocks_sms"], entry["sms_source"], entry["blocks_calls"]) == (
        STRANGER,
        True,
        "api",
        False,
    )
    both = (await add(client, key, clinic, STRANGER, "all")).json()
    assert both["id"] == entry["id"] and both["sms_since"] == entry["sms_since"]  # first opt-out kept
    assert both["blocks_calls"] and both["calls_source"] == "api"
    await add(client, key, clinic, "+15550143333", "calls")

    page = await listed(client, key, clinic)
    assert [e["phone"] for e in page["items"]] == [STRANGER, "+15550143333"] and page["total"] == 2
    assert [e["id"] for e in (await listed(client, key, clinic, "?phone=%2B15550142222"))["items"]] == [
        entry["id"]
    ]

    url = f"/v1/clinics/{clinic}/do-not-contact/{entry['id']}"
    assert (await client.delete(f"{url}?channel=sms", headers=bearer(key))).status_code == 204
    [left] = (await listed(client, key, clinic, "?phone=%2B15550142222"))["items"]
    assert (left["blocks_calls"], left["blocks_sms"]) == (True, False)
    assert (await client.delete(url, headers=bearer(key))).status_code == 204
    assert (await listed(client, key, clinic, "?phone=%2B15550142222"))["total"] == 0
    assert (await client.delete(url, headers=bearer(key))).status_code == 404

    audit = (await client.get(f"/v1/clinics/{clinic}/audit-log", headers=bearer(key))).json()["items"]
    changes = [(a["method"], a["route"], a["resource_id"]) for a in reversed(audit)]
    route = "/v1/clinics/{clinic_id}/do-not-contact"
    assert changes[:2] == [("POST", route, entry["id"]), ("POST", route, entry["id"])]
    assert changes[-2:] == [("DELETE", route + "/{do_not_contact_id}", entry["id"])] * 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "555-0142", "channel": "sms"}, "body.phone"),
        ({"phone": "+15550142222", "channel": "fax"}, "body.channel"),
        ({"phone": "+15550142222"}, "body.channel"),
    ],
)
async def test_a_bad_number_or_channel_gets_422_naming_it(
    client: httpx.AsyncClient, tenants: Tenants, body: dict[str, str], field: str
) -> None:
    url = f"/v1/clinics/{tenants.a.clinic_id}/do-not-contact"
    response = await client.post(url, headers=bearer(tenants.key_a), json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and field in error["message"]
    assert (await listed(client, tenants.key_a, tenants.a.clinic_id))["total"] == 0


async def test_a_clinic_sees_and_changes_only_its_own_list(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    b_entry = (await add(client, tenants.key_b, tenants.b.clinic_id, STRANGER, "all")).json()

    assert (await add(client, tenants.key_a, tenants.b.clinic_id, STRANGER, "sms")).status_code == 404
    other = await client.get(
        f"/v1/clinics/{tenants.b.clinic_id}/do-not-contact", headers=bearer(tenants.key_a)
    )
    assert other.status_code == 404
    through_a = f"/v1/clinics/{tenants.a.clinic_id}/do-not-contact/{b_entry['id']}"
    assert (await client.delete(through_a, headers=bearer(tenants.key_a))).status_code == 404
    assert (await listed(client, tenants.key_a, tenants.a.clinic_id))["total"] == 0
    assert (await listed(client, tenants.key_b, tenants.b.clinic_id))["items"] == [b_entry]


async def test_a_patients_opt_outs_are_the_lists_entry_for_their_number(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    clinic, key = tenants.a.clinic_id, bearer(tenants.key_a)
    patients = f"/v1/clinics/{clinic}/patients"
    pat = f"{patients}/{tenants.a.patient_id}"
    assert (await client.get(pat, headers=key)).json()["call_opt_out"] is False

    opted = await client.patch(pat, headers=key, json={"call_opt_out": True})
    assert opted.status_code == 200 and (opted.json()["call_opt_out"], opted.json()["sms_opt_out"]) == (
        True,
        False,
    )
    [entry] = (await listed(client, tenants.key_a, clinic))["items"]
    assert (entry["phone"], entry["calls_source"]) == ("+15550111000", "patient_record")
    family = await client.post(
        patients,
        headers=key,
        json={"phone": "+15550111000", "first_name": "Sam", "last_name": "Doe", "sms_opt_out": True},
    )
    assert family.status_code == 201  # the number's opt-out holds for the family, and texts join it
    assert (family.json()["call_opt_out"], family.json()["sms_opt_out"]) == (True, True)
    listing = (await client.get(f"{patients}?phone=%2B15550111000", headers=key)).json()["items"]
    assert {(p["call_opt_out"], p["sms_opt_out"]) for p in listing} == {(True, True)}

    back_in = await client.patch(pat, headers=key, json={"call_opt_out": False, "sms_opt_out": False})
    assert (back_in.json()["call_opt_out"], back_in.json()["sms_opt_out"]) == (False, False)
    assert (await listed(client, tenants.key_a, clinic))["total"] == 0
    moved = await client.patch(pat, headers=key, json={"phone": STRANGER, "sms_opt_out": True})
    assert moved.json()["sms_opt_out"] is True
    [entry] = (await listed(client, tenants.key_a, clinic))["items"]
    assert entry["phone"] == STRANGER  # the new number's entry


async def test_a_text_stop_before_registering_shows_on_the_new_patient(
    client: httpx.AsyncClient, settings: Settings, tenants: Tenants
) -> None:
    form = {
        "MessageSid": "SM" + uuid4().hex,
        "AccountSid": "AC" + "0" * 32,
        "From": STRANGER,
        "To": "+15550100001",  # clinic A's number
        "Body": "STOP",
        "NumMedia": "0",
    }
    signature = sign(settings, f"{PUBLIC}/twilio/sms", form)
    stop = await client.post("/twilio/sms", data=form, headers={SIGNATURE_HEADER: signature})
    assert stop.status_code == 200

    registered = await client.post(
        f"/v1/clinics/{tenants.a.clinic_id}/patients",
        headers=bearer(tenants.key_a),
        json={"phone": STRANGER, "first_name": "Lee", "last_name": "Late"},
    )
    assert registered.status_code == 201
    assert (registered.json()["sms_opt_out"], registered.json()["call_opt_out"]) == (True, True)
    [entry] = (await listed(client, tenants.key_a, tenants.a.clinic_id))["items"]
    assert (entry["phone"], entry["sms_source"]) == (STRANGER, "sms_stop")


async def test_a_campaign_with_hours_outside_the_legal_floor_is_refused(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    body = {
        "name": "late recall",
        "kind": "recall",
        "audience": {"patient_ids": [str(tenants.a.patient_id)]},
        "plan": {"calling_hours": {"start": "09:00", "end": "21:30"}},
    }
    url = f"/v1/clinics/{tenants.a.clinic_id}/campaigns"
    response = await client.post(url, headers=bearer(tenants.key_a), json=body)
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "body.plan.calling_hours" in message and "must lie within 08:00-21:00" in message
