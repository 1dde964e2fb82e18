"""The load: whole bench calls through the stack's webhook and media socket, at most `concurrency`
at once, each played by the simulated caller (`frontdesk.caller`) with lines rendered once."""

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Final

from websockets.exceptions import WebSocketException

from frontdesk.bench.script import NAME, caller_steps
from frontdesk.bench.utterances import utterances_in
from frontdesk.caller.conversation import CallOptions, CallResult, render_lines, run_call
from frontdesk.caller.media_client import SILENT_FRAME, Recording
from frontdesk.caller.webhook import WebhookError
from frontdesk.config import Settings
from frontdesk.realtime.audio.codec import FRAME_MS
from frontdesk.realtime.speech.base import TextToSpeech

# A call that has not ended after this long is abandoned and counted as failed.
CALL_TIMEOUT_SECONDS: Final = 180.0


class PrerenderedSpeech:
    """A TextToSpeech that says the lines rendered beforehand, so no call pays for rendering."""

    def __init__(self, audio: dict[str, bytes]) -> None:
        self._audio = audio

    async def warm(self) -> None:
        """Nothing to load."""

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """The line's audio in one chunk (KeyError for a line never rendered)."""
        yield self._audio[text]


async def prerender(tts: TextToSpeech) -> PrerenderedSpeech:
    """Render every line of the bench script once."""
    return PrerenderedSpeech(await render_lines(tts, caller_steps()))


@dataclass
class CallRun:
    """One bench call as the caller saw it."""

    result: CallResult | None = None
    recording: Recording | None = None
    error: str | None = None
    barge_in_ms: float | None = None  # caller speech onset -> the agent's audio cut off


@dataclass
class LoadRun:
    """Every call of a load, and the most that were on the line at once."""

    calls: list[CallRun] = field(default_factory=list)
    concurrency_reached: int = 0


def barge_in_ms(result: CallResult, recording: Recording) -> float | None:
    """How long the agent kept talking after the caller began the barge-in line: from its first
    speech frame to the first tick with no agent audio. None when the agent's audio was not cleared."""
    turn = next((turn for turn in result.turns if turn.kind == "barge_in"), None)
    utterances = utterances_in(recording.caller)
    if turn is None or not turn.cleared or len(utterances) <= NAME:
        return None
    onset = utterances[NAME].first_frame
    for tick in range(onset, len(recording.agent)):
        if recording.agent[tick] == SILENT_FRAME:
            return float((tick - onset) * FRAME_MS)
    return None


class _Arrivals:
    """Spaces call starts at least `spacing` seconds apart, as calls ring in one after another."""

    def __init__(self, spacing: float) -> None:
        self._spacing = spacing
        self._lock = asyncio.Lock()
        self._next = 0.0

    async def wait_turn(self) -> None:
        async with self._lock:
            now = asyncio.get_running_loop().time()
            if self._next > now:
                await asyncio.sleep(self._next - now)
            self._next = max(now, self._next) + self._spacing


async def run_load(
    settings: Settings,
    options: CallOptions,
    speech: PrerenderedSpeech,
    calls: int,
    concurrency: int,
    arrival_spacing: float,
    on_call_done: Callable[[CallRun], None] = lambda run: None,
) -> LoadRun:
    """Place `calls` calls, at most `concurrency` at once and starting at least `arrival_spacing`
    seconds apart; each failure is recorded, never raised."""
    load = LoadRun()
    gate = asyncio.Semaphore(concurrency)
    arrivals = _Arrivals(arrival_spacing)
    in_flight = 0

    async def one() -> None:
        nonlocal in_flight
        async with gate:
            await arrivals.wait_turn()
            in_flight += 1
            load.concurrency_reached = max(load.concurrency_reached, in_flight)
            run = CallRun()
            try:
                async with asyncio.timeout(CALL_TIMEOUT_SECONDS):
                    run.result, run.recording = await run_call(settings, options, speech)
                run.barge_in_ms = barge_in_ms(run.result, run.recording)
            except (TimeoutError, WebhookError, WebSocketException, OSError) as exc:
                run.error = f"{type(exc).__name__}: {exc}"
            finally:
                in_flight -= 1
            load.calls.append(run)
            on_call_done(run)

    await asyncio.gather(*(one() for _ in range(calls)))
    return load
