"""The /media WebSocket over a real socket: uvicorn on an ephemeral port, a `websockets` client.

The route runs a test handler that hands each call's transport and its events to the test, so
the test drives the real `TwilioMediaTransport` and watches the wire like Twilio would.
"""

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import SecretStr, ValidationError
from starlette.datastructures import State
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from frontdesk.config import Settings
from frontdesk.domain.models import CallDirection
from frontdesk.realtime.transport import (
    AudioReceived,
    CallStarted,
    CallStopped,
    DigitPressed,
    MarkReached,
    Transport,
    TransportEvent,
)
from frontdesk.telephony.public_urls import public_url, websocket_url
from frontdesk.telephony.twilio.media_route import media_router
from frontdesk.telephony.twilio.media_stream import TwilioMediaTransport
from frontdesk.telephony.twilio.protocol import SERVER_MESSAGE, OutboundMedia, PlayMedia, PlayMediaText
from frontdesk.telephony.twilio.rest import twilio_calls_for
from frontdesk.telephony.twilio.signatures import SIGNATURE_HEADER, sign
from tests.realtime.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.realtime.served import serve

CALLER = "+15550142222"
CALLED = "+15550100000"


@dataclass
class ServedCall:
    """One call as the server's handler saw it: its transport and its events, as they arrive."""

    transport: TwilioMediaTransport
    events: asyncio.Queue[TransportEvent | None]  # None once the events ended

    async def next_event(self) -> TransportEvent | None:
        """The next event (None after the last)."""
        return await self.events.get()


class CallHandlers:
    """The test's call handler: puts each call on `calls`; a call lasts until its events end."""

    def __init__(self) -> None:
        self.calls: asyncio.Queue[ServedCall] = asyncio.Queue()

    async def handle(self, transport: Transport, _state: State) -> None:
        assert isinstance(transport, TwilioMediaTransport)
        served = ServedCall(transport, asyncio.Queue())
        await self.calls.put(served)
        async for event in transport.events():
            await served.events.put(event)
        await served.events.put(None)


@dataclass
class MediaServer:
    """The served test app."""

    settings: Settings
    handlers: CallHandlers

    async def connect(self, signature: str | None = None) -> ClientConnection:
        """Open the media socket as Twilio does, signed unless `signature` is given."""
        url = websocket_url(self.settings, "/media")
        header = sign(self.settings, url) if signature is None else signature
        return await connect(url, additional_headers={SIGNATURE_HEADER: header}, max_size=None)

    async def start_call(self, call_sid: str, stream_sid: str) -> tuple[ClientConnection, ServedCall]:
        """Connect, send connected and start; return the socket and the server's side once started."""
        ws = await self.connect()
        await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        await ws.send(json.dumps(start_message(call_sid, stream_sid)))
        served = await self.handlers.calls.get()
        started = await served.next_event()
        assert isinstance(started, CallStarted)
        return ws, served


def start_message(call_sid: str, stream_sid: str, **media_format: Any) -> dict[str, Any]:
    """Twilio's start message for a call."""
    return {
        "event": "start",
        "sequenceNumber": "1",
        "streamSid": stream_sid,
        "start": {
            "accountSid": "AC" + "0" * 32,
            "streamSid": stream_sid,
            "callSid": call_sid,
            "tracks": ["inbound"],
            "customParameters": {"caller": CALLER, "called": CALLED, "direction": "inbound", "call_id": "c1"},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1} | media_format,
        },
    }


def media_message(stream_sid: str, audio: bytes) -> str:
    """Twilio's media message carrying `audio`."""
    payload = base64.b64encode(audio).decode()
    return json.dumps(
        {"event": "media", "streamSid": stream_sid, "media": {"track": "inbound", "payload": payload}}
    )


async def receive_json(ws: ClientConnection) -> dict[str, Any]:
    """The next message the server sent, decoded."""
    message: dict[str, Any] = json.loads(await ws.recv())
    return message


async def media_server(settings: Settings) -> AsyncIterator[MediaServer]:
    """Serve the media route with a CallHandlers handler (live calls through Twilio's REST API
    when `settings` has its credentials)."""
    handlers = CallHandlers()

    def make_app(url: str) -> FastAPI:
        app = FastAPI()
        app.include_router(
            media_router(
                settings.model_copy(update={"public_base_url": url}),
                handlers.handle,
                calls=twilio_calls_for(settings),
            )
        )
        return app

    async with serve(make_app) as url:
        yield MediaServer(settings.model_copy(update={"public_base_url": url}), handlers)


@pytest.fixture
async def server() -> AsyncIterator[MediaServer]:
    """The media route served offline (no Twilio credentials)."""
    async for served in media_server(Settings()):
        yield served


