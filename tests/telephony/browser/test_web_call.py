"""Whole web calls: `start_browser_call` as the dashboard calls it, then the page's side over a
real socket into the media server's `/browser/stream`, through the real turn loop (offline speech
twins, the deterministic brain) with each call's workflows on the Temporal dev server and the
demo clinic's database. Outcomes are read from the database and the workflows' results."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import time

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session

from frontdesk.api.backends import Backends
from frontdesk.api.service_app import create_service_app
from frontdesk.caller.conversation import render_lines
from frontdesk.caller.script import Say
from frontdesk.config import Settings
from frontdesk.domain.clinic_settings import OpeningHours, TimeRange, Weekday
from frontdesk.domain.models import CallDirection, CallStatus, Clinic, TurnRole
from frontdesk.domain.seed import DEMO_NUMBER
from frontdesk.domain.web_callers import web_caller_number
from frontdesk.realtime.audio.codec import mulaw_to_pcm16
from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech
from frontdesk.telephony.browser.calls import start_browser_call
from frontdesk.telephony.browser.media_route import browser_media_router
from frontdesk.telephony.browser.protocol import BROWSER_STREAM_PATH
from frontdesk.telephony.public_urls import websocket_url
from frontdesk.workflows.call import post_call_workflow_id
from frontdesk.workflows.inputs import CallResult
from frontdesk.workflows.post_call import PostCallResult
from tests.realtime.call_worker import CallWorker, call_worker, temporal_env
from tests.realtime.conftest import tts
from tests.realtime.served import serve
from tests.realtime.stored_calls import stored_call
from tests.telephony.browser.browser_client import BrowserClient

__all__ = ["call_worker", "temporal_env", "tts"]

pytestmark = [pytest.mark.parametrize("database_url", ["sqlite"], indirect=True), pytest.mark.slow]

GUARD_SECONDS = 120.0  # a hang guard on a busy machine (the first call loads the models), not a speed check
QUESTION = "What are your hours?"


@dataclass
class WebStack:
    settings: Settings
    backends: Backends
    worker: CallWorker


@pytest.fixture
async def stack(database_url: str, demo_clinic: Clinic, call_worker: CallWorker) -> AsyncIterator[WebStack]:
    """The media server's browser socket with the real turn loop, and a worker running each
    call's workflows on the Temporal dev server."""
    holder: list[WebStack] = []

    def make_app(url: str) -> FastAPI:
        settings = Settings(
            database_url=database_url,
            public_base_url=url,
            temporal_address=call_worker.address,
            temporal_task_queue=call_worker.task_queue,
        )
        app = create_service_app("web call test stack", settings)
        app.state.settings = settings
        app.include_router(browser_media_router(settings))
        holder.append(WebStack(settings, app.state.backends, call_worker))
        return app

    async with serve(make_app):
        yield holder[0]


async def workflows_finished(stack: WebStack, call_sid: str) -> CallResult:
    """The call's CallWorkflow result, once its PostCallWorkflow has finished too."""
    client = stack.worker.client
    async with asyncio.timeout(GUARD_SECONDS):
        result = await client.get_workflow_handle(call_sid, result_type=CallResult).result()
        await client.get_workflow_handle(post_call_workflow_id(call_sid), result_type=PostCallResult).result()
    return result


async def test_a_web_call_talks_to_the_agent_and_is_recorded_as_one(
    stack: WebStack, demo_clinic: Clinic, engine: Engine, tts: PiperTextToSpeech
) -> None:
    question = mulaw_to_pcm16((await render_lines(tts, [Say(QUESTION)]))[QUESTION])
    placed = await start_browser_call(stack.backends, stack.settings, demo_clinic.id)
    assert placed.websocket_url == websocket_url(stack.settings, BROWSER_STREAM_PATH)
    assert placed.websocket_url.startswith("ws://")
    assert placed.as_json() == {
        "websocket_url": placed.websocket_url,
        "ticket": placed.ticket,
        "call_id": str(placed.call_id),
    }

    client = await BrowserClient.open(placed.websocket_url, placed.ticket)
    try:
        # The greeting's final line comes once the page echoed every mark of its audio.
        await client.wait_for_finals("agent", 1, GUARD_SECONDS)
        await client.say(question)
        await client.wait_for_finals("agent", 2, GUARD_SECONDS)
    finally:
        await client.hang_up()

    row, turns = await stored_call(engine, placed.call_sid)
    transcript = "\n".join(f"{t.role.value}: {t.text}" for t in turns)
    assert (row.id, row.direction, row.status) == (placed.call_id, CallDirection.web, CallStatus.completed)
    assert (row.from_number, row.to_number) == (web_caller_number(placed.call_sid), DEMO_NUMBER)
    assert row.from_number.startswith("+1000")
    assert [t.role for t in turns[:3]] == [TurnRole.agent, TurnRole.caller, TurnRole.agent], transcript
    greeting, asked, answer = turns[:3]
    assert "hours" in asked.text.lower(), transcript
    assert "Monday through Friday" in answer.text, transcript

    # The live transcript showed what was stored: the agent's lines as heard, the caller's words.
    assert client.finals("agent")[:2] == [greeting.heard_text, answer.heard_text]
    assert client.finals("caller")[0] == asked.text
    assert any(m["role"] == "agent" and not m["final"] for m in client.of_type("transcript"))
    # Agent audio came as 20 ms PCM frames with marks after it, echoed in order once played.
    sent_marks = [m["name"] for m in client.of_type("mark")]
    assert client.agent_frames_played > 0 and client.marks_echoed
    assert client.marks_echoed == sent_marks[: len(client.marks_echoed)]

    # A call like a phone call's: its workflow stored it, and the post-call work ran.
    result = await workflows_finished(stack, placed.call_sid)
    assert not result.dropped
    with Session(engine) as session:
        stored = session.get(type(row), row.id)
        assert stored is not None and stored.summary


def open_all_day(engine: Engine, clinic: Clinic) -> None:
    """The demo clinic open around the clock, so its agent offers a person whenever the test runs."""
    with Session(engine) as session:
        row = session.get(Clinic, clinic.id)
        assert row is not None
        all_day = [TimeRange(start=time(0), end=time(23, 59))]
        row.opening_hours = OpeningHours(days=dict.fromkeys(Weekday, all_day))
        session.add(row)
        session.commit()


async def test_a_web_call_the_agent_would_transfer_ends_saying_so(
    stack: WebStack, demo_clinic: Clinic, engine: Engine
) -> None:
    open_all_day(engine, demo_clinic)
    placed = await start_browser_call(stack.backends, stack.settings, demo_clinic.id)
    client = await BrowserClient.open(placed.websocket_url, placed.ticket)
    try:
        await client.wait_for_finals("agent", 1, GUARD_SECONDS)
        await client.press("0")  # a person, please
        await client.wait_until(client.closed.is_set, GUARD_SECONDS)
    finally:
        await client.aclose()

    [ended] = client.of_type("ended")
    number = demo_clinic.get_escalation().transfer_number
    assert ended["reason"] == (
        f"a browser call cannot be transferred (a phone caller would now go to {number})"
    )
    assert client.close_code == 1000
    assert client.finals("caller") == ["(pressed 0)"]
    row, turns = await stored_call(engine, placed.call_sid)
    assert row.outcome == "transferred"  # recorded as usual by the workflow
    assert [t.text for t in turns if t.role is TurnRole.caller] == ["(pressed 0)"]
    result = await workflows_finished(stack, placed.call_sid)
    assert result.outcome == "transferred"
