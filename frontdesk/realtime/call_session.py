"""The turn loop of one phone call: audio in, the conversation engine, audio out.

Caller audio goes to the speech-to-text session; a committed end of speech (the STT's
speech_final, held a little longer when the words sound unfinished) ends the caller's turn.
The engine's reply streams clause by clause into text-to-speech, and each clause's audio goes
to the transport followed by a mark; the marks that come back say what the caller heard.

Barge-in: caller speech while the agent is talking clears the carrier's buffer, cancels the
reply (its pending tool calls are dropped by the engine) and cuts the agent's message to what
was heard. A backchannel ("yeah", "mm-hm") does not interrupt.

The call's changes (a booking, a transfer) are Updates on its CallWorkflow, a heartbeat signal
tells the workflow the call is still carried here, and the transcript goes to it at hang-up.
Temporal is never on the audio path: only tool calls wait for it.
"""

import asyncio
import contextlib
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from frontdesk.agent.call_state import CallState, Outcome
from frontdesk.agent.engine import Receptionist
from frontdesk.agent.opening import open_call
from frontdesk.agent.prompt import build_system_prompt
from frontdesk.agent.tools import TransferReason
from frontdesk.domain.call_clock import CallClockError, call_clock
from frontdesk.domain.calls import TurnRecord, ensure_call
from frontdesk.domain.models import CallDirection, TurnRole
from frontdesk.logs import get_logger
from frontdesk.realtime import metrics
from frontdesk.realtime.audio.codec import FRAME_MS, mulaw_to_pcm16
from frontdesk.realtime.audio.vad import VadConfig, VoiceActivityDetector
from frontdesk.realtime.call_services import CallServices, UnknownNumber
from frontdesk.realtime.speech.base import STTSession, TranscriptEvent, TranscriptKind
from frontdesk.realtime.telephony.protocol import (
    APPOINTMENT_PARAMETER,
    CAMPAIGN_KIND_PARAMETER,
    CLINIC_PARAMETER,
    CLOCK_OFFSET_PARAMETER,
    PURPOSE_PARAMETER,
)
from frontdesk.realtime.transport import (
    AudioReceived,
    CallStarted,
    CallStopped,
    DigitPressed,
    MarkReached,
    Transport,
)
from frontdesk.realtime.turn.clauses import ClauseStream, clauses_of
from frontdesk.realtime.turn.listening import (
    LOW_CONFIDENCE,
    REPROMPT,
    UNFINISHED_EXTRA_MS,
    is_backchannel,
    sounds_unfinished,
)
from frontdesk.realtime.workflow_actions import open_call_actions

log = get_logger(__name__)

IDLE_PROMPT = "Are you still there?"
IDLE_GOODBYE = "I'll let you go for now. Please call us back any time. Goodbye!"
# Caller speech during agent audio longer than this interrupts, even before any words are known.
BARGE_IN_SPEECH_MS = 500
BARGE_IN_WINDOW_MS = 800
DTMF_HUMAN_REQUEST = "I'd like to talk to a person, please."
ARRIVALS_KEPT = 3000  # a minute of 20 ms frames: longer than any utterance
# Well inside the workflow's 15 s liveness timeout, so two lost beats do not drop a live call.
HEARTBEAT_SECONDS = 5.0


@dataclass
class _Speech:
    """An agent utterance on its way out: its clauses and the marks that end each one."""

    turn: TurnRecord
    clauses: list[str] = field(default_factory=list)
    clause_marks: dict[str, int] = field(default_factory=dict)  # the last mark of each clause
    marks_out: set[str] = field(default_factory=set)
    heard_clauses: int = 0
    cleared: bool = False

    def heard_text(self) -> str:
        return " ".join(self.clauses[: self.heard_clauses])


