"""`Playout`: the agent's audio sent to the far end at real-time pace, whatever the wire.

A transport hands `play()` its mu-law; the playout cuts it into 160-byte 20 ms frames and one
sender task sends them through the transport's `PlayoutWire` (Twilio's JSON media messages, the
browser's binary PCM16): each frame is due when the far end has LEAD_SECONDS of our audio still
to play, so a `clear` throws away little. A frame due within BURST_SECONDS goes at once with the
one before, so the sender wakes once per two or three frames rather than for each. A mark follows
each `play()` chunk. Frames sent more than a frame behind their schedule are counted as late
(`stats`, and the process's metrics).

A `clear` bumps the generation: frames queued before it are dropped, even one the sender holds
while it waits for its time. Marks still queued are sent just before the clear, so the far end
echoes every mark of every `play()` exactly once (played or cleared).
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

from frontdesk.logs import get_logger
from frontdesk.realtime import metrics
from frontdesk.realtime.audio.codec import FRAME_MS, split_mulaw_frames

FRAME_SECONDS: Final = FRAME_MS / 1000
# How much of our audio the far end may hold unplayed: enough to ride out scheduling jitter,
# little enough that a barge-in's `clear` discards only a few frames.
LEAD_SECONDS: Final = 0.08
# How early a frame may leave to ride along with the previous one: fewer wake-ups of the sender
# (a timer, a task switch and a lock a frame) for at most this much more audio at the far end.
BURST_SECONDS: Final = 0.04

_log = get_logger(__name__)


class PlayoutWire(Protocol):
    """How one transport puts the playout's messages on its wire."""

    async def send_frame(self, mulaw: bytes) -> None:
        """One 20 ms frame of agent audio (160 bytes of mu-law)."""
        ...

    async def send_mark(self, name: str) -> None:
        """A mark, to be echoed once the audio before it was played."""
        ...

    async def send_clear(self) -> None:
        """Tell the far end to drop the audio it holds."""
        ...


@dataclass
class PlaybackStats:
    """Counters of the outbound audio, for the turn loop's metrics and tests."""

    frames_sent: int = 0
    late_frames: int = 0  # sent more than one frame (20 ms) behind schedule
    marks_sent: int = 0
    clears_sent: int = 0


@dataclass(frozen=True)
class _Frame:
    audio: bytes
    generation: int
    queued_at: float


@dataclass(frozen=True)
class _PendingMark:
    name: str


_Outbound = _Frame | _PendingMark


class Playout:
    """One call's outbound audio (see the module docstring). `start()` it once the wire can send;
    `aclose()` stops the sender."""

    def __init__(self, wire: PlayoutWire, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._wire = wire
        self._clock = clock
        self._queue: asyncio.Queue[_Outbound] = asyncio.Queue()
        self._lock = asyncio.Lock()  # a clear and a frame's send never interleave
        self._generation = 0  # bumped by clear(): frames of an older generation are dropped
        self._far_end_free_at = 0.0  # when the far end will have played all we sent
        self._sender: asyncio.Task[None] | None = None
        self.stats = PlaybackStats()

    def start(self) -> None:
        """Start the sender task."""
        if self._sender is not None:
            raise RuntimeError("the playout has started already")
        self._sender = asyncio.create_task(self._send_loop(), name="media-sender")

    async def aclose(self) -> None:
        """Stop the sender and wait for it. A sender that had failed (most often a send racing the
        far end's hang-up) is logged, not raised: the call it served is over."""
        if self._sender is None:
            return
        self._sender.cancel()
        (outcome,) = await asyncio.gather(self._sender, return_exceptions=True)
        if isinstance(outcome, Exception):
            _log.warning("media.sender_failed", error_type=type(outcome).__name__)

    def play(self, mulaw: bytes, mark: str) -> None:
        """Queue agent audio in 20 ms frames (the last padded with silence), then a mark."""
        now = self._clock()
        for frame in split_mulaw_frames(mulaw):
            self._queue.put_nowait(_Frame(frame, self._generation, now))
        self._queue.put_nowait(_PendingMark(mark))

    async def clear(self) -> None:
        """Drop queued audio, send the marks still queued, then tell the far end to flush."""
        async with self._lock:
            self._generation += 1
            marks: list[str] = []
            while not self._queue.empty():
                item = self._queue.get_nowait()
                if isinstance(item, _PendingMark):
                    marks.append(item.name)
            for name in marks:
                await self._send_mark(name)
            await self._wire.send_clear()
            self.stats.clears_sent += 1
            self._far_end_free_at = self._clock()

    async def _send_loop(self) -> None:
        while True:
            item = await self._queue.get()
            if isinstance(item, _PendingMark):
                async with self._lock:
                    await self._send_mark(item.name)
                continue
            send_at = max(item.queued_at, self._far_end_free_at - LEAD_SECONDS)
            delay = send_at - self._clock()
            if delay > BURST_SECONDS:
                await asyncio.sleep(delay)
            async with self._lock:
                if item.generation != self._generation:
                    continue  # cleared while we waited
                sent_at = self._clock()
                await self._wire.send_frame(item.audio)
                self.stats.frames_sent += 1
                metrics.FRAMES_SENT.inc()
                if sent_at - send_at > FRAME_SECONDS:
                    self.stats.late_frames += 1
                    metrics.FRAMES_LATE.inc()
                self._far_end_free_at = max(self._far_end_free_at, sent_at) + FRAME_SECONDS

    async def _send_mark(self, name: str) -> None:
        await self._wire.send_mark(name)
        self.stats.marks_sent += 1
