"""Twilio's side of a Media Stream, for the local caller, the test-call suite and the benchmark.

`MediaStreamClient` opens the media socket with a valid signature, sends connected and start,
and then runs one 20 ms clock (`TICK_SECONDS`) for both directions of the line:

- uplink: every tick sends one 160-byte mu-law frame, the caller's speech when some is queued
  (`say`), else silence, with optional white noise mixed in, as a phone line never stops;
- playback: every tick plays one frame of the agent's received audio, as Twilio's buffer does.
  A mark is echoed when playback reaches it (everything before it played); a `clear` drops the
  unplayed audio and echoes every outstanding mark at once.

Both tracks are recorded tick by tick (`recording`), so they line up for a stereo wav. Waiting
is done on the clock (`wait_until`), never by polling.
"""

import asyncio
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Self

import numpy as np
from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from frontdesk.config import Settings
from frontdesk.realtime.audio.codec import (
    FRAME_MS,
    MULAW_FRAME_BYTES,
    MULAW_SILENCE,
    TELEPHONY_SAMPLE_RATE,
    mulaw_decode,
    mulaw_encode,
    split_mulaw_frames,
)
from frontdesk.telephony.twilio.protocol import (
    SERVER_MESSAGE,
    Clear,
    Connected,
    Dtmf,
    DtmfInfo,
    InboundMedia,
    Mark,
    MarkInfo,
    Media,
    MediaFormat,
    PlayMedia,
    Start,
    StartInfo,
    Stop,
    StopInfo,
    WireMessage,
)
from frontdesk.telephony.twilio.signatures import SIGNATURE_HEADER, sign

TICK_SECONDS: Final = FRAME_MS / 1000
SILENT_FRAME: Final = bytes([MULAW_SILENCE]) * MULAW_FRAME_BYTES
_FULL_SCALE: Final = 32767.0


class MediaClientError(Exception):
    """The server sent something that is not the Media Streams protocol."""


@dataclass
class Recording:
    """Both sides of the line, one 160-byte mu-law frame per tick each."""

    caller: list[bytes] = field(default_factory=list)
    agent: list[bytes] = field(default_factory=list)

    def stereo_pcm16(self) -> np.ndarray:
        """The call as interleaved PCM16 at 8 kHz: caller left, agent right."""
        # The line may close inside a tick, after the agent's frame played and before the
        # caller's was sent: the side short of a frame ends in silence.
        ticks = max(len(self.caller), len(self.agent))
        left = mulaw_decode(b"".join(_padded(self.caller, ticks)))
        right = mulaw_decode(b"".join(_padded(self.agent, ticks)))
        return np.column_stack([left, right]).astype(np.int16).reshape(-1)


def _padded(frames: list[bytes], ticks: int) -> list[bytes]:
    return [*frames, *[SILENT_FRAME] * (ticks - len(frames))]


@dataclass(frozen=True)
class MarkEcho:
    """A mark echoed to the server: the clock tick playback reached it at, and how much agent audio
    had played by then (in frames)."""

    name: str
    tick: int
    frames_played: int


@dataclass
class _Utterance:
    frames: deque[bytes]
    done: asyncio.Future[float]  # when its last frame was sent


def noise_frames(level_db: float, seed: int = 0) -> Callable[[], np.ndarray]:
    """A source of 20 ms white-noise frames at `level_db` dBFS RMS (e.g. -25)."""
    if not -120 <= level_db <= 0:
        raise ValueError(f"noise level must be within [-120, 0] dBFS, got {level_db}")
    rng = np.random.default_rng(seed)
    rms = _FULL_SCALE * 10 ** (level_db / 20)
    return lambda: rng.normal(0.0, rms, MULAW_FRAME_BYTES)


