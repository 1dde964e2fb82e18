"""Temporal payloads encrypted with AES-GCM (frontdesk/payload_codec.py): the codec itself, the
configured keys, and a key rotation on the real Temporal dev server."""

import asyncio
import base64
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from pydantic import SecretStr
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from typer.testing import CliRunner

from frontdesk.cli import app
from frontdesk.payload_codec import (
    ENCODING,
    KEY_ID_METADATA,
    EncryptionCodec,
    PayloadKeyError,
    PayloadKeys,
    data_converter,
    ensure_keys_file,
    new_key_line,
    payload_keys,
)
from tests.temporal_fixtures import payloads_of, temporal_address, temporal_env

__all__ = ["temporal_env"]

SECRET = b'"Ana Lopez, born 1988-03-03, +15550199001"'


def plain(data: bytes = SECRET) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


async def test_a_payload_round_trips_and_its_ciphertext_shows_nothing() -> None:
    codec = EncryptionCodec(PayloadKeys.parse(new_key_line("k1")))
    [encrypted] = await codec.encode([plain()])
    assert encrypted.metadata["encoding"] == ENCODING and encrypted.metadata[KEY_ID_METADATA] == b"k1"
    assert b"Ana" not in encrypted.SerializeToString() and b"1555" not in encrypted.SerializeToString()
    [again] = await codec.encode([plain()])
    assert again.data != encrypted.data  # a fresh nonce each time
    assert await codec.decode([encrypted, plain(b'"written before encryption"')]) == [
        plain(),
        plain(b'"written before encryption"'),
    ]


async def test_any_configured_key_decrypts_and_others_are_refused_by_name() -> None:
    old, new = new_key_line("k1"), new_key_line("k2")
    [under_old] = await EncryptionCodec(PayloadKeys.parse(old)).encode([plain()])
    rotated = EncryptionCodec(PayloadKeys.parse(f"{new},{old}"))
    assert await rotated.decode([under_old]) == [plain()]
    [under_new] = await rotated.encode([plain()])
    assert under_new.metadata[KEY_ID_METADATA] == b"k2"
    with pytest.raises(PayloadKeyError, match="key 'k2', which is not configured"):
        await EncryptionCodec(PayloadKeys.parse(old)).decode([under_new])
    other_k1 = EncryptionCodec(PayloadKeys.parse(new_key_line("k1")))
    with pytest.raises(PayloadKeyError, match="does not decrypt with key 'k1'"):
        await other_k1.decode([under_old])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no payload key"),
        ("k1", "must read id:base64"),
        ("k 1:" + base64.b64encode(b"x" * 32).decode(), "must read id:base64"),
        ("k1:not base64!", "is not base64"),
        ("k1:" + base64.b64encode(b"short").decode(), "must be 32 bytes, not 5"),
        (f"{new_key_line('k1')},{new_key_line('k1')}", "given twice"),
    ],
)
def test_malformed_keys_are_refused_with_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(PayloadKeyError, match=message) as refused:
        PayloadKeys.parse(text)
    secret = text.partition(":")[2]
    if len(secret) > 8:
        assert secret not in str(refused.value)  # a key is never echoed


def test_keys_come_from_the_setting_or_its_file_and_a_dev_file_is_made_once(tmp_path: Path) -> None:
    assert payload_keys(None, None) is None
    line = new_key_line("inline")
    keys = payload_keys(SecretStr(line), tmp_path / "ignored")
    assert keys is not None and keys.encrypting_id == "inline"
    path = ensure_keys_file(tmp_path / "var" / "payload-keys")
    first = path.read_text()
    assert ensure_keys_file(path).read_text() == first  # kept, not replaced
    assert path.stat().st_mode & 0o777 == 0o600
    from_file = payload_keys(None, path)
    assert from_file is not None and from_file.encrypting_id == "dev-1"
    with pytest.raises(PayloadKeyError, match="cannot read the payload keys file"):
        payload_keys(None, tmp_path / "missing")


@workflow.defn(sandboxed=False)
class EchoAfterSignal:
    """Holds its input until told to finish, then returns it with what the signal carried."""

    def __init__(self) -> None:
        self._word: str | None = None

    @workflow.signal
    def finish(self, word: str) -> None:
        self._word = word

    @workflow.run
    async def run(self, secret: str) -> str:
        await workflow.wait_condition(lambda: self._word is not None)
        return f"{secret} / {self._word}"


async def test_a_workflow_started_under_one_key_completes_after_the_next_one_encrypts(
    temporal_env: WorkflowEnvironment,
) -> None:
    address = temporal_address(temporal_env)
    old, new = new_key_line("k1"), new_key_line("k2")

    async def client(keys: str) -> Client:
        return await Client.connect(address, data_converter=data_converter(PayloadKeys.parse(keys)))

    queue, workflow_id = f"codec-{uuid4().hex}", f"codec-{uuid4().hex}"
    before = await client(old)
    async with Worker(before, task_queue=queue, workflows=[EchoAfterSignal]):
        handle = await before.start_workflow(
            EchoAfterSignal.run, "Ana Lopez +15550199001", id=workflow_id, task_queue=queue
        )
        await _until_waiting(handle)
    # The deploy: k2 first, k1 kept for the workflows in flight.
    after = await client(f"{new},{old}")
    async with Worker(after, task_queue=queue, workflows=[EchoAfterSignal]):
        moved = after.get_workflow_handle(workflow_id, result_type=str)
        await moved.signal(EchoAfterSignal.finish, "now")
        result = await moved.result()
    assert result == "Ana Lopez +15550199001 / now"

    raw = await Client.connect(address, data_converter=DataConverter.default)
    history = await raw.get_workflow_handle(workflow_id).fetch_history()
    key_ids = set()
    for event in history.events:
        for payload in payloads_of(event):
            assert b"Ana" not in payload.data and b"1555" not in payload.data
            key_ids.add(payload.metadata[KEY_ID_METADATA])
    assert key_ids == {b"k1", b"k2"}  # the input under the old key; the signal and result, the new


async def _until_waiting(handle: WorkflowHandle[Any, Any]) -> None:
    """Until the workflow's first task is done (it waits for its signal), within 60 s."""
    for _ in range(600):
        events = (await handle.fetch_history()).events
        if any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED for e in events):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the workflow's first task did not complete within 60 s")


def test_the_payload_key_command_prints_a_usable_key() -> None:
    runner = CliRunner()
    made = runner.invoke(app, ["payload-key", "--id", "prod-2027"])
    assert made.exit_code == 0, made.output
    assert PayloadKeys.parse(made.stdout.strip()).encrypting_id == "prod-2027"
    refused = runner.invoke(app, ["payload-key", "--id", "no spaces"])
    assert refused.exit_code == 2 and "may hold only letters" in refused.output
