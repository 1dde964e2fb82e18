"""One scripted phone call into a running stack: webhook, media stream, the script's steps, hang-up.

The caller cannot know the agent's words from its audio (the server stores the transcript); it
reports what it can measure: for each step, the time from the end of the caller's line to the
first agent audio frame received, how much agent audio played, and whether the agent's audio was
cleared (a barge-in the server honoured).
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from frontdesk.caller.media_client import TICK_SECONDS, MediaStreamClient, Recording, noise_frames
from frontdesk.caller.script import BargeIn, Dtmf, Hangup, Say, Silence, Step
from frontdesk.caller.webhook import CallPlaced, place_call, report_status
from frontdesk.config import Settings
from frontdesk.realtime.speech.base import TextToSpeech

# The agent's reply is over once no agent audio has played for this long after it began: longer
# than the silence after an acknowledgement ("Let me check.") while the tool round and the next
# message run (1-1.7 s with the bench's seed vendors), as a caller who heard it would wait.
REPLY_QUIET_SECONDS: Final = 2.5
# Give up waiting for a reply (or the greeting) to begin after this long.
REPLY_START_TIMEOUT_SECONDS: Final = 15.0
# A reply longer than this is cut short by moving on.
REPLY_MAX_SECONDS: Final = 120.0
# After its last line the caller stays on this long for the agent to end the call, as people do.
HANG_UP_GRACE_SECONDS: Final = 5.0
# How far into the agent's reply a barge-in starts speaking.
BARGE_IN_AFTER_SECONDS: Final = 0.6


@dataclass(frozen=True)
class CallOptions:
    """Where to call and what to say."""

    base_url: str
    to: str
    caller: str
    steps: list[Step]
    noise_db: float | None = None


@dataclass
class TurnResult:
    """What one step did and what came back."""

    kind: str  # greeting, say, barge_in, dtmf, silence
    text: str = ""
    caller_seconds: float = 0.0  # how long the caller spoke
    latency_ms: float | None = None  # end of the caller's line -> first agent audio frame received
    unmeasured: str | None = None  # why a step that expects a reply has no latency
    agent_seconds: float = 0.0  # agent audio played during this step
    cleared: bool = False  # the agent's audio was cleared during this step (barge-in honoured)


@dataclass
class CallResult:
    """The whole call, as the caller measured it."""

    call_sid: str
    to: str
    outcome: str = "completed"  # completed, agent_ended, not_in_service, protocol_error
    said_by_carrier: list[str] = field(default_factory=list)  # <Say> of a refused call
    turns: list[TurnResult] = field(default_factory=list)
    marks_echoed: int = 0
    clears: int = 0
    seconds: float = 0.0


class _Turns:
    """Measures steps on one media client."""

    def __init__(self, client: MediaStreamClient) -> None:
        self.client = client

    async def ticks(self, count: int) -> None:
        target = self.client.ticks + count
        await self.client.wait_until(lambda: self.client.ticks >= target)

    async def reply_start(self, since_tick: int) -> bool:
        """Wait for agent audio to play after `since_tick`; False if none within the timeout."""
        client = self.client
        try:
            async with asyncio.timeout(REPLY_START_TIMEOUT_SECONDS):
                await client.wait_until(lambda: (client.last_agent_tick or -1) > since_tick)
        except TimeoutError:
            return False
        return not client.closed.is_set()

    async def reply_end(self) -> None:
        """Wait until no agent audio has played for REPLY_QUIET_SECONDS."""
        client = self.client
        quiet = round(REPLY_QUIET_SECONDS / TICK_SECONDS)
        try:
            async with asyncio.timeout(REPLY_MAX_SECONDS):
                await client.wait_until(lambda: client.ticks - (client.last_agent_tick or 0) >= quiet)
        except TimeoutError:
            pass  # a very long reply: move on, as a caller would

    async def measure(
        self, turn: TurnResult, caller_part: Awaitable[float], wait_for_end: bool
    ) -> TurnResult:
        """Await the caller's part of a step (it returns when it ended), then the agent's reply."""
        client = self.client
        played, clears = client.agent_frames_played, client.clears
        ended_at = await caller_part
        if await self.reply_start(client.tick_at(ended_at)):
            first = client.first_agent_audio_after(ended_at)
            if first is None:
                # What played after the line had all arrived before it ended: the agent was
                # already answering while the caller spoke.
                turn.unmeasured = "the agent's audio had all arrived before the caller's line ended"
            else:
                turn.latency_ms = round((first - ended_at) * 1000, 1)
            if wait_for_end:
                await self.reply_end()
        elif client.closed.is_set():
            turn.unmeasured = "the call ended before any reply"
        else:
            turn.unmeasured = f"no agent audio within {REPLY_START_TIMEOUT_SECONDS:.0f} s of the line's end"
        turn.agent_seconds = round((client.agent_frames_played - played) * TICK_SECONDS, 2)
        turn.cleared = client.clears > clears
        return turn


async def _at(moment: float) -> float:
    """A caller part that is already over (the greeting's: the call's start)."""
    return moment


async def _render(tts: TextToSpeech, text: str) -> bytes:
    return b"".join([chunk async for chunk in tts.synthesize(text)])


async def run_call(
    settings: Settings, options: CallOptions, tts: TextToSpeech
) -> tuple[CallResult, Recording]:
    """Place the call, play the script, hang up; the result and both sides' audio."""
    speech = await render_lines(tts, options.steps)
    placed = await place_call(settings, options.base_url, options.to, options.caller)
    result = CallResult(placed.call_sid, options.to, said_by_carrier=placed.said)
    if placed.stream_url is None:
        result.outcome = "not_in_service"
        return result, Recording()
    await report_status(settings, options.base_url, placed.call_sid, options.to, "in-progress")
    noise = noise_frames(options.noise_db) if options.noise_db is not None else None
    recording = await converse(settings, placed, options.steps, speech, result, noise)
    await report_status(settings, options.base_url, placed.call_sid, options.to, "completed")
    return result, recording