async def test_forged_upgrade_is_refused(server: MediaServer) -> None:
    other_key = server.settings.model_copy(update={"twilio_dev_auth_token": SecretStr("another key")})
    forged = sign(other_key, websocket_url(server.settings, "/media"))
    for signature in ["", "AAAA", forged]:
        with pytest.raises(InvalidStatus) as refused:
            await server.connect(signature)
        assert refused.value.response.status_code == 403
    assert server.handlers.calls.empty()


async def test_signature_covers_the_query_string(server: MediaServer) -> None:
    url = websocket_url(server.settings, "/media")
    signed_without_query = sign(server.settings, url)
    with pytest.raises(InvalidStatus):
        await connect(url + "?call=x", additional_headers={SIGNATURE_HEADER: signed_without_query})
    async with await connect(
        url + "?call=x", additional_headers={SIGNATURE_HEADER: sign(server.settings, url + "?call=x")}
    ):
        served = await server.handlers.calls.get()
    assert served.transport.call is None  # accepted, then the client left before start


async def test_inbound_messages_become_transport_events(server: MediaServer) -> None:
    ws, served = await server.start_call("CA1", "MZ1")
    assert served.transport.call == CallStarted(
        call_sid="CA1",
        stream_sid="MZ1",
        caller=CALLER,
        called=CALLED,
        direction=CallDirection.inbound,
    )
    audio = bytes(range(256)) + bytes(64)  # 320 bytes: two frames
    await ws.send(media_message("MZ1", audio))
    await ws.send(
        json.dumps({"event": "dtmf", "streamSid": "MZ1", "dtmf": {"track": "inbound_track", "digit": "0"}})
    )
    await ws.send(json.dumps({"event": "mark", "streamSid": "MZ1", "mark": {"name": "agent-1"}}))
    await ws.send(json.dumps({"event": "stop", "streamSid": "MZ1", "stop": {"callSid": "CA1"}}))

    events = [await served.next_event() for _ in range(6)]
    assert events == [
        AudioReceived(audio[:160]),
        AudioReceived(audio[160:]),
        DigitPressed("0"),
        MarkReached("agent-1"),
        CallStopped("stop"),
        None,
    ]
    await ws.close()


async def test_play_sends_20ms_frames_then_a_mark(server: MediaServer) -> None:
    ws, served = await server.start_call("CA2", "MZ2")
    audio = bytes([0x10]) * 500  # three whole frames and 20 bytes
    await served.transport.play(audio, "reply-1")

    frames = [await receive_json(ws) for _ in range(4)]
    assert all(frame["event"] == "media" and frame["streamSid"] == "MZ2" for frame in frames)
    payloads = [base64.b64decode(frame["media"]["payload"]) for frame in frames]
    assert [len(payload) for payload in payloads] == [160, 160, 160, 160]
    assert b"".join(payloads) == audio + bytes([0xFF]) * 140  # the last frame padded with mu-law silence
    assert await receive_json(ws) == {"event": "mark", "streamSid": "MZ2", "mark": {"name": "reply-1"}}
    assert (served.transport.stats.frames_sent, served.transport.stats.marks_sent) == (4, 1)
    await ws.close()


async def test_clear_drops_queued_audio_and_sends_clear(server: MediaServer) -> None:
    ws, served = await server.start_call("CA3", "MZ3")
    await served.transport.play(bytes([0x20]) * 160 * 250, "long")  # five seconds
    first = await receive_json(ws)
    assert first["event"] == "media"

    await served.transport.clear()
    after: list[dict[str, Any]] = []
    while not after or after[-1]["event"] != "clear":
        after.append(await receive_json(ws))
    media_before_clear = 1 + sum(message["event"] == "media" for message in after)
    assert media_before_clear < 250  # paced at real time: nearly all of it was still queued
    assert after[-2:] == [
        {"event": "mark", "streamSid": "MZ3", "mark": {"name": "long"}},  # every mark is echoed once
        {"event": "clear", "streamSid": "MZ3"},
    ]
    assert served.transport.stats.clears_sent == 1

    await served.transport.play(bytes([0x30]) * 160, "next")  # the call carries on after a clear
    next_frame = await receive_json(ws)
    assert base64.b64decode(next_frame["media"]["payload"]) == bytes([0x30]) * 160
    assert await receive_json(ws) == {"event": "mark", "streamSid": "MZ3", "mark": {"name": "next"}}
    assert served.transport.stats.frames_sent == media_before_clear + 1
    await ws.close()


async def test_offline_hangup_and_transfer_end_the_stream(server: MediaServer) -> None:
    ws, served = await server.start_call("CA4", "MZ4")
    await served.transport.hangup()
    with pytest.raises(ConnectionClosed) as closed:
        await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
    assert await served.next_event() == CallStopped("hangup")

    ws, served = await server.start_call("CA5", "MZ5")
    await served.transport.transfer("+15550100999")
    with pytest.raises(ConnectionClosed):
        await ws.recv()
    assert served.transport.transfer_target == "+15550100999"
    assert await served.next_event() == CallStopped("transfer")


