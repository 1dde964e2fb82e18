"""The page's side of a web call, in Python: what talk.js and its worklets do, over a real socket.

One 20 ms clock runs both directions, as a browser's audio graph does: each tick sends 320 bytes
of PCM16 (the caller's speech when some is queued, else silence: a microphone never stops) and
plays one 20 ms frame of the agent's audio received; a mark is echoed once playback reaches it,
and a clear drops the unplayed audio and echoes the marks it held. JSON messages are kept in
order (`messages`); waiting is done on the clock or on arrivals (`wait_until`), never by sleeping
a fixed time.
"""

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Self

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from frontdesk.realtime.audio.codec import FRAME_MS, PCM16_FRAME_BYTES

TICK_SECONDS: Final = FRAME_MS / 1000
SILENCE: Final = bytes(PCM16_FRAME_BYTES)


@dataclass
class _Utterance:
    frames: deque[bytes]
    done: asyncio.Future[None]


class BrowserClient:
    """A web call's browser end. Use `open()`."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._speech: deque[_Utterance] = deque()
        self._playback: deque[bytes | str] = deque()  # agent frames and mark names, in order
        self._changed = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []
        self.messages: list[dict[str, Any]] = []  # the server's JSON messages, in order
        self.agent_frames_received = 0
        self.agent_frames_played = 0
        self.marks_echoed: list[str] = []
        self.closed = asyncio.Event()

    @classmethod
    async def open(cls, websocket_url: str, ticket: str) -> Self:
        """Connect, send the start with `ticket`, start the clock."""
        client = cls(await connect(websocket_url, max_size=None))
        await client._ws.send(json.dumps({"type": "start", "ticket": ticket}))
        client._tasks = [
            asyncio.create_task(client._receive_loop(), name="browser-downlink"),
            asyncio.create_task(client._clock_loop(), name="browser-clock"),
        ]
        return client

    # --- what the person does ------------------------------------------------------------------

    async def say(self, pcm16: bytes) -> None:
        """Speak 8 kHz PCM16 at real-time pace; returns once its last chunk was sent."""
        frames = deque(pcm16[i : i + PCM16_FRAME_BYTES] for i in range(0, len(pcm16), PCM16_FRAME_BYTES))
        utterance = _Utterance(frames, asyncio.get_running_loop().create_future())
        self._speech.append(utterance)
        await utterance.done

    async def press(self, digit: str) -> None:
        """A key of the page's keypad."""
        await self._ws.send(json.dumps({"type": "dtmf", "digit": digit}))

    async def hang_up(self) -> None:
        """Send stop and close, as the page's hang-up button does."""
        if not self.closed.is_set():
            try:
                await self._ws.send(json.dumps({"type": "stop"}))
            except ConnectionClosed:
                pass  # the server ended the call first
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the clock and close the socket."""
        await self._ws.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._ended()

    # --- what the person sees and hears -------------------------------------------------------------

    @property
    def close_code(self) -> int | None:
        """The close code the server sent, once closed."""
        return self._ws.close_code

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        """The server's JSON messages of one type, in order."""
        return [message for message in self.messages if message["type"] == kind]

    def finals(self, role: str) -> list[str]:
        """The final transcript lines of `role` that were not withdrawn, in order."""
        lines = self.of_type("transcript")
        return [m["text"] for m in lines if m["role"] == role and m["final"] and m["text"]]

    async def wait_for_finals(self, role: str, count: int, within: float) -> None:
        """Wait until `count` final lines of `role` came, or the call ended (see `wait_until`)."""
        await self.wait_until(lambda: len(self.finals(role)) >= count or self.closed.is_set(), within)

    async def wait_until(self, predicate: Callable[[], bool], within: float) -> None:
        """Wait until `predicate()` holds (checked at each tick and message); `within` seconds
        bound the wait, a hang guard on a busy machine, not a speed check."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(predicate)

    # --- the line ----------------------------------------------------------------------------------

    async def _clock_loop(self) -> None:
        started, ticks = time.monotonic(), 0
        try:
            while True:
                await self._play_tick()
                await self._send_tick()
                ticks += 1
                await self._notify()
                delay = started + ticks * TICK_SECONDS - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
        except ConnectionClosed:
            await self._ended()

    async def _send_tick(self) -> None:
        frame, finished = SILENCE, None
        if self._speech:
            utterance = self._speech[0]
            frame = utterance.frames.popleft()
            if not utterance.frames:
                self._speech.popleft()
                finished = utterance.done
        await self._ws.send(frame)
        if finished is not None and not finished.done():
            finished.set_result(None)

    async def _play_tick(self) -> None:
        # Marks at the head were reached: the audio before them finished playing last tick.
        while self._playback and isinstance(self._playback[0], str):
            await self._echo(self._playback.popleft())  # type: ignore[arg-type]
        if self._playback:
            self._playback.popleft()
            self.agent_frames_played += 1

    async def _echo(self, name: str) -> None:
        await self._ws.send(json.dumps({"type": "mark", "name": name}))
        self.marks_echoed.append(name)

    async def _receive_loop(self) -> None:
        try:
            async for raw in self._ws:
                await self._handle(raw)
        except ConnectionClosed:
            pass
        await self._ended()

    async def _handle(self, raw: str | bytes) -> None:
        if isinstance(raw, bytes):
            assert len(raw) == PCM16_FRAME_BYTES, f"agent audio comes in 20 ms frames, got {len(raw)} bytes"
            self.agent_frames_received += 1
            self._playback.append(raw)
            return
        message: dict[str, Any] = json.loads(raw)
        self.messages.append(message)
        if message["type"] == "mark":
            self._playback.append(message["name"])
        elif message["type"] == "clear":
            marks = [item for item in self._playback if isinstance(item, str)]
            self._playback.clear()
            for name in marks:
                await self._echo(name)
        await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _ended(self) -> None:
        self.closed.set()
        for utterance in self._speech:
            if not utterance.done.done():
                utterance.done.set_result(None)
        self._speech.clear()
        await self._notify()
