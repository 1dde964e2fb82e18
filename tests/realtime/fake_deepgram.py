"""A fake Deepgram live-transcription server on 127.0.0.1, for tests that run the real deepgram-sdk.

It speaks the listen v1 WebSocket protocol: the handshake on `/v1/listen` must carry
`Authorization: Token <key>` (else HTTP 401, as Deepgram answers); binary frames are audio;
text frames are the JSON control messages (KeepAlive is accepted silently, CloseStream flushes
what is still scripted, sends Metadata and closes normally, Finalize is answered at once and the
stream goes on). Replies are Deepgram's JSON messages: Results, UtteranceEnd, SpeechStarted,
Metadata, Error.

A test scripts each connection in order (`script(...)`): what to send once how many audio bytes
have arrived, where to drop the TCP connection, close with an error code, or stall, and how to
answer each Finalize in turn (`OnFinalize`, typically `results(..., from_finalize=True)`, or a
drop). A
Finalize with no answer scripted gets Deepgram's answer for held audio without words: an empty
Results is_final=true from_finalize=true from the end of the last final sent to the end of the
audio received (nothing when that span is empty: Deepgram need not answer when it holds nothing).
Every connection is recorded (`connections`): its query, headers, audio and control messages.
`wait_for(...)` waits for a condition on the records, woken by each message the fake receives.
"""

import asyncio
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

API_KEY = "test-deepgram-key"
WAIT_GUARD_S = 10.0  # a hang guard for wait_for, not a speed check
Message = dict[str, Any]


@dataclass(frozen=True)
class Send:
    """Send `messages` once `after_bytes` of audio have arrived (or at CloseStream, if sooner)."""

    after_bytes: int
    messages: tuple[Message, ...]


@dataclass(frozen=True)
class Drop:
    """Abort the TCP connection, with no close frame, once `after_bytes` of audio have arrived."""

    after_bytes: int


@dataclass(frozen=True)
class CloseWith:
    """Close the WebSocket with an error code once `after_bytes` of audio have arrived."""

    after_bytes: int
    code: int = 1011
    reason: str = "NET-0001: Deepgram did not receive audio data within the timeout window."


@dataclass(frozen=True)
class Stall:
    """From `after_bytes` of audio on, keep reading but never answer again (not even CloseStream)."""

    after_bytes: int


@dataclass(frozen=True)
class OnFinalize:
    """Answer the next Finalize with `messages` (the answers are used in script order), or with
    `drop` abort the TCP connection instead, leaving it unanswered."""

    messages: tuple[Message, ...] = ()
    drop: bool = False


Step = Send | Drop | CloseWith | Stall | OnFinalize


@dataclass
class Connection:
    """What the fake received on one WebSocket."""

    query: dict[str, list[str]]
    headers: Headers
    audio: bytearray = field(default_factory=bytearray)
    audio_messages: list[int] = field(default_factory=list)  # the size of each audio message
    control: list[Message] = field(default_factory=list)
    ended: bool = False

    def count(self, message_type: str) -> int:
        """How many control messages of this type arrived."""
        return sum(1 for message in self.control if message.get("type") == message_type)


def results(
    transcript: str,
    *,
    start: float,
    duration: float,
    is_final: bool,
    speech_final: bool = False,
    from_finalize: bool = False,
    confidence: float = 0.95,
) -> Message:
    """A Deepgram `Results` message, with words spread evenly over its span; `from_finalize`
    marks Deepgram's answer to a Finalize."""
    words = transcript.split()
    step = duration / max(len(words), 1)
    return {
        "type": "Results",
        "channel_index": [0, 1],
        "duration": duration,
        "start": start,
        "is_final": is_final,
        "speech_final": speech_final,
        "from_finalize": from_finalize,
        "channel": {
            "alternatives": [
                {
                    "transcript": transcript,
                    "confidence": confidence,
                    "words": [
                        {
                            "word": word.lower().strip(".,?!"),
                            "punctuated_word": word,
                            "start": start + i * step,
                            "end": start + (i + 1) * step,
                            "confidence": confidence,
                        }
                        for i, word in enumerate(words)
                    ],
                }
            ]
        },
        "metadata": {
            "request_id": "fake-request",
            "model_info": {"name": "general-nova-3", "version": "2025-01-01.0", "arch": "nova-3"},
            "model_uuid": "00000000-0000-0000-0000-000000000000",
        },
    }


def utterance_end(last_word_end: float) -> Message:
    """A Deepgram `UtteranceEnd` message."""
    return {"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": last_word_end}


