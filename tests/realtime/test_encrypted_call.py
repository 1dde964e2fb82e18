"""A whole spoken booking call with Temporal payload encryption on: the call's workflow and its
post-call child hold none of the caller's name, number, date of birth or words in the clear,
and read back through the codec server for an operator only."""

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from google.protobuf.json_format import MessageToJson, Parse
from pydantic import SecretStr
from sqlalchemy import Engine
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from frontdesk.api.codec_server import CODEC_PATH, codec_app
from frontdesk.caller.conversation import CallOptions, run_call
from frontdesk.config import Settings, get_settings
from frontdesk.domain.api_keys import issue_key
from frontdesk.domain.models import ApiKeyScope, Clinic
from frontdesk.domain.seed import DEMO_NUMBER
from frontdesk.payload_codec import converter_for, new_key_line
from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech
from frontdesk.worker import build_worker
from frontdesk.workflows.call import post_call_workflow_id
from tests.api.conftest import bearer
from tests.realtime.booking_call import CALLER, booking_steps, voice_stack, workflows_done
from tests.realtime.stored_calls import stored_call
from tests.temporal_fixtures import payloads_of, temporal_address, temporal_env

__all__ = ["temporal_env"]

pytestmark = [pytest.mark.parametrize("database_url", ["sqlite"], indirect=True), pytest.mark.slow]

# What must not be readable in any history: the caller's name, number, date of birth and words.
PATIENT_DATA = [b"Lopez", b"5550199001", b"1988", b"teeth cleaning", b"Tuesday morning"]


@dataclass(frozen=True)
class EncryptedStack:
    url: str
    settings: Settings
    client: Client  # decrypts, as every client of the stack does


@pytest.fixture
async def stack(
    temporal_env: WorkflowEnvironment, database_url: str, demo_clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[EncryptedStack]:
    """The webhooks, the media socket and a worker, all with the same payload key."""
    keys = new_key_line("test-1")
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", database_url)  # activities read the settings
    monkeypatch.setenv("FRONTDESK_PAYLOAD_KEYS", keys)
    get_settings.cache_clear()
    address, queue = temporal_address(temporal_env), f"encrypted-{uuid4().hex}"
    base = Settings(
        database_url=database_url,
        temporal_address=address,
        temporal_task_queue=queue,
        payload_keys=SecretStr(keys),
        call_idle_seconds=3.0,
    )
    client = await Client.connect(address, data_converter=converter_for(base))

    def with_codec(app: FastAPI, settings: Settings) -> None:
        app.mount(CODEC_PATH, codec_app(settings, app.state.backends))

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="activity") as executor:
        async with (
            build_worker(client, queue, executor, base),
            voice_stack(base, "encrypted test stack", with_codec) as settings,
        ):
            yield EncryptedStack(settings.public_base_url, settings, client)
    get_settings.cache_clear()


async def test_a_booking_calls_histories_hold_no_patient_data_in_the_clear(
    stack: EncryptedStack, tts: PiperTextToSpeech, engine: Engine, temporal_env: WorkflowEnvironment
) -> None:
    options = CallOptions(base_url=stack.url, to=DEMO_NUMBER, caller=CALLER, steps=booking_steps())
    result, _recording = await run_call(stack.settings, options, tts)
    row, turns = await stored_call(engine, result.call_sid)
    assert row.outcome == "booked", "\n".join(f"{t.role.value}: {t.text}" for t in turns)
    _, post_call = await workflows_done(stack.client, result.call_sid)  # read back through the codec
    assert post_call.messages_sent >= 1
    post_call_id = post_call_workflow_id(result.call_sid)

    raw = temporal_env.client  # no key: what the Temporal UI or its database shows
    seen: list[Payload] = []
    for workflow_id in (result.call_sid, post_call_id):
        history = await raw.get_workflow_handle(workflow_id).fetch_history()
        seen += [p for event in history.events for p in payloads_of(event)]
    assert len(seen) > 10
    for payload in seen:
        assert payload.metadata["encoding"] == b"binary/encrypted"
        for secret in PATIENT_DATA:
            assert secret not in payload.data
    # Through the codec server (as the Temporal UI reads them), an operator reads the caller's
    # name: the encryption is what hid it. Without credentials, nothing is decoded.
    body = MessageToJson(Payloads(payloads=seen))
    operator = issue_key(engine, scope=ApiKeyScope.operator, name="ops").plain
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        refused = await http.post(f"{CODEC_PATH}/decode", content=body)
        answer = await http.post(f"{CODEC_PATH}/decode", content=body, headers=bearer(operator))
    assert refused.status_code == 401 and "Lopez" not in refused.text
    assert answer.status_code == 200
    decoded = Parse(answer.text, Payloads()).payloads
    assert len(decoded) == len(seen) and any(b"Lopez" in payload.data for payload in decoded)