class CallSession:
    """One call from the stream's start to its end."""

    def __init__(self, transport: Transport, services: CallServices) -> None:
        self.transport = transport
        self.services = services
        self.turns: list[TurnRecord] = []
        self._speech: _Speech | None = None  # what the agent is saying now
        self._reply: asyncio.Task[None] | None = None
        self._mark_ids = 0
        self._all_played = asyncio.Event()
        self._all_played.set()
        self._caller_text: list[str] = []  # committed words of the caller's current turn
        self._turn_end: asyncio.TimerHandle | None = None
        self._speech_end_at: float | None = None  # monotonic time the caller stopped speaking
        self._arrivals: deque[float] = deque(maxlen=ARRIVALS_KEPT)  # arrival time of each caller frame
        self._frames_in = 0
        self._last_activity = time.monotonic()
        self._idle_prompts = 0
        self._caller_speaking = False
        self._barge_vad: VoiceActivityDetector
        self._barge_window: deque[bool] = deque(maxlen=BARGE_IN_WINDOW_MS // FRAME_MS)
        self._interrupting: asyncio.Task[None] | None = None
        self._ending = False
        self._stopped = asyncio.Event()

    # -- the call's life -------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the call until the caller hangs up or the agent ends it."""
        events = self.transport.events()
        start = await _first_start(events)
        if start is None:
            metrics.CALLS.labels(end="no_start").inc()
            return
        self.start = start
        await self._open(start)
        stt = await self.services.stt_for(self.profile).start()
        tasks = [
            asyncio.create_task(self._pump_transport(events, stt), name="transport-in"),
            asyncio.create_task(self._pump_transcripts(stt), name="transcripts"),
            asyncio.create_task(self._watch_clock(), name="call-clock"),
            asyncio.create_task(self._heartbeat(), name="heartbeat"),
        ]
        # An outbound greeting names the patient: streamed, never kept in the process's phrase cache.
        cached = self.state.direction == "inbound"
        tasks.append(
            asyncio.create_task(self._say(self.greeting, greeting=True, cached=cached), name="greeting")
        )
        stopped = asyncio.create_task(self._stopped.wait())
        try:
            # The call ends when it is stopped, or when any of its tasks fails (never silently).
            pending = {stopped, *tasks}
            while not stopped.done():
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task is not stopped and not task.cancelled() and task.exception() is not None:
                        log.error("call task failed", task=task.get_name(), error=repr(task.exception()))
                        self._stopped.set()
        finally:
            stopped.cancel()
            for task in tasks:
                task.cancel()
            await self._cancel_reply()
            await stt.close()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._close()

    async def _open(self, start: CallStarted) -> None:
        services = self.services
        # The clinic is the one that owns the dialled number; a stream naming another is refused.
        self.clinic_id = await services.clinic_for_number(start.called)
        named = start.parameters.get(CLINIC_PARAMETER)
        if named is not None and named != str(self.clinic_id):
            raise UnknownNumber("the stream names a clinic that does not own the dialled number")
        self.profile = await services.profile(self.clinic_id)
        await services.prepare(self.profile)  # at once when start-up prepared this clinic already
        direction = CallDirection(start.direction)
        self.call_id = await asyncio.to_thread(
            ensure_call,
            services.engine,
            self.clinic_id,
            call_sid=start.call_sid,
            direction=direction,
            from_number=start.caller,
            to_number=start.called,
        )
        self.state = _call_state(start, direction)
        offset = _clock_offset(start, services.settings.call_clock_override)
        self.now = call_clock(offset)
        self.actions = await open_call_actions(services, self.profile, start.call_sid, self.call_id, offset)
        self.greeting = await open_call(self.profile, self.actions, self.state)
        prompt = build_system_prompt(self.profile, self.state, self.now())
        self.engine = Receptionist(
            self.profile, self.actions, self.state, services.brains(self.now), prompt, now=self.now
        )
        self.engine.greet(self.greeting)  # both brains know what the greeting asked
        # A stricter detector than the STT's: only clear speech over the agent's audio interrupts.
        barge_config = VadConfig(threshold=0.6, min_speech_ms=100, end_silence_ms=300)
        self._barge_vad = await asyncio.to_thread(VoiceActivityDetector, barge_config)
        self._deadline = time.monotonic() + self.profile.max_call_seconds
        log.info("call started", call_sid=start.call_sid, clinic_id=str(self.clinic_id))

    async def _close(self) -> None:
        outcome = self.state.outcome.value if self.state.outcome else None
        patient = self.state.patient.id if self.state.patient else None
        await self.actions.hang_up(self.turns, outcome, patient)
        metrics.CALLS.labels(end=outcome or "hung_up").inc()
        log.info("call ended", call_sid=self.start.call_sid, outcome=outcome, turns=len(self.turns))

    # -- inbound -------------------------------------------------------------------------------

    async def _pump_transport(self, events: AsyncIterator[Any], stt: STTSession) -> None:
        async for event in events:
            match event:
                case AudioReceived(mulaw=mulaw):
                    pcm = mulaw_to_pcm16(mulaw)
                    self._arrivals.append(time.monotonic())
                    self._frames_in += 1
                    await stt.send(pcm)
                    if self._agent_speaking():
                        self._watch_for_barge_in(pcm)
                case MarkReached(name=name):
                    self._mark_reached(name)
                case DigitPressed(digit="0"):
                    self._caller_turn_done(DTMF_HUMAN_REQUEST, shown="(pressed 0)")
                case DigitPressed():
                    pass  # other keys carry no meaning in this menu-less call
                case CallStopped():
                    break
        self._stopped.set()

    async def _pump_transcripts(self, stt: STTSession) -> None:
        async for event in stt.events():
            self._last_activity = time.monotonic()
            self._on_transcript(event)

    def _on_transcript(self, event: TranscriptEvent) -> None:
        if event.kind == TranscriptKind.SPEECH_STARTED:
            self._caller_speaking = True
            self._cancel_turn_end()
            return
        if event.kind in (TranscriptKind.SPEECH_FINAL, TranscriptKind.UTTERANCE_END):
            self._caller_speaking = False
        if event.kind == TranscriptKind.INTERIM:
            if self._agent_speaking() and event.text.strip() and not is_backchannel(event.text):
                self._barge_in("interim words")
            return
        if event.is_final and event.text.strip():
            if event.confidence < LOW_CONFIDENCE and not self._caller_text:
                metrics.REPROMPTS.inc()
                self._record(TurnRole.caller, event.text, {"confidence": round(event.confidence, 2)})
                self._start_reply(None, REPROMPT)
                return
            self._caller_text.append(event.text.strip())
            self._speech_end_at = self._audio_clock(event.end)
        if event.kind in (TranscriptKind.SPEECH_FINAL, TranscriptKind.UTTERANCE_END) and self._caller_text:
            text = " ".join(self._caller_text)
            if self._agent_speaking() and is_backchannel(text):
                metrics.BACKCHANNELS.inc()
                self._caller_text.clear()
                return
            # Hold the turn open a little when the caller stopped mid-thought.
            delay = UNFINISHED_EXTRA_MS / 1000 if sounds_unfinished(text) else 0.0
            self._cancel_turn_end()
            self._turn_end = asyncio.get_running_loop().call_later(delay, self._end_caller_turn)

    def _end_caller_turn(self) -> None:
        self._turn_end = None
        text = " ".join(self._caller_text)
        self._caller_text.clear()
        if text:
            self._caller_turn_done(text)

    def _cancel_turn_end(self) -> None:
        if self._turn_end is not None:
            self._turn_end.cancel()
            self._turn_end = None

    def _caller_turn_done(self, text: str, shown: str | None = None) -> None:
        if self._ending:
            return
        if self._agent_speaking():
            self._barge_in("caller turn")
        self._idle_prompts = 0
        self._last_activity = time.monotonic()
        stt_final_at = time.monotonic()
        speech_end = self._speech_end_at or stt_final_at
        self._speech_end_at = None
        self._record(TurnRole.caller, shown or text, {})
        timings = {"stt_final": _ms(stt_final_at - speech_end)}
        self._start_reply(text, None, speech_end, timings)

    def _audio_clock(self, offset_s: float) -> float:
        """When the frame holding an offset of the STT session's audio arrived (monotonic time).

        Arrival times, not the offset itself: a carrier's frames drift from real time, and the
        latency that matters is from when the caller's last word reached us."""
        frame = int(offset_s * 1000 / FRAME_MS)
        index = frame - (self._frames_in - len(self._arrivals))
        if 0 <= index < len(self._arrivals):
            return self._arrivals[index]
        return time.monotonic()

    # -- barge-in --------------------------------------------------------------------------

    def _agent_speaking(self) -> bool:
        return self._speech is not None and not self._speech.cleared and not self._all_played.is_set()

    def _watch_for_barge_in(self, pcm: bytes) -> None:
        # Speech frames (not the detector's hang-over) in a recent window: a short "yeah" stays
        # under the bar, a real interruption passes it within about half a second.
        result = self._barge_vad.process_frame(pcm)
        self._barge_window.append(result.probability >= self._barge_vad.config.threshold)
        if sum(self._barge_window) * FRAME_MS >= BARGE_IN_SPEECH_MS:
            self._barge_in("sustained speech")

    def _barge_in(self, why: str) -> None:
        speech = self._speech
        if speech is None or speech.cleared:
            return
        speech.cleared = True
        metrics.BARGE_INS.inc()
        log.info("barge-in", why=why, heard_clauses=speech.heard_clauses, clauses=len(speech.clauses))
        self._barge_window.clear()
        self._interrupting = asyncio.get_running_loop().create_task(self._interrupt(speech))

    async def _interrupt(self, speech: _Speech) -> None:
        """Flush the carrier, stop the reply, then cut the agent's message to what was heard."""
        await self.transport.clear()
        await self._cancel_reply()
        self._finish_speech(speech)

    def _finish_speech(self, speech: _Speech) -> None:
        heard = speech.heard_text()
        speech.turn.heard_text = heard
        if speech.cleared and speech.turn.text and not speech.turn.timings.get("greeting"):
            self.engine.heard(heard)
        self._all_played.set()

    def _mark_reached(self, name: str) -> None:
        speech = self._speech
        if speech is None or name not in speech.marks_out:
            return
        speech.marks_out.discard(name)
        if speech.cleared:
            return  # marks echoed by a clear were never played
        if name in speech.clause_marks:
            speech.heard_clauses = max(speech.heard_clauses, speech.clause_marks[name] + 1)
        if not speech.marks_out and (self._reply is None or self._reply.done()):
            self._finish_speech(speech)
            self._last_activity = time.monotonic()

    # -- outbound --------------------------------------------------------------------------

    def _start_reply(
        self,
        caller_text: str | None,
        fixed: str | None,
        speech_end: float | None = None,
        timings: dict[str, float] | None = None,
        cached: bool = True,
    ) -> None:
        self._reply = asyncio.get_running_loop().create_task(
            self._reply_to(caller_text, fixed, speech_end or time.monotonic(), timings or {}, cached),
            name="reply",
        )

    async def _cancel_reply(self) -> None:
        if self._reply is not None and not self._reply.done():
            self._reply.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reply

    async def _say(self, text: str, greeting: bool = False, cached: bool = True) -> None:
        """Speak fixed words (greeting, prompts) and wait until they were played; `cached` words
        come from the process's phrase cache, others stream from text-to-speech."""
        self._start_reply(None, text, time.monotonic(), {"greeting": 1.0} if greeting else {}, cached)
        await self._reply_done()

    async def _reply_done(self) -> None:
        if self._reply is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reply
        await self._all_played.wait()

    async def _reply_to(
        self,
        caller_text: str | None,
        fixed: str | None,
        speech_end: float,
        timings: dict[str, float],
        cached: bool,
    ) -> None:
        if self._interrupting is not None:
            await self._interrupting  # the interrupted message is cut before the engine hears more
        turn = self._record(TurnRole.agent, "", timings)
        speech = _Speech(turn=turn)
        self._speech = speech
        self._all_played.clear()
        clauses: asyncio.Queue[str | None] = asyncio.Queue()

        async def write() -> None:
            if fixed is not None:
                for clause in clauses_of(fixed):
                    clauses.put_nowait(clause)
            else:
                assert caller_text is not None
                splitter = ClauseStream()
                async with contextlib.aclosing(self.engine.respond(caller_text)) as stream:
                    async for delta in stream:
                        timings.setdefault("llm_first_token", _ms(time.monotonic() - speech_end))
                        for clause in splitter.feed(delta):
                            timings.setdefault("first_sentence", _ms(time.monotonic() - speech_end))
                            clauses.put_nowait(clause)
                for clause in splitter.flush():
                    timings.setdefault("first_sentence", _ms(time.monotonic() - speech_end))
                    clauses.put_nowait(clause)
            clauses.put_nowait(None)

        async def speak() -> None:
            while (clause := await clauses.get()) is not None:
                speech.clauses.append(clause)
                turn.text = " ".join(speech.clauses)
                mark = None
                async for chunk in self._audio_of(clause, prerendered=fixed is not None and cached):
                    timings.setdefault("tts_first_audio", _ms(time.monotonic() - speech_end))
                    mark = self._next_mark()
                    speech.marks_out.add(mark)
                    await self.transport.play(chunk, mark)
                    timings.setdefault("first_frame_sent", _ms(time.monotonic() - speech_end))
                if mark is not None:
                    speech.clause_marks[mark] = len(speech.clauses) - 1

        try:
            await asyncio.gather(write(), speak())
        finally:
            # Exact Update round trips of this reply's tools, beside its stages (for the benchmark).
            timings.update(self.actions.take_update_timings())
            if not timings.get("greeting") and "first_frame_sent" in timings:
                metrics.observe_turn(timings)
            if not speech.marks_out and not speech.cleared:
                self._finish_speech(speech)
        if self.state.ended and not self._ending:
            asyncio.get_running_loop().create_task(self._leave())

    async def _audio_of(self, clause: str, prerendered: bool) -> AsyncIterator[bytes]:
        """A clause's audio: fixed phrases come from the process's cache, replies stream from TTS."""
        if prerendered:
            for chunk in await self.services.phrase_audio(self.profile, clause):
                yield chunk
            return
        async with contextlib.aclosing(self.services.tts_for(self.profile).synthesize(clause)) as audio:
            async for chunk in audio:
                yield chunk

    def _next_mark(self) -> str:
        self._mark_ids += 1
        return f"m{self._mark_ids}"

    def _record(self, role: TurnRole, text: str, timings: dict[str, float]) -> TurnRecord:
        turn = TurnRecord(role=role, text=text, timings=timings)
        self.turns.append(turn)
        return turn

    # -- leaving ---------------------------------------------------------------------------

    async def _leave(self) -> None:
        """After the agent's last words have played: transfer or hang up."""
        self._ending = True
        await self._all_played.wait()
        if self.actions.transfer_number is not None:
            await self.transport.transfer(self.actions.transfer_number)
        else:
            await self.transport.hangup()
        self._stopped.set()

    async def _watch_clock(self) -> None:
        """Silence prompts and the clinic's maximum call duration."""
        while not self._ending:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            if now >= self._deadline:
                await self._reached_time_limit()
                return
            busy = (
                self._agent_speaking()
                or self._caller_speaking
                or self._caller_text
                or (self._reply is not None and not self._reply.done())
            )
            if busy or now - self._last_activity < self.services.settings.call_idle_seconds:
                continue
            self._idle_prompts += 1
            self._last_activity = now
            if self._idle_prompts == 1:
                self._start_reply(None, IDLE_PROMPT)
            else:
                self._ending = True
                self.state.ended = True
                await self._say(IDLE_GOODBYE)
                self.state.record_outcome(Outcome.dropped)  # the caller went silent
                await self.actions.end_call((self.state.outcome or Outcome.dropped).value)
                await self.transport.hangup()
                self._stopped.set()
                return

    async def _heartbeat(self) -> None:
        """Keep the call's workflow from closing it as dropped while this process carries it."""
        while True:
            await self.actions.heartbeat()
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def _reached_time_limit(self) -> None:
        """Offer a human (open) or a callback (closed), then end the call."""
        await self._cancel_reply()
        self._ending = True
        reason = TransferReason.caller_request
        number = self.profile.escalation.transfer_number
        if number and self.profile.is_open(self.now()):
            await self._say(
                "We've reached the time limit for this call, so let me connect you with our team."
            )
            await self.actions.transfer(reason, number)
            self.state.transfer_reason = reason
            self.state.record_outcome(Outcome.transferred)
        else:
            await self._say(
                "We've reached the time limit for this call. Someone from our team will call you back."
            )
            await self.actions.take_message(
                "Call reached its time limit; please call the patient back.", self.state.caller_number
            )
            self.state.record_outcome(Outcome.message_taken)
        self.state.ended = True
        await self._leave()


def _call_state(start: CallStarted, direction: CallDirection) -> CallState:
    """The call's state from the stream's start: an outbound call carries why it was placed (a
    malformed appointment id is dropped: the call goes on without one)."""
    if direction is CallDirection.inbound:
        return CallState(caller_number=start.caller)
    appointment = start.parameters.get(APPOINTMENT_PARAMETER)
    try:
        appointment_id = uuid.UUID(appointment) if appointment else None
    except ValueError:
        log.warning("outbound call with a malformed appointment id", call_sid=start.call_sid)
        appointment_id = None
    return CallState(
        caller_number=start.caller,
        direction="outbound",
        purpose=start.parameters.get(PURPOSE_PARAMETER) or None,
        appointment_id=appointment_id,
        campaign_kind=start.parameters.get(CAMPAIGN_KIND_PARAMETER) or None,
    )


async def _first_start(events: AsyncIterator[Any]) -> CallStarted | None:
    async for event in events:
        if isinstance(event, CallStarted):
            return event
        if isinstance(event, CallStopped):
            return None
    return None


def _clock_offset(start: CallStarted, allowed: bool) -> float:
    """The call's clock offset the webhook put on the stream (0 when none); a stack that does not
    allow calls at another moment refuses the stream rather than run it at the wrong time."""
    value = start.parameters.get(CLOCK_OFFSET_PARAMETER)
    if value is None:
        return 0.0
    if not allowed:
        raise CallClockError("the stream asks for a call clock, and call_clock_override is off")
    try:
        return float(value)
    except ValueError:
        raise CallClockError("the stream's clock_offset is not a number of seconds") from None


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


async def run_call(transport: Transport, app_state: Any) -> None:
    """Serve one call on a transport with the process's shared services (created on first use)."""
    services = await CallServices.for_app(app_state)
    await CallSession(transport, services).run()