class MediaStreamClient:
    """The carrier's end of one media stream (see the module docstring). Use `open()`."""

    def __init__(
        self,
        ws: ClientConnection,
        stream_sid: str,
        noise: Callable[[], np.ndarray] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ws = ws
        self.stream_sid = stream_sid
        self._noise = noise
        self._clock = clock
        self._speech: deque[_Utterance] = deque()
        self._playback: deque[bytes | str] = deque()  # received frames and mark names, in order
        self._tick = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []
        self.recording = Recording()
        self.ticks = 0
        self.started_at = 0.0
        self.agent_received_at: list[float] = []  # clock time of each agent frame received
        self.last_agent_tick: int | None = None  # the tick that last played agent audio
        self.agent_frames_played = 0
        self.marks_echoed: list[MarkEcho] = []
        self.clears = 0
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self.error: str | None = None

    @classmethod
    async def open(
        cls,
        settings: Settings,
        stream_url: str,
        call_sid: str,
        parameters: dict[str, str],
        noise: Callable[[], np.ndarray] | None = None,
    ) -> Self:
        """Connect to `stream_url` signed with the settings' Twilio key, send connected and start."""
        ws = await connect(stream_url, additional_headers={SIGNATURE_HEADER: sign(settings, stream_url)})
        stream_sid = "MZ" + call_sid[2:]
        client = cls(ws, stream_sid, noise)
        await client._send(Connected())
        start = StartInfo(
            stream_sid=stream_sid,
            call_sid=call_sid,
            custom_parameters=parameters,
            media_format=MediaFormat(encoding="audio/x-mulaw", sample_rate=TELEPHONY_SAMPLE_RATE, channels=1),
        )
        await client._send(Start(sequence_number="1", stream_sid=stream_sid, start=start))
        client.started_at = client._clock()
        client._tasks = [
            asyncio.create_task(client._receive_loop(), name="caller-downlink"),
            asyncio.create_task(client._clock_loop(), name="caller-clock"),
        ]
        return client

    # --- what the caller does ----------------------------------------------------------------

    async def say(self, mulaw: bytes) -> float:
        """Speak mu-law 8 kHz audio at real-time pace; return the clock time its last frame was sent."""
        utterance = _Utterance(deque(split_mulaw_frames(mulaw)), asyncio.get_running_loop().create_future())
        self._speech.append(utterance)
        return await utterance.done

    async def press(self, digit: str) -> float:
        """Press a key (a dtmf message); return the clock time it was sent."""
        await self._send(Dtmf(stream_sid=self.stream_sid, dtmf=DtmfInfo(digit=digit)))
        return self._clock()

    async def hangup(self, call_sid: str) -> None:
        """Send stop and close the socket, as Twilio does when the caller hangs up."""
        if not self.closed.is_set():
            try:
                await self._send(Stop(stream_sid=self.stream_sid, stop=StopInfo(call_sid=call_sid)))
            except ConnectionClosed:
                pass  # the server ended the call first
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the clock and close the socket."""
        await self._ws.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.closed.set()
        self._release_pending_speech()

    # --- what the caller observes -------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait, tick by tick, until `predicate()` holds or the call has ended."""
        async with self._tick:
            await self._tick.wait_for(lambda: self.closed.is_set() or predicate())

    def first_agent_audio_after(self, moment: float) -> float | None:
        """When the first agent frame received after `moment` arrived, or None."""
        index = bisect_right(self.agent_received_at, moment)
        return self.agent_received_at[index] if index < len(self.agent_received_at) else None

    def agent_playing(self) -> bool:
        """Whether agent audio is playing at this tick."""
        return self.last_agent_tick is not None and self.last_agent_tick >= self.ticks - 1

    def tick_at(self, moment: float) -> int:
        """The clock tick that `moment` falls in."""
        return int((moment - self.started_at) / TICK_SECONDS)

    # --- the line --------------------------------------------------------------------------------

    async def _clock_loop(self) -> None:
        try:
            while True:
                await self._play_tick()
                await self._send_tick()
                async with self._tick:
                    self.ticks += 1
                    self._tick.notify_all()
                delay = self.started_at + self.ticks * TICK_SECONDS - self._clock()
                if delay > 0:
                    await asyncio.sleep(delay)
        except ConnectionClosed:
            await self._ended()

    async def _send_tick(self) -> None:
        frame, finished = SILENT_FRAME, None
        if self._speech:
            utterance = self._speech[0]
            frame = utterance.frames.popleft()
            if not utterance.frames:
                self._speech.popleft()
                finished = utterance.done
        if self._noise is not None:
            mixed = mulaw_decode(frame).astype(np.float64) + self._noise()
            frame = mulaw_encode(np.clip(mixed, -_FULL_SCALE, _FULL_SCALE).astype(np.int16))
        await self._send(
            Media(stream_sid=self.stream_sid, media=InboundMedia(payload=frame, track="inbound"))
        )
        self.recording.caller.append(frame)
        if finished is not None and not finished.done():
            finished.set_result(self._clock())

    async def _play_tick(self) -> None:
        # Marks at the head were reached: the audio before them finished playing last tick.
        await self._echo_marks_at_head()
        if self._playback and isinstance(self._playback[0], bytes):
            self.recording.agent.append(self._playback.popleft())  # type: ignore[arg-type]
            self.last_agent_tick = self.ticks
            self.agent_frames_played += 1
        else:
            self.recording.agent.append(SILENT_FRAME)

    async def _echo_marks_at_head(self) -> None:
        while self._playback and isinstance(self._playback[0], str):
            await self._echo_mark(self._playback.popleft())  # type: ignore[arg-type]

    async def _echo_mark(self, name: str) -> None:
        await self._send(Mark(stream_sid=self.stream_sid, mark=MarkInfo(name=name)))
        self.marks_echoed.append(MarkEcho(name, self.ticks, self.agent_frames_played))

    async def _receive_loop(self) -> None:
        try:
            async for raw in self._ws:
                await self._handle(raw)
        except (ConnectionClosed, MediaClientError) as exc:
            if isinstance(exc, MediaClientError):
                self.error = str(exc)
                await self._ws.close(1008, "protocol error")
        await self._ended()

    async def _handle(self, raw: str | bytes) -> None:
        if isinstance(raw, bytes):
            raise MediaClientError("the server sent a binary frame")
        try:
            message = SERVER_MESSAGE.validate_json(raw)
        except ValidationError as exc:
            raise MediaClientError(f"malformed server message: {exc.errors()[0]['msg']}") from None
        if message.stream_sid != self.stream_sid:
            raise MediaClientError(f"{message.event} for another stream")
        if isinstance(message, PlayMedia):
            self.agent_received_at.append(self._clock())
            self._playback.extend(split_mulaw_frames(message.media.payload))
        elif isinstance(message, Mark):
            self._playback.append(message.mark.name)
        elif isinstance(message, Clear):
            self.clears += 1
            marks = [item for item in self._playback if isinstance(item, str)]
            self._playback.clear()
            for name in marks:
                await self._echo_mark(name)

    async def _ended(self) -> None:
        self.close_code = self._ws.close_code
        self.closed.set()
        self._release_pending_speech()
        async with self._tick:
            self._tick.notify_all()

    def _release_pending_speech(self) -> None:
        for utterance in self._speech:
            if not utterance.done.done():
                utterance.done.set_result(self._clock())
        self._speech.clear()

    async def _send(self, message: WireMessage) -> None:
        await self._ws.send(message.to_json())
