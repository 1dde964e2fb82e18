"""The /browser/stream socket over a real socket: uvicorn on an ephemeral port, a `websockets`
client as the page. The route runs a test handler that hands each call's transport and events to
the test, so the test drives the real `BrowserMediaTransport` and watches the wire as a browser."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from starlette.datastructures import State
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from frontdesk.config import Settings
from frontdesk.domain.models import CallDirection, TurnRole
from frontdesk.realtime.audio.codec import mulaw_encode, mulaw_to_pcm16, pcm16_bytes
from frontdesk.realtime.transport import (
    AudioReceived,
    CallStarted,
    CallStopped,
    DigitPressed,
    MarkReached,
    TranscriptLine,
    Transport,
    TransportEvent,
)
from frontdesk.telephony.browser.media_route import browser_media_router
from frontdesk.telephony.browser.media_stream import BrowserMediaTransport
from frontdesk.telephony.browser.protocol import BROWSER_STREAM_PATH
from frontdesk.telephony.browser.tickets import issue_ticket
from frontdesk.telephony.media_socket import ProtocolViolation
from frontdesk.telephony.public_urls import websocket_url
from frontdesk.telephony.twilio.media_stream import call_started
from frontdesk.telephony.twilio.protocol import MediaFormat, Start, StartInfo
from tests.realtime.served import serve

CALLED = "+15550100000"
CALLER = "+10001234567"
START_TIMEOUT = 1.0
WAIT = 30.0  # a hang guard on a busy machine, not a speed check


@dataclass
class ServedCall:
    """One call as the server's handler saw it."""

    transport: BrowserMediaTransport
    events: asyncio.Queue[TransportEvent | None]  # None once the events ended

    async def next_event(self) -> TransportEvent | None:
        async with asyncio.timeout(WAIT):
            return await self.events.get()


class CallHandlers:
    """Puts each call on `calls`; a call lasts until its events end."""

    def __init__(self) -> None:
        self.calls: asyncio.Queue[ServedCall] = asyncio.Queue()

    async def handle(self, transport: Transport, _state: State) -> None:
        assert isinstance(transport, BrowserMediaTransport)
        served = ServedCall(transport, asyncio.Queue())
        await self.calls.put(served)
        async for event in transport.events():
            await served.events.put(event)
        await served.events.put(None)

    async def next_call(self) -> ServedCall:
        async with asyncio.timeout(WAIT):
            return await self.calls.get()


@dataclass
class BrowserServer:
    settings: Settings
    handlers: CallHandlers

    def ticket(self, secret: SecretStr | None = None, ttl_seconds: float = 60) -> str:
        return issue_ticket(
            secret or self.settings.secret_key,
            call_id=uuid.uuid4(),
            call_sid=f"WEB{uuid.uuid4().hex}",
            clinic_id=uuid.uuid4(),
            caller=CALLER,
            called=CALLED,
            ttl_seconds=ttl_seconds,
        )

    async def connect(self) -> ClientConnection:
        return await connect(websocket_url(self.settings, BROWSER_STREAM_PATH), max_size=None)

    async def start_call(self) -> tuple[ClientConnection, ServedCall]:
        ws = await self.connect()
        await ws.send(json.dumps({"type": "start", "ticket": self.ticket()}))
        served = await self.handlers.next_call()
        assert isinstance(await served.next_event(), CallStarted)
        return ws, served


@pytest.fixture
async def server() -> AsyncIterator[BrowserServer]:
    handlers = CallHandlers()
    holder: list[Settings] = []

    def make_app(url: str) -> FastAPI:
        settings = Settings(public_base_url=url, secret_key=SecretStr("browser stream tests"))
        holder.append(settings)
        app = FastAPI()
        app.include_router(browser_media_router(settings, handlers.handle, start_timeout=START_TIMEOUT))
        return app

    async with serve(make_app):
        yield BrowserServer(holder[0], handlers)


