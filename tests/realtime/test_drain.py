"""A deploy's SIGTERM to a media process (`frontdesk realtime`, a real process): it reports not
ready, refuses a new stream, carries its live call to the end, then exits by itself.

The voice webhook runs in the test (its TwiML points the stream at the public host, where a
load balancer would send /media to the media process); the caller opens the stream on the media
process itself, as that balancer would. The call's workflows run on the test's Temporal worker.
"""

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from frontdesk.api.service_app import create_service_app
from frontdesk.caller.conversation import CallResult as CallerResult
from frontdesk.caller.conversation import converse, render_lines
from frontdesk.caller.script import Say, Step
from frontdesk.caller.webhook import place_call
from frontdesk.config import Settings
from frontdesk.devstack.ports import free_port
from frontdesk.domain.models import Clinic, TurnRole
from frontdesk.domain.seed import DEMO_NUMBER
from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech
from frontdesk.telephony.twilio.protocol import MEDIA_PATH
from frontdesk.telephony.twilio.signatures import SIGNATURE_HEADER, sign
from frontdesk.telephony.twilio.voice_webhooks import twilio_voice_router
from frontdesk.workflows.inputs import CallResult
from tests.realtime.call_worker import CallWorker, call_worker, temporal_env
from tests.realtime.scripted_parts import until
from tests.realtime.served import serve
from tests.realtime.stored_calls import stored_call

__all__ = ["call_worker", "temporal_env"]

pytestmark = [pytest.mark.parametrize("database_url", ["sqlite"], indirect=True), pytest.mark.slow]

# Loading the speech models and warming the clinic's phrases, on two busy cores.
START_WITHIN_S = 180.0
POLL_S = 0.2


async def eventually(check: Callable[[], Awaitable[bool]], what: str, within: float) -> None:
    """Poll another process's answer until it is true (no event crosses the process boundary)."""
    try:
        async with asyncio.timeout(within):
            while not await check():  # noqa: ASYNC110 (another process: no event to await)
                await asyncio.sleep(POLL_S)
    except TimeoutError:
        raise AssertionError(f"waited {within:g} s for {what}") from None


@pytest.fixture
async def media_process(
    database_url: str, demo_clinic: Clinic, call_worker: CallWorker, tmp_path: Path
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """`frontdesk realtime` on a port of its own, ready; killed after the test if still running.

    One media process: with one per core, a process without calls could report the drain (and
    exit) before the one carrying the call had seen the SIGTERM, and a stream the test then opens
    would land on the latter while it still accepts."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "FRONTDESK_DATABASE_URL": database_url,
        "FRONTDESK_TEMPORAL_ADDRESS": call_worker.address,
        "FRONTDESK_TEMPORAL_TASK_QUEUE": call_worker.task_queue,
        "FRONTDESK_API_HOST": "127.0.0.1",
        "FRONTDESK_REALTIME_PORT": str(port),
        "FRONTDESK_PUBLIC_BASE_URL": url,
        "FRONTDESK_CALL_IDLE_SECONDS": "3",
    }
    log = (tmp_path / "realtime.log").open("wb")
    frontdesk = Path(sys.executable).parent / "frontdesk"
    process = await asyncio.create_subprocess_exec(
        str(frontdesk), "realtime", "--processes", "1", env=env, stdout=log, stderr=log, cwd=tmp_path
    )
    try:
        async with httpx.AsyncClient() as client:

            async def ready() -> bool:
                if process.returncode is not None:
                    raise AssertionError(
                        f"the media process exited: {(tmp_path / 'realtime.log').read_text()}"
                    )
                try:
                    return (await client.get(f"{url}/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, "the media process to be ready", within=START_WITHIN_S)
        yield process, url
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        log.close()


@pytest.fixture
async def voice_webhook(database_url: str, call_worker: CallWorker) -> AsyncIterator[Settings]:
    """The API's voice webhook, starting each call's workflow on the test's worker."""
    holder: list[Settings] = []

    def make_app(url: str) -> FastAPI:
        settings = Settings(
            database_url=database_url,
            public_base_url=url,
            temporal_address=call_worker.address,
            temporal_task_queue=call_worker.task_queue,
        )
        holder.append(settings)
        app = create_service_app("voice webhook", settings)
        app.include_router(twilio_voice_router(settings))
        return app

    async with serve(make_app):
        yield holder[0]


async def test_a_live_call_survives_a_deploys_sigterm_and_the_process_then_exits(
    media_process: tuple[asyncio.subprocess.Process, str],
    voice_webhook: Settings,
    call_worker: CallWorker,
    tts: PiperTextToSpeech,
    engine: Engine,
) -> None:
    process, media_url = media_process
    steps: list[Step] = [Say("Hi, what are your hours?"), Say("No, that's all, thanks.")]
    speech = await render_lines(tts, steps)
    placed = await place_call(voice_webhook, voice_webhook.public_base_url, DEMO_NUMBER, "+15550199001")
    assert placed.stream_url is not None
    stream_url = "ws" + media_url.removeprefix("http") + MEDIA_PATH
    placed = replace(placed, stream_url=stream_url)
    media_settings = voice_webhook.model_copy(update={"public_base_url": media_url})
    result = CallerResult(placed.call_sid, DEMO_NUMBER)
    call = asyncio.create_task(converse(media_settings, placed, steps, speech, result))

    async with httpx.AsyncClient() as client:
        await until(lambda: bool(result.turns), "the greeting to be heard", within=60.0)
        process.send_signal(signal.SIGTERM)  # the deploy, with the caller on the line

        async def draining() -> bool:
            answer = await client.get(f"{media_url}/readyz")
            return answer.status_code == 503 and answer.json()["draining"] is True

        await eventually(draining, "the process to report itself not ready", within=30.0)
    # A stream that reaches it anyway is refused before it is accepted.
    with pytest.raises(InvalidStatus) as refused:
        await connect(stream_url, additional_headers={SIGNATURE_HEADER: sign(media_settings, stream_url)})
    assert refused.value.response.status_code == 403

    await asyncio.wait_for(call, timeout=120.0)
    assert result.outcome == "agent_ended"  # the agent said goodbye and hung up: the call went on
    _row, turns = await stored_call(engine, placed.call_sid)
    agent = [t.text for t in turns if t.role is TurnRole.agent]
    assert "Monday through Friday" in agent[1]  # answered after the SIGTERM
    handle = call_worker.client.get_workflow_handle(placed.call_sid, result_type=CallResult)
    assert not (await handle.result()).dropped
    # Its last call over, the process shuts down by itself, with the signal as its exit status.
    assert await asyncio.wait_for(process.wait(), timeout=60.0) == -signal.SIGTERM
