"""One phone call in the media process: set it up, run its parts, close it.

Set-up reads the typed CallStarted the transport hands over (the clinic must own the dialled
number), opens the call's row, its actions (through its CallWorkflow, or the database alone when
Temporal does not answer) and its engine. Then the call's parts run in one `asyncio.TaskGroup`,
so a part that fails ends the call loudly, never silently:

- the frame path: each caller frame is analysed once (energy gate, one Silero pass), sent to
  speech-to-text, heard by the end-of-turn rule, and checked for sustained speech over the
  agent's audio; marks go to the speech that sent them;
- the end-of-turn judgements: when the caller pauses the turn loop hears of it (it may start a
  reply on the words so far) and a streaming STT is asked to finalize, so the words up to the
  pause arrive without waiting for its own end of speech; a little later the turn model runs in a
  worker thread, one task per judgement (the Whisper twin, which transcribes to finalize, is asked
  then); when the rule says the caller finished, the decision goes to the turn loop;
- the transcripts, posted to the turn loop;
- the turn loop (realtime/turn/loop.py), the one owner of what the agent says;
- the watchdogs' tick.

The call is over when the stream stops or the agent has left; the transcript then goes to the
call's workflow (or the database). Temporal is never on the audio path: only tool calls wait for it.

While tracing is on (frontdesk.tracing) the call is one span, `media.call`, continuing the trace
the voice webhook began: Twilio's stream carries its traceparent, which the webhook put in the
TwiML. So the call's turns, their CallWorkflow Updates and its hang-up join the trace of the
webhook, the CallWorkflow and its post-call work, whichever media process carries the call and
whether or not Temporal answered. A call with no traceparent (a browser's) starts a trace.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from opentelemetry.trace import SpanKind

from frontdesk.agent.call_state import CallState
from frontdesk.agent.engine import Receptionist
from frontdesk.agent.opening import open_call
from frontdesk.agent.prompt import build_system_prompt
from frontdesk.domain.call_clock import CallClockError, call_clock
from frontdesk.domain.calls import ensure_call
from frontdesk.domain.models import CallDirection
from frontdesk.log_redaction import known_names
from frontdesk.logs import get_logger
from frontdesk.realtime import metrics
from frontdesk.realtime.audio.analysis import FrameAnalyzer
from frontdesk.realtime.call_actions import open_call_actions
from frontdesk.realtime.call_services import CallServices, UnknownNumber
from frontdesk.realtime.speech.base import STTSession
from frontdesk.realtime.transport import (
    AudioReceived,
    CallStarted,
    CallStopped,
    DigitPressed,
    MarkReached,
    ShowsTranscript,
    Transport,
    TransportEvent,
)
from frontdesk.realtime.turn.barge_in import SustainedSpeech
from frontdesk.realtime.turn.caller_turn import ArrivalClock
from frontdesk.realtime.turn.end_of_turn import (
    END_OF_TURN_POLICIES,
    AnalyzeTurn,
    CallerPaused,
    EndOfTurnRule,
    TurnEnded,
)
from frontdesk.realtime.turn.loop import BargeIn, TurnLoop
from frontdesk.realtime.turn.voice import CallVoice
from frontdesk.realtime.turn.watchdogs import tick
from frontdesk.tracing import CLINIC_ID, call_attributes, span_in

log = get_logger(__name__)


class _CallOver(Exception):
    """A part of the call saw it end (the stream stopped, or the agent left): stop the rest."""


class CallSession:
    """One call from the stream's start to its end."""

    def __init__(self, transport: Transport, services: CallServices) -> None:
        self.transport = transport
        self.services = services

    async def run(self) -> None:
        """Serve the call until the caller hangs up or the agent ends it."""
        events = aiter(self.transport.events())
        start = await _first_start(events)
        if start is None:
            metrics.CALLS.labels(end="no_start").inc()
            return
        with span_in(
            "media.call", start.trace_parent, SpanKind.SERVER, call_attributes(start.call_sid)
        ) as self.span:
            await self._serve(start, events)

    async def _serve(self, start: CallStarted, events: AsyncIterator[TransportEvent]) -> None:
        await self._open(start)
        stt = await self.services.stt_for(self.profile).start()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._frames(events, stt, group), name="frames")
                group.create_task(self._transcripts(stt), name="transcripts")
                group.create_task(tick(self.loop.post), name="watchdogs")
                group.create_task(self._turns(group), name="turn-loop")
        except* _CallOver:
            pass
        except* Exception as failed:
            log.error(
                "call part failed",
                call_sid=start.call_sid,
                errors=[type(error).__name__ for error in failed.exceptions],
            )
            raise
        finally:
            await stt.close()
            await self.engine.settle()
            await self._close()

    async def _open(self, start: CallStarted) -> None:
        services, transport = self.services, self.transport
        self.start = start
        # The clinic is the one that owns the dialled number; a stream naming another is refused.
        self.clinic_id = await services.clinic_for_number(start.called)
        if start.clinic_id is not None and start.clinic_id != self.clinic_id:
            raise UnknownNumber("the stream names a clinic that does not own the dialled number")
        if start.clock_offset_seconds is not None and not services.settings.call_clock_override:
            raise CallClockError("the stream asks for a call clock, and call_clock_override is off")
        offset = start.clock_offset_seconds or 0.0
        self.profile = await services.profile(self.clinic_id)
        await services.prepare(self.profile)  # at once when start-up prepared this clinic already
        call_id = await asyncio.to_thread(
            ensure_call,
            services.engine,
            self.clinic_id,
            call_sid=start.call_sid,
            direction=start.direction,
            from_number=start.caller,
            to_number=start.called,
        )
        self.state = CallState(
            caller_number=start.caller,
            # The agent knows two directions: a browser's call (web) is someone calling the clinic.
            direction="outbound" if start.direction is CallDirection.outbound else "inbound",
            purpose=start.purpose,
            appointment_id=start.appointment_id,
            campaign_kind=start.campaign_kind,
        )
        now = call_clock(offset)
        self.actions = await open_call_actions(services, self.profile, start.call_sid, call_id, offset)
        self.greeting = await open_call(self.profile, self.actions, self.state)
        self.engine = engine = Receptionist(
            self.profile,
            self.actions,
            self.state,
            services.brains(now),
            build_system_prompt(self.profile, self.state, now()),
            now=now,
        )
        engine.greet(self.greeting)  # both brains know what the greeting asked
        self.clock = ArrivalClock()
        policy = END_OF_TURN_POLICIES[self.profile.end_of_turn_profile]
        model = services.turn_model
        self.end_of_turn = EndOfTurnRule(policy, model) if model is not None else None
        self.loop = TurnLoop(
            transport=transport,
            engine=engine,
            actions=self.actions,
            state=self.state,
            profile=self.profile,
            voice=CallVoice(
                services.tts_for(self.profile), lambda text: services.phrase_audio(self.profile, text)
            ),
            clock=self.clock,
            idle_seconds=services.settings.call_idle_seconds,
            end_of_turn=policy if model is not None else None,
            transcript=transport.show_transcript if isinstance(transport, ShowsTranscript) else None,
        )
        # Creating a Silero instance takes ~60 ms: keep it off the event loop other calls share.
        self.analyzer = await asyncio.to_thread(FrameAnalyzer)
        self.span.set_attributes(
            {CLINIC_ID: str(self.clinic_id), "frontdesk.call.direction": start.direction.value}
        )
        log.info("call started", call_sid=start.call_sid, clinic_id=str(self.clinic_id))

    async def _turns(self, group: asyncio.TaskGroup) -> None:
        # An outbound greeting names the patient: streamed, never kept in the process's phrase cache.
        await self.loop.run(
            group.create_task, self.greeting, cached_greeting=self.state.direction == "inbound"
        )
        raise _CallOver("the agent left the call")

    async def _frames(
        self, events: AsyncIterator[TransportEvent], stt: STTSession, group: asyncio.TaskGroup
    ) -> None:
        """The frame path: one analysis per caller frame, shared by STT, the end-of-turn rule and
        barge-in."""
        sustained = SustainedSpeech()
        async for event in events:
            match event:
                case AudioReceived(mulaw=mulaw):
                    frame = self.analyzer.analyze(mulaw)
                    self.clock.arrived(time.monotonic())
                    await stt.send(frame)
                    if self.end_of_turn is not None:
                        match self.end_of_turn.process(frame):
                            case CallerPaused() as paused:
                                self.loop.post(paused)
                                # The words up to the pause, committed now, where that is cheap: a
                                # reply on them is ahead by the time the model has judged.
                                if stt.finalize_is_cheap:
                                    await stt.finalize()
                            case AnalyzeTurn() as question:
                                group.create_task(self._judge(question), name="end-of-turn-judgement")
                                # A recognizer that transcribes anew to commit is asked once the
                                # pause is long enough to judge: fewer, whole utterances.
                                if not stt.finalize_is_cheap:
                                    await stt.finalize()
                            case TurnEnded() as ended:
                                self.loop.post(ended)
                    if not self.loop.agent_audible:
                        sustained.reset()
                    elif sustained.feed(frame):
                        self.loop.post(BargeIn("sustained speech"))
                case MarkReached(name=name):
                    self.loop.marks.reached(name)
                case DigitPressed():
                    self.loop.post(event)
                case CallStopped():
                    break
        raise _CallOver("the stream stopped")

    async def _judge(self, question: AnalyzeTurn) -> None:
        """Run the turn model on a worker thread; a finished turn goes to the loop."""
        assert self.end_of_turn is not None
        try:
            probability = await asyncio.to_thread(question.run)
        except Exception as error:  # the rule's long silence still ends the turn: the call goes on
            log.error("end-of-turn judgement failed", error_type=type(error).__name__)
            return
        ended = self.end_of_turn.model_said(question, probability)
        if ended is not None:
            self.loop.post(ended)

    async def _transcripts(self, stt: STTSession) -> None:
        async for event in stt.events():
            self.loop.post(event)

    async def _close(self) -> None:
        outcome = self.state.outcome.value if self.state.outcome else None
        patient = self.state.patient.id if self.state.patient else None
        await self.actions.hang_up(self.loop.turns, outcome, patient)
        metrics.CALLS.labels(end=outcome or "hung_up").inc()
        self.span.set_attributes(
            {"frontdesk.call.outcome": outcome or "hung_up", "frontdesk.call.turns": len(self.loop.turns)}
        )
        log.info("call ended", call_sid=self.start.call_sid, outcome=outcome, turns=len(self.loop.turns))


async def _first_start(events: AsyncIterator[TransportEvent]) -> CallStarted | None:
    async for event in events:
        if isinstance(event, CallStarted):
            return event
        if isinstance(event, CallStopped):
            return None
    return None


async def run_call(transport: Transport, app_state: Any) -> None:
    """Serve one call on a transport with the process's shared services (created on first use)."""
    services = await CallServices.for_app(app_state)
    # The names the call learns are redacted from the lines of its parts, tasks and threads.
    with known_names():
        await CallSession(transport, services).run()
