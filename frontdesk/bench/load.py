"""The load: whole bench calls through the stack's webhook and media socket, at most `concurrency`
at once, each played by the simulated caller (`frontdesk.caller`) with lines rendered once.

A call is placed step by step (webhook, status, conversation, status) rather than with
`run_call`, so a stack too busy to answer its last webhook still leaves the call's measures."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from websockets.exceptions import WebSocketException

from frontdesk.bench.script import NAME
from frontdesk.bench.utterances import utterances_in
from frontdesk.caller.conversation import CallOptions, CallResult, converse
from frontdesk.caller.media_client import SILENT_FRAME, Recording
from frontdesk.caller.webhook import WebhookError, place_call, report_status
from frontdesk.config import Settings
from frontdesk.realtime.audio.codec import FRAME_MS

# A call that has not ended after this long is abandoned and counted as failed.
CALL_TIMEOUT_SECONDS: Final = 180.0


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
    speech frame to the tick from which the agent stayed silent until the line's end (a gap in
    the agent's audio that speech fills again is not the cut). None when no clear came."""
    turn = next((turn for turn in result.turns if turn.kind == "barge_in"), None)
    utterances = utterances_in(recording.caller)
    if turn is None or not turn.cleared or len(utterances) <= NAME:
        return None
    line = utterances[NAME]
    heard = [
        tick for tick in range(line.first_frame, line.last_frame + 1) if recording.agent[tick] != SILENT_FRAME
    ]
    if not heard:
        return None  # the agent was not speaking when the caller began
    return float((heard[-1] + 1 - line.first_frame) * FRAME_MS)


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


async def _call(settings: Settings, options: CallOptions, speech: dict[str, bytes], run: CallRun) -> None:
    """One call, step by step, so what happened before a failure stays in `run`."""
    placed = await place_call(settings, options.base_url, options.to, options.caller)
    run.result = CallResult(placed.call_sid, options.to, said_by_carrier=placed.said)
    if placed.stream_url is None:
        run.result.outcome = "not_in_service"
        return
    await report_status(settings, options.base_url, placed.call_sid, options.to, "in-progress")
    run.recording = await converse(settings, placed, options.steps, speech, run.result)
    await report_status(settings, options.base_url, placed.call_sid, options.to, "completed")


async def run_load(
    settings: Settings,
    options: CallOptions,
    speech: dict[str, bytes],
    calls: int,
    concurrency: int,
    arrival_spacing: float,
    on_call_done: Callable[[CallRun], None] = lambda run: None,
) -> LoadRun:
    """Place `calls` calls, at most `concurrency` at once and starting at least `arrival_spacing`
    seconds apart, each saying `speech` (audio by line); each failure is recorded, never raised."""
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
                    await _call(settings, options, speech, run)
            except (TimeoutError, WebhookError, WebSocketException, OSError) as exc:
                run.error = f"{type(exc).__name__}: {exc}"
            finally:
                in_flight -= 1
            if run.result is not None and run.recording is not None:
                run.barge_in_ms = barge_in_ms(run.result, run.recording)
            load.calls.append(run)
            on_call_done(run)

    await asyncio.gather(*(one() for _ in range(calls)))
    return load
