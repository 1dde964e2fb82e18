"""Keys, error bodies, limits, pagination and the audit log of the admin API."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from frontdesk.api.v1.limits import DEFAULT_MAX_BODY_BYTES, TokenBuckets
from frontdesk.config import get_settings
from frontdesk.domain.api_keys import authenticate_key, revoke_key
from frontdesk.domain.models import ApiKey, AuditEntry
from frontdesk.keys_command import keys_app
from tests.api.conftest import Tenants, bearer


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    """The error of a response, checked to be `{"error": {"code", "message", "details"}}`."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and "details" in error
    return error


async def test_requests_without_a_live_key_get_401(
    client: httpx.AsyncClient, tenants: Tenants, engine: Engine
) -> None:
    url = f"/v1/clinics/{tenants.a.clinic_id}"
    assert_error(await client.get(url), 401, "unauthenticated")
    assert_error(await client.get(url, headers=bearer("fd_nothere_secret")), 401, "unauthenticated")
    wrong_secret = tenants.key_a[:-4] + "AAAA"
    assert_error(await client.get(url, headers=bearer(wrong_secret)), 401, "unauthenticated")
    assert (await client.get(url, headers=bearer(tenants.key_a))).status_code == 200

    with Session(engine) as session:
        key = authenticate_key(session, tenants.key_a)
        assert key is not None
    revoke_key(engine, key.id)
    error = assert_error(await client.get(url, headers=bearer(tenants.key_a)), 401, "unauthenticated")
    assert tenants.key_a not in json.dumps(error)