async def test_transfer_and_hangup_use_twilio_rest_when_configured() -> None:
    fake = FakeTwilio(live_calls={"CA" + "6" * 32})
    async with serve(fake.app) as twilio_url:
        settings = Settings(
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=SecretStr(AUTH_TOKEN),
            twilio_base_url=twilio_url,
        )
        async for server in media_server(settings):
            ws, served = await server.start_call("CA" + "6" * 32, "MZ6")
            await served.transport.transfer("+15550100999")
            await served.transport.hangup()
            await ws.close()
    assert [update.call_sid for update in fake.updates] == ["CA" + "6" * 32] * 2
    assert "<Dial>+15550100999</Dial>" in fake.updates[0].form["Twiml"]
    assert fake.updates[1].form == {"Status": "completed"}


HOSTILE = {
    "bad base64": (lambda sid: media_message(sid, b"x").replace('"eA=="', '"%%%not base64"'), 1008),
    "unknown event": (lambda sid: json.dumps({"event": "explode", "streamSid": sid}), 1008),
    "not json": (lambda sid: "{event: media", 1008),
    "huge message": (lambda sid: media_message(sid, bytes(20_000)), 1009),
    "other stream": (lambda sid: media_message("MZ-someone-else", bytes(160)), 1008),
    "second start": (lambda sid: json.dumps(start_message("CA9", sid)), 1008),
    "bad digit": (lambda sid: json.dumps({"event": "dtmf", "streamSid": sid, "dtmf": {"digit": "x"}}), 1008),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
async def test_hostile_message_closes_only_its_socket(server: MediaServer, kind: str) -> None:
    healthy, healthy_call = await server.start_call("CA7", "MZ7")
    hostile, hostile_call = await server.start_call("CA8", "MZ8")
    make_message, code = HOSTILE[kind]

    await hostile.send(make_message("MZ8"))
    with pytest.raises(ConnectionClosed) as closed:
        await hostile.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code
    assert await hostile_call.next_event() == CallStopped("protocol_error")

    await healthy.send(media_message("MZ7", bytes(160)))
    assert await healthy_call.next_event() == AudioReceived(bytes(160))
    await healthy_call.transport.play(bytes(160), "still-here")
    assert (await receive_json(healthy))["event"] == "media"
    await healthy.close()


@pytest.mark.parametrize(
    ("first_messages", "code"),
    [
        ([media_message("MZ1", bytes(160))], 1008),  # media before start
        ([json.dumps(start_message("CA1", "MZ1", encoding="audio/x-alaw"))], 1003),
        ([json.dumps(start_message("CA1", "MZ1", sampleRate=16000))], 1003),
        ([json.dumps(start_message("CA1", "MZ1") | {"start": {"callSid": "CA1"}})], 1008),
    ],
)
async def test_bad_stream_start_is_refused(server: MediaServer, first_messages: list[str], code: int) -> None:
    ws = await server.connect()
    for message in first_messages:
        await ws.send(message)
    with pytest.raises(ConnectionClosed) as closed:
        await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code
    served = await server.handlers.calls.get()
    assert await served.next_event() == CallStopped("protocol_error")


async def test_binary_frame_closes_the_socket(server: MediaServer) -> None:
    ws, served = await server.start_call("CA10", "MZ10")
    await ws.send(bytes(160))
    with pytest.raises(ConnectionClosed) as closed:
        await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003
    assert await served.next_event() == CallStopped("protocol_error")


@pytest.mark.parametrize("stream_sid", ["MZ2", 'MZ"quoted\\odd é'])
def test_a_frames_media_text_is_what_the_model_would_write(stream_sid: str) -> None:
    audio = bytes(range(160))
    expected = PlayMedia(stream_sid=stream_sid, media=OutboundMedia(payload=audio)).to_json()
    assert PlayMediaText(stream_sid).of(audio) == expected
    assert SERVER_MESSAGE.validate_json(PlayMediaText(stream_sid).of(audio)) == PlayMedia(
        stream_sid=stream_sid, media=OutboundMedia(payload=audio)
    )


def test_a_stream_sid_the_protocol_refuses_gets_no_media_text() -> None:
    with pytest.raises(ValidationError):
        PlayMediaText("MZ" * 40)


def test_the_media_socket_may_have_an_address_of_its_own() -> None:
    apart = Settings(public_base_url="https://api.clinic.example", public_media_url="https://media.example/")
    assert websocket_url(apart, "/media") == "wss://media.example/media"
    assert public_url(apart, "/twilio/voice") == "https://api.clinic.example/twilio/voice"
    together = Settings(public_base_url="http://127.0.0.1:8000")
    assert websocket_url(together, "/media") == "ws://127.0.0.1:8000/media"