def speech_started(timestamp: float) -> Message:
    """A Deepgram `SpeechStarted` message (vad_events=true)."""
    return {"type": "SpeechStarted", "channel": [0], "timestamp": timestamp}


def error(description: str) -> Message:
    """A Deepgram `Error` message."""
    return {"type": "Error", "variant": "ServerError", "description": description}


def _metadata(audio_bytes: int) -> Message:
    return {
        "type": "Metadata",
        "transaction_key": "deprecated",
        "request_id": "fake-request",
        "sha256": "0" * 64,
        "created": "2025-01-01T00:00:00.000Z",
        "duration": audio_bytes / 8000,
        "channels": 1,
    }


class FakeDeepgram:
    """The fake server, as an async context manager: `async with FakeDeepgram() as fake: ...`."""

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.connections: list[Connection] = []
        self.rejected = 0  # handshakes refused for a bad key
        self._scripts: deque[tuple[Step, ...]] = deque()
        self._changed = asyncio.Condition()
        self._server: Server | None = None

    @property
    def url(self) -> str:
        """The base URL for DeepgramSpeechToText(base_url=...)."""
        if self._server is None:
            raise RuntimeError("the fake Deepgram server is not started")
        host, port = next(iter(self._server.sockets)).getsockname()[:2]
        return f"http://{host}:{port}"

    def script(self, *steps: Step) -> None:
        """Queue the behaviour of the next connection (connections without a script only listen)."""
        self._scripts.append(steps)

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Wait until `predicate()` holds; it is re-checked after every message the fake receives."""
        async with asyncio.timeout(WAIT_GUARD_S), self._changed:
            await self._changed.wait_for(predicate)

    async def __aenter__(self) -> Self:
        self._server = await serve(self._handle, "127.0.0.1", 0, process_request=self._check_handshake)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _check_handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        if urlsplit(request.path).path != "/v1/listen":
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        if request.headers.get("Authorization") != f"Token {self.api_key}":
            self.rejected += 1
            return connection.respond(HTTPStatus.UNAUTHORIZED, "Invalid credentials.\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        record = Connection(parse_qs(urlsplit(ws.request.path).query), ws.request.headers)
        self.connections.append(record)
        script = self._scripts.popleft() if self._scripts else ()
        steps = deque(step for step in script if not isinstance(step, OnFinalize))
        finalize_answers = deque(step for step in script if isinstance(step, OnFinalize))
        stalled = False
        committed_s = 0.0  # where the last final sent ends: a Finalize flushes the audio after it

        async def reply(message: Message) -> None:
            nonlocal committed_s
            if message.get("type") == "Results" and message.get("is_final"):
                committed_s = max(committed_s, message["start"] + message["duration"])
            await ws.send(json.dumps(message))

        async def finalize() -> bool:
            """Deepgram flushes the audio it holds at once and keeps the stream open (False: the
            script dropped the connection instead)."""
            held = len(record.audio) / 8000 - committed_s
            if finalize_answers:
                answer = finalize_answers.popleft()
                if answer.drop:
                    ws.transport.abort()
                    return False
                for message in answer.messages:
                    await reply(message)
            elif held > 0:  # audio held, with no words in it
                await reply(results("", start=committed_s, duration=held, is_final=True, from_finalize=True))
            return True

        try:
            async for frame in ws:
                if isinstance(frame, bytes):
                    record.audio += frame
                    record.audio_messages.append(len(frame))
                    while not stalled and steps and len(record.audio) >= steps[0].after_bytes:
                        step = steps.popleft()
                        if isinstance(step, Send):
                            for message in step.messages:
                                await reply(message)
                        elif isinstance(step, Drop):
                            ws.transport.abort()
                            return
                        elif isinstance(step, CloseWith):
                            await ws.close(step.code, step.reason)
                            return
                        else:
                            stalled = True
                else:
                    message = json.loads(frame)
                    record.control.append(message)
                    if message.get("type") == "Finalize" and not stalled and not await finalize():
                        return
                    if message.get("type") == "CloseStream" and not stalled:
                        # Deepgram flushes the results of the audio it still holds, then Metadata.
                        for step in steps:
                            if isinstance(step, Send):
                                for flushed in step.messages:
                                    await reply(flushed)
                        await ws.send(json.dumps(_metadata(len(record.audio))))
                        await ws.close()
                        return
                await self._notify()
        except ConnectionClosed:
            pass  # the client went away: recorded below
        finally:
            record.ended = True
            await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()