async def test_a_clinic_key_sees_only_its_clinic_and_an_operator_sees_all(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    own = await client.get(f"/v1/clinics/{tenants.a.clinic_id}", headers=bearer(tenants.key_a))
    assert own.json()["slug"] == "alpha"
    other = await client.get(f"/v1/clinics/{tenants.b.clinic_id}", headers=bearer(tenants.key_a))
    assert_error(other, 404, "not_found")
    assert "beta" not in other.text

    listed = await client.get("/v1/clinics", headers=bearer(tenants.key_a))
    assert [c["slug"] for c in listed.json()["items"]] == ["alpha"]
    everything = await client.get("/v1/clinics", headers=bearer(tenants.operator_key))
    assert [c["slug"] for c in everything.json()["items"]] == ["alpha", "beta"]
    as_operator = await client.get(f"/v1/clinics/{tenants.b.clinic_id}", headers=bearer(tenants.operator_key))
    assert as_operator.json()["slug"] == "beta"


async def test_validation_errors_name_the_field_and_never_echo_the_input(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    url = f"/v1/clinics/{tenants.a.clinic_id}/patients"
    response = await client.post(
        url, headers=bearer(tenants.key_a), json={"phone": "555-SECRET", "first_name": "", "last_name": "Doe"}
    )
    error = assert_error(response, 422, "invalid_request")
    fields = {d["field"] for d in error["details"]}
    assert fields == {"body.phone", "body.first_name"}
    assert "body.phone" in error["message"] and "SECRET" not in response.text

    bad_query = await client.get(url + "?limit=0", headers=bearer(tenants.key_a))
    assert "query.limit" in assert_error(bad_query, 422, "invalid_request")["message"]
    bad_id = await client.get(url + "/not-a-uuid", headers=bearer(tenants.key_a))
    assert "path.patient_id" in assert_error(bad_id, 422, "invalid_request")["message"]
    extra = await client.patch(
        f"/v1/clinics/{tenants.a.clinic_id}", headers=bearer(tenants.key_a), json={"agent_nmae": "Zoe"}
    )
    assert "body.agent_nmae" in assert_error(extra, 422, "invalid_request")["message"]
    null = await client.patch(
        f"/v1/clinics/{tenants.a.clinic_id}", headers=bearer(tenants.key_a), json={"agent_name": None}
    )
    assert "agent_name cannot be null" in assert_error(null, 422, "invalid_request")["message"]
    assert_error(await client.get("/v1/nowhere", headers=bearer(tenants.key_a)), 404, "not_found")


async def test_a_body_over_the_limit_gets_413_and_changes_nothing(
    client: httpx.AsyncClient, tenants: Tenants, engine: Engine
) -> None:
    huge = {"name": "x", "short_name": "x", "role": "dentist", "padding": "y" * DEFAULT_MAX_BODY_BYTES}
    response = await client.post(
        f"/v1/clinics/{tenants.a.clinic_id}/providers", headers=bearer(tenants.key_a), json=huge
    )
    assert_error(response, 413, "body_too_large")
    with Session(engine) as session:
        assert session.exec(select(AuditEntry)).all() == []


async def test_each_key_has_its_own_rate_limit(
    app: FastAPI, client: httpx.AsyncClient, tenants: Tenants
) -> None:
    app.state.rate_limiter = TokenBuckets(rate=0.01, burst=3)
    url = f"/v1/clinics/{tenants.a.clinic_id}"
    statuses = [(await client.get(url, headers=bearer(tenants.key_a))).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = await client.get(url, headers=bearer(tenants.key_a))
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) >= 1
    other_key = await client.get(f"/v1/clinics/{tenants.b.clinic_id}", headers=bearer(tenants.key_b))
    assert other_key.status_code == 200


async def test_lists_are_paginated_with_a_total(client: httpx.AsyncClient, tenants: Tenants) -> None:
    url = f"/v1/clinics/{tenants.a.clinic_id}/providers"
    first = (await client.get(url + "?limit=1", headers=bearer(tenants.key_a))).json()
    assert (first["total"], first["limit"], first["offset"], first["next_offset"]) == (2, 1, 0, 1)
    second = (await client.get(url + "?limit=1&offset=1", headers=bearer(tenants.key_a))).json()
    assert second["next_offset"] is None
    assert {first["items"][0]["id"], second["items"][0]["id"]} == {
        str(tenants.a.provider_id),
        str(tenants.a.other_provider_id),
    }


async def test_every_change_is_audited_without_patient_data(
    client: httpx.AsyncClient, tenants: Tenants, engine: Engine
) -> None:
    before = datetime.now(UTC)
    created = await client.post(
        f"/v1/clinics/{tenants.a.clinic_id}/patients",
        headers=bearer(tenants.key_a),
        json={"phone": "+15550177123", "first_name": "Zelda", "last_name": "Quist"},
    )
    assert created.status_code == 201
    patient_id = created.json()["id"]
    await client.patch(
        f"/v1/clinics/{tenants.a.clinic_id}/patients/{patient_id}",
        headers=bearer(tenants.key_a),
        json={"last_name": "Quistorp"},
    )
    await client.get(
        f"/v1/clinics/{tenants.a.clinic_id}/patients", headers=bearer(tenants.key_a)
    )  # not a change

    log = (
        await client.get(f"/v1/clinics/{tenants.a.clinic_id}/audit-log", headers=bearer(tenants.key_a))
    ).json()
    entries = [(e["method"], e["route"], e["resource_id"], e["actor_name"]) for e in log["items"]]
    assert entries == [
        ("PATCH", "/v1/clinics/{clinic_id}/patients/{patient_id}", patient_id, "alpha admin"),
        ("POST", "/v1/clinics/{clinic_id}/patients", patient_id, "alpha admin"),
    ]
    assert all(datetime.fromisoformat(e["at"]) >= before for e in log["items"])
    with Session(engine) as session:
        stored = json.dumps([e.model_dump(mode="json") for e in session.exec(select(AuditEntry))])
    assert "Zelda" not in stored and "Quist" not in stored and "+15550177123" not in stored
    other = await client.get(f"/v1/clinics/{tenants.b.clinic_id}/audit-log", headers=bearer(tenants.key_b))
    assert other.json()["total"] == 0


def test_frontdesk_keys_has_the_keys_commands() -> None:
    from frontdesk.cli import app as cli

    assert "keys" in {group.name for group in cli.registered_groups}


@pytest.fixture
def cli_settings(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI's process settings pointed at the database under test (they are read once, cached)."""
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("cli_settings")
def test_keys_create_prints_a_working_key_once(engine: Engine, tenants: Tenants) -> None:
    runner = CliRunner()
    result = runner.invoke(keys_app, ["create", "--clinic", "alpha", "--name", "front desk laptop"])
    assert result.exit_code == 0, result.output
    plain = result.stdout.strip().splitlines()[-1]
    with Session(engine) as session:
        key = authenticate_key(session, plain)
        assert key is not None and key.clinic_id == tenants.a.clinic_id and key.name == "front desk laptop"
        assert plain not in json.dumps([k.model_dump(mode="json") for k in session.exec(select(ApiKey))])

    operator = runner.invoke(keys_app, ["create", "--operator"])
    assert operator.exit_code == 0
    with Session(engine) as session:
        row = authenticate_key(session, operator.stdout.strip().splitlines()[-1])
        assert row is not None and row.clinic_id is None
    assert runner.invoke(keys_app, ["create", "--clinic", "nope"]).exit_code == 2
    assert runner.invoke(keys_app, ["create"]).exit_code == 2