async def receive_json(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(WAIT):
        raw = await ws.recv()
    assert isinstance(raw, str), f"expected a JSON message, got {len(raw)} bytes of audio"
    message: dict[str, Any] = json.loads(raw)
    return message


async def closed_with(ws: ClientConnection) -> tuple[int, str, list[dict[str, Any]]]:
    """Read to the close: its code and reason, and the JSON messages before it."""
    messages = []
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            messages.append(await receive_json(ws))
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason, messages


async def test_a_valid_ticket_starts_a_web_call(server: BrowserServer) -> None:
    ws, served = await server.start_call()
    call = served.transport.call
    assert call is not None and call.call_sid.startswith("WEB")
    assert (call.caller, call.called, call.direction) == (CALLER, CALLED, CallDirection.web)
    await ws.close()


@pytest.mark.parametrize(
    ("first", "reason"),
    [
        ("expired", "ticket refused: expired"),
        ("other secret", "ticket refused: bad signature"),
        ("garbage", "ticket refused: malformed"),
        ("audio first", "audio before the start message"),
        ("mark first", "mark before the start message"),
        ("nothing", f"no start with a ticket within {START_TIMEOUT:g} s"),
    ],
)
async def test_a_socket_without_a_valid_ticket_is_refused_with_the_reason(
    server: BrowserServer, first: str, reason: str
) -> None:
    ws = await server.connect()
    messages: dict[str, str | bytes] = {
        "expired": json.dumps({"type": "start", "ticket": server.ticket(ttl_seconds=-1)}),
        "other secret": json.dumps({"type": "start", "ticket": server.ticket(SecretStr("not ours"))}),
        "garbage": json.dumps({"type": "start", "ticket": "not-a-ticket"}),
        "audio first": bytes(320),
        "mark first": json.dumps({"type": "mark", "name": "m1"}),
    }
    if first in messages:
        await ws.send(messages[first])
    code, said, before = await closed_with(ws)
    assert (code, said) == (1008, reason)
    assert before == [{"type": "ended", "reason": reason}]
    served = await server.handlers.next_call()
    assert await served.next_event() == CallStopped("protocol_error")  # the session never starts
    assert served.transport.call is None


async def test_inbound_messages_become_transport_events(server: BrowserServer) -> None:
    ws, served = await server.start_call()
    tone = (np.sin(np.arange(400) / 5) * 8000).astype(np.int16)  # 50 ms: two frames and a half
    pcm = pcm16_bytes(tone)
    await ws.send(pcm[:100])  # any whole number of samples: the server cuts 20 ms frames
    await ws.send(pcm[100:])
    await ws.send(json.dumps({"type": "dtmf", "digit": "5"}))
    await ws.send(json.dumps({"type": "mark", "name": "m7"}))
    await ws.send(json.dumps({"type": "stop"}))
    events = [await served.next_event() for _ in range(6)]
    mulaw = mulaw_encode(tone)
    assert events == [
        AudioReceived(mulaw[:160]),
        AudioReceived(mulaw[160:320]),
        DigitPressed("5"),
        MarkReached("m7"),
        CallStopped("stop"),
        None,
    ]
    await ws.close()


async def test_agent_audio_goes_out_as_pcm_frames_then_its_mark(server: BrowserServer) -> None:
    ws, served = await server.start_call()
    audio = bytes([0x10]) * 500  # three whole frames and 20 bytes of mu-law
    await served.transport.play(audio, "m1")
    frames = []
    for _ in range(4):
        async with asyncio.timeout(WAIT):
            frame = await ws.recv()
        assert isinstance(frame, bytes)
        frames.append(frame)
    assert [len(frame) for frame in frames] == [320] * 4
    assert b"".join(frames) == mulaw_to_pcm16(audio + bytes([0xFF]) * 140)  # padded with silence
    assert await receive_json(ws) == {"type": "mark", "name": "m1"}
    assert (served.transport.stats.frames_sent, served.transport.stats.marks_sent) == (4, 1)
    await ws.close()


async def test_clear_drops_queued_audio_and_echoes_its_marks_first(server: BrowserServer) -> None:
    ws, served = await server.start_call()
    await served.transport.play(bytes([0x20]) * 160 * 250, "long")  # five seconds
    async with asyncio.timeout(WAIT):
        assert isinstance(await ws.recv(), bytes)
    await served.transport.clear()
    frames_before_clear, after = 1, []
    while not after or after[-1] != {"type": "clear"}:
        async with asyncio.timeout(WAIT):
            raw = await ws.recv()
        if isinstance(raw, bytes):
            frames_before_clear += 1
        else:
            after.append(json.loads(raw))
    assert frames_before_clear < 250  # paced at real time: nearly all of it was still queued
    assert after == [{"type": "mark", "name": "long"}, {"type": "clear"}]
    await ws.close()


async def test_transcript_lines_go_out_in_order(server: BrowserServer) -> None:
    ws, served = await server.start_call()
    lines = [
        TranscriptLine(TurnRole.caller, "What are", final=False),
        TranscriptLine(TurnRole.caller, "What are your hours?", final=True),
        TranscriptLine(TurnRole.agent, "We're open", final=False),
        TranscriptLine(TurnRole.agent, "", final=True),
    ]
    for line in lines:
        served.transport.show_transcript(line)
    expected = [{"type": "transcript", "role": x.role.value, "text": x.text, "final": x.final} for x in lines]
    assert [await receive_json(ws) for _ in lines] == expected
    await ws.close()


async def test_hangup_sends_ended_with_the_last_transcript_then_closes(server: BrowserServer) -> None:
    ws, served = await server.start_call()
    served.transport.show_transcript(TranscriptLine(TurnRole.agent, "Goodbye!", final=True))
    await served.transport.hangup()
    code, _, messages = await closed_with(ws)
    assert code == 1000
    assert messages == [
        {"type": "transcript", "role": "agent", "text": "Goodbye!", "final": True},
        {"type": "ended", "reason": "the agent ended the call"},
    ]
    assert await served.next_event() == CallStopped("hangup")


async def test_a_browser_call_cannot_be_transferred(server: BrowserServer) -> None:
    ws, served = await server.start_call()
    await served.transport.transfer("+15550100001")
    code, _, messages = await closed_with(ws)
    assert code == 1000
    assert messages == [
        {
            "type": "ended",
            "reason": "a browser call cannot be transferred (a phone caller would now go to +15550100001)",
        }
    ]
    assert served.transport.transfer_target == "+15550100001"
    assert await served.next_event() == CallStopped("transfer")


HOSTILE: dict[str, tuple[str | bytes, int]] = {
    "odd byte count": (bytes(321), 1003),
    "too much audio": (bytes(32_000), 1009),
    "not json": ("{type: mark", 1008),
    "unknown type": (json.dumps({"type": "explode"}), 1008),
    "bad digit": (json.dumps({"type": "dtmf", "digit": "x"}), 1008),
    "second start": (json.dumps({"type": "start", "ticket": "x"}), 1008),
    "huge message": (json.dumps({"type": "mark", "name": "m" * 10_000}), 1009),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
async def test_a_hostile_message_ends_only_its_call(server: BrowserServer, kind: str) -> None:
    healthy, healthy_call = await server.start_call()
    hostile, hostile_call = await server.start_call()
    message, code = HOSTILE[kind]
    await hostile.send(message)
    closed_code, reason, messages = await closed_with(hostile)
    [ended] = messages
    assert closed_code == code and ended["type"] == "ended" and ended["reason"].startswith(reason)
    assert await hostile_call.next_event() == CallStopped("protocol_error")

    await healthy.send(bytes(320))
    assert await healthy_call.next_event() == AudioReceived(mulaw_encode(np.zeros(160, dtype=np.int16)))
    await healthy.close()


def test_a_twilio_stream_may_not_claim_a_web_call() -> None:
    start = Start(
        stream_sid="MZ1",
        start=StartInfo(
            stream_sid="MZ1",
            call_sid="CA1",
            custom_parameters={"caller": CALLER, "called": CALLED, "direction": "web"},
            media_format=MediaFormat(encoding="audio/x-mulaw", sample_rate=8000, channels=1),
        ),
    )
    with pytest.raises(ProtocolViolation, match="must be inbound or outbound"):
        call_started(start)
    parameters = {"caller": CALLER, "called": CALLED}  # no direction: inbound, as ever
    inbound = start.model_copy(
        update={"start": start.start.model_copy(update={"custom_parameters": parameters})}
    )
    assert call_started(inbound).direction is CallDirection.inbound