async def render_lines(tts: TextToSpeech, steps: list[Step]) -> dict[str, bytes]:
    """Each spoken line's audio, rendered up front so rendering is not counted as caller latency."""
    lines = {step.text for step in steps if isinstance(step, Say | BargeIn)}
    return {text: await _render(tts, text) for text in lines}


async def converse(
    settings: Settings,
    placed: CallPlaced,
    steps: list[Step],
    speech: dict[str, bytes],
    result: CallResult,
    noise: Callable[[], np.ndarray] | None = None,
) -> Recording:
    """Open the call's media stream, play `steps` against the agent, hang up; fills `result`."""
    assert placed.stream_url is not None
    client = await MediaStreamClient.open(
        settings, placed.stream_url, placed.call_sid, placed.parameters, noise
    )
    turns = _Turns(client)
    try:
        result.turns.append(
            await turns.measure(TurnResult("greeting"), _at(client.started_at), wait_for_end=True)
        )
        for index, step in enumerate(steps):
            if client.closed.is_set() or isinstance(step, Hangup):
                break
            barge_in_next = index + 1 < len(steps) and isinstance(steps[index + 1], BargeIn)
            result.turns.append(await _step(turns, step, speech, wait_for_end=not barge_in_next))
        else:  # out of lines without an explicit hang-up: give the agent its chance to end the call
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(HANG_UP_GRACE_SECONDS):
                    await client.closed.wait()
    finally:
        ended_by_agent = client.closed.is_set()
        await client.hangup(placed.call_sid)
    result.outcome = "protocol_error" if client.error else ("agent_ended" if ended_by_agent else "completed")
    result.marks_echoed, result.clears = len(client.marks_echoed), client.clears
    result.seconds = round(client.ticks * TICK_SECONDS, 2)
    return client.recording


async def _step(turns: _Turns, step: Step, speech: dict[str, bytes], wait_for_end: bool) -> TurnResult:
    client = turns.client
    if isinstance(step, Say):
        audio = speech[step.text]
        turn = TurnResult("say", step.text, caller_seconds=len(audio) / 8000)
        return await turns.measure(turn, client.say(audio), wait_for_end)
    if isinstance(step, BargeIn):
        audio = speech[step.text]
        if client.agent_playing():
            await turns.ticks(round(BARGE_IN_AFTER_SECONDS / TICK_SECONDS))
        turn = TurnResult("barge_in", step.text, caller_seconds=len(audio) / 8000)
        return await turns.measure(turn, client.say(audio), wait_for_end)
    if isinstance(step, Dtmf):
        return await turns.measure(TurnResult("dtmf", step.digit), client.press(step.digit), wait_for_end)
    assert isinstance(step, Silence)
    played = client.agent_frames_played
    await turns.ticks(round(step.seconds / TICK_SECONDS))
    return TurnResult("silence", agent_seconds=round((client.agent_frames_played - played) * TICK_SECONDS, 2))
