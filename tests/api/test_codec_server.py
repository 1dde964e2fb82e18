"""The codec server (/app/codec) over HTTP, on both databases: Temporal's remote codec protocol,
for operators only (a signed-in operator or an operator key), with CORS for a Temporal UI
elsewhere only when its origin is listed."""

import base64
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from google.protobuf.json_format import MessageToJson, Parse
from pydantic import SecretStr
from sqlalchemy import Engine
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import DataConverter

from frontdesk.api.app import create_app
from frontdesk.config import Settings
from frontdesk.domain.api_keys import issue_key
from frontdesk.domain.models import ApiKeyScope, Clinic, UserRole
from frontdesk.domain.seed import DEMO_SLUG
from frontdesk.domain.users import create_user
from frontdesk.payload_codec import ENCODING, EncryptionCodec, PayloadKeys, new_key_line
from tests.api.conftest import UNREACHABLE_TEMPORAL, bearer
from tests.dashboard.conftest import PASSWORD
from tests.dashboard.test_dashboard_http import sign_in

OPERATOR = "ops@frontdesk.example"
ADMIN = "admin@maple.example"
UI_ORIGIN = "https://temporal.frontdesk.example"
KEY_LINE = new_key_line("codec-1")
KEYS = PayloadKeys.parse(KEY_LINE)
SECRET = "Ana Lopez, +15550199001"


@pytest.fixture
async def client(database_url: str, engine: Engine, demo_clinic: Clinic) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of the API app with payload keys, an operator and a clinic admin."""
    create_user(engine, email=OPERATOR, password=PASSWORD, role=UserRole.operator, clinic_slug=None)
    create_user(engine, email=ADMIN, password=PASSWORD, role=UserRole.admin, clinic_slug=DEMO_SLUG)
    settings = Settings(
        database_url=database_url,
        temporal_address=UNREACHABLE_TEMPORAL,
        payload_keys=SecretStr(KEY_LINE),
        codec_cors_origins=[UI_ORIGIN],
    )
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as http:
        yield http


async def encrypted(text: str) -> str:
    """A Payloads message of one encrypted JSON string, as protobuf JSON (what the UI sends)."""
    plain = DataConverter.default.payload_converter.to_payloads([text])
    return MessageToJson(Payloads(payloads=await EncryptionCodec(KEYS).encode(plain)))


def payloads(answer: httpx.Response) -> list[Payload]:
    assert answer.status_code == 200, answer.text
    return list(Parse(answer.text, Payloads()).payloads)


async def test_a_signed_in_operator_decodes_what_the_workers_encrypted(client: httpx.AsyncClient) -> None:
    body = await encrypted(SECRET)
    assert "Lopez" not in body
    assert (await sign_in(client, OPERATOR)).status_code == 303

    answer = await client.post("/app/codec/decode", content=body, headers={"X-Namespace": "default"})

    [payload] = payloads(answer)
    assert json.loads(payload.data) == SECRET


async def test_an_operator_key_decodes_and_encodes(client: httpx.AsyncClient, engine: Engine) -> None:
    key = issue_key(engine, scope=ApiKeyScope.operator, name="ops").plain
    plain = MessageToJson(Payloads(payloads=DataConverter.default.payload_converter.to_payloads([SECRET])))

    [sealed] = payloads(await client.post("/app/codec/encode", content=plain, headers=bearer(key)))
    assert sealed.metadata["encoding"] == ENCODING and b"Lopez" not in sealed.data
    again = MessageToJson(Payloads(payloads=[sealed]))
    [opened] = payloads(await client.post("/app/codec/decode", content=again, headers=bearer(key)))
    assert json.loads(opened.data) == SECRET


@pytest.mark.parametrize("who", ["nobody", "a clinic's admin", "a clinic's key", "a wrong key"])
async def test_anyone_but_an_operator_is_refused(client: httpx.AsyncClient, engine: Engine, who: str) -> None:
    headers: dict[str, str] = {}
    if who == "a clinic's admin":
        await sign_in(client, ADMIN)
    elif who == "a clinic's key":
        headers = bearer(issue_key(engine, scope=ApiKeyScope.clinic, name="k", clinic_slug=DEMO_SLUG).plain)
    elif who == "a wrong key":
        headers = bearer("fd_nothing_real")

    answer = await client.post("/app/codec/decode", content=await encrypted(SECRET), headers=headers)

    assert answer.status_code == (401 if who in ("nobody", "a wrong key") else 403), answer.text
    assert "Lopez" not in answer.text
    assert answer.json()["error"]["message"]


async def test_bad_requests_get_clear_errors(client: httpx.AsyncClient, engine: Engine) -> None:
    headers = bearer(issue_key(engine, scope=ApiKeyScope.operator, name="ops").plain)
    body = await encrypted(SECRET)

    other_namespace = await client.post(
        "/app/codec/decode", content=body, headers={**headers, "X-Namespace": "x"}
    )
    assert other_namespace.status_code == 404 and "'default'" in other_namespace.text
    not_json = await client.post("/app/codec/decode", content=b"{nope", headers=headers)
    assert not_json.status_code == 400 and "protobuf JSON" in not_json.text
    # The same payload, naming a key this server does not have.
    unknown_key = body.replace(base64.b64encode(b"codec-1").decode(), base64.b64encode(b"gone-9").decode())
    answer = await client.post("/app/codec/decode", content=unknown_key, headers=headers)
    assert answer.status_code == 422 and "'gone-9'" in answer.text


async def test_cors_answers_only_the_listed_temporal_ui(client: httpx.AsyncClient) -> None:
    def preflight(origin: str) -> dict[str, str]:
        return {
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace",
        }

    listed = await client.options("/app/codec/decode", headers=preflight(UI_ORIGIN))
    assert listed.status_code == 200
    assert listed.headers["access-control-allow-origin"] == UI_ORIGIN
    assert listed.headers["access-control-allow-credentials"] == "true"
    other = await client.options("/app/codec/decode", headers=preflight("https://evil.example"))
    assert "access-control-allow-origin" not in other.headers
    # The rest of the API answers no other origin.
    api = await client.options("/v1/clinics", headers=preflight(UI_ORIGIN))
    assert "access-control-allow-origin" not in api.headers
