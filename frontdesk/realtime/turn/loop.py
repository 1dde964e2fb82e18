"""The turn loop: the one owner of what the agent says.

Everything that can make the agent speak or stop arrives here as an input, in order, on one
queue: transcript events, the end-of-turn rule's decisions, the caller's finished turns, DTMF,
sustained speech over the agent's audio (from the frame path), a speech played to its end, and
the watchdogs' ticks. One task takes them one at a time and alone holds the current speech;
starting a new one first interrupts the old one and waits until it is cancelled and cut at what
the caller heard. So a final transcript, DTMF and interim words all interrupt through the same
path (sustained speech pauses first: see Barge-in below), and no other task ever replaces the
current speech.

Preemptive generation: a guess of the caller's turn (their words so far, when they pause or the
end-of-turn rule decides before the STT committed the words; caller_turn.py) starts a reply at
once, held: generated and synthesized, but no audio sent and no tool run. The real turn keeps it
when its words are the same (normalized) and releases it; otherwise, or when the caller goes on
speaking, it is discarded and the engine rewound to before it, and the real turn is answered
afresh.

Barge-in: sustained speech over the agent's audio pauses it (the sound stops; nothing else does).
Words that interrupt then end it, cut at what was heard; with no words (a cough, a noise) or
only a backchannel, it resumes from the first clause the caller did not hear in full.

Unheard replies: a reply stays undoable while none of its audio went out and none of its tools
ran. If the caller starts speaking again in that time (a turn ended at a comma: "Yes, |
speaking."), its audio and tools are held; when the caller's next words come, the reply is
undone and both turns are answered as one. Held with no words coming (a cough), it goes out once
the caller is quiet and nothing is pending, or after `MAX_HOLD_S` whatever happens.
"""

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Final

from frontdesk.agent.call_actions import CallActions
from frontdesk.agent.call_state import CallState
from frontdesk.agent.clinic_profile import ClinicProfile
from frontdesk.agent.engine import Checkpoint, Receptionist
from frontdesk.agent.tools import TransferReason
from frontdesk.domain.calls import TurnRecord
from frontdesk.domain.models import TurnRole
from frontdesk.domain.outcomes import Outcome
from frontdesk.logs import get_logger
from frontdesk.realtime import metrics
from frontdesk.realtime.speech.base import TranscriptEvent, TranscriptKind
from frontdesk.realtime.transport import DigitPressed, TranscriptLine, Transport
from frontdesk.realtime.turn.barge_in import RESUME_MAX_S, RESUME_QUIET_S, words_interrupt
from frontdesk.realtime.turn.caller_turn import ArrivalClock, CallerTurn, CallerTurns, GuessWithdrawn
from frontdesk.realtime.turn.end_of_turn import CallerPaused, EndOfTurnPolicy, TurnEnded
from frontdesk.realtime.turn.listening import REPROMPT, is_backchannel
from frontdesk.realtime.turn.speech import AgentSpeech, Marks, Spawn, SpeechPosition, milliseconds
from frontdesk.realtime.turn.traces import SpeechEnd, SpeechSpans
from frontdesk.realtime.turn.voice import CallVoice
from frontdesk.realtime.turn.watchdogs import Alarm, CallWatchdogs, Tick

log = get_logger(__name__)

IDLE_PROMPT: Final = "Are you still there?"
IDLE_GOODBYE: Final = "I'll let you go for now. Please call us back any time. Goodbye!"
DTMF_HUMAN_REQUEST: Final = "I'd like to talk to a person, please."
TIME_LIMIT_TRANSFER: Final = (
    "We've reached the time limit for this call, so let me connect you with our team."
)
TIME_LIMIT_CALLBACK: Final = (
    "We've reached the time limit for this call. Someone from our team will call you back."
)
TIME_LIMIT_MESSAGE: Final = "Call reached its time limit; please call the patient back."
# The longest an unheard reply is held while the caller goes on: a bound for a speaking flag
# that never clears (a vendor that sends no end of speech), not a wait anyone should reach.
MAX_HOLD_S: Final = 10.0


@dataclass(frozen=True)
class BargeIn:
    """The caller's voice over the agent's audio was enough to pause it (no words known yet)."""

    why: str


@dataclass(frozen=True)
class SpeechDone:
    """A speech was played to its end."""

    speech: AgentSpeech


@dataclass(frozen=True)
class _Speculation:
    """A reply started on a guess of the caller's turn, held until the real turn confirms it."""

    words: str  # the guess, normalized
    speech: AgentSpeech
    release: asyncio.Event  # set: its audio goes out and its tools may run
    checkpoint: Checkpoint  # the engine before it


@dataclass
class _Unheard:
    """The reply to the caller's latest turn, while it may still be undone (module docstring)."""

    caller: TurnRecord  # the caller's turn it answers
    text: str  # the caller's words
    speech: AgentSpeech
    release: asyncio.Event  # cleared: its audio and tools are held
    checkpoint: Checkpoint  # the engine before the caller's turn
    held_at: float | None = None  # when the caller went on


def same_words(a: str, b: str) -> bool:
    """Whether two transcripts say the same words (case, punctuation and spacing aside)."""
    return _normalized(a) == _normalized(b)


def _normalized(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


LoopInput = (
    TranscriptEvent
    | TurnEnded
    | CallerPaused
    | GuessWithdrawn
    | CallerTurn
    | DigitPressed
    | BargeIn
    | SpeechDone
    | Tick
)


class TurnLoop:
    """One call's turn-taking (see the module docstring)."""

    def __init__(
        self,
        *,
        transport: Transport,
        engine: Receptionist,
        actions: CallActions,
        state: CallState,
        profile: ClinicProfile,
        voice: CallVoice,
        clock: ArrivalClock,
        idle_seconds: float,
        end_of_turn: EndOfTurnPolicy | None = None,
        transcript: Callable[[TranscriptLine], None] | None = None,
    ) -> None:
        """`end_of_turn`: the timing of the end-of-turn rule whose decisions the call session
        posts here; None when the STT's end of speech ends the caller's turns. `transcript`: told
        each line of the live transcript (see `TranscriptLine`), when the transport shows one."""
        self.turns: list[TurnRecord] = []
        self.marks = Marks()
        self._transport = transport
        self._engine = engine
        self._actions = actions
        self._state = state
        self._profile = profile
        self._voice = voice
        self._transcript = transcript
        self._inbox: asyncio.Queue[LoopInput] = asyncio.Queue()
        self._caller = CallerTurns(clock, self.post, end_of_turn)
        self._watchdogs = CallWatchdogs(idle_seconds, profile.max_call_seconds)
        self._current: AgentSpeech | None = None
        self._spans = SpeechSpans()
        self._speculation: _Speculation | None = None  # a held reply on a guess, if any
        self._unheard: _Unheard | None = None  # the latest reply, while it may be undone
        self._onset: SpeechPosition | None = None  # where the agent was when the caller began
        self._spawn: Spawn | None = None
        self._ending = False  # the agent is saying its last words: caller input changes nothing
        self._left = False

    # -- what other tasks may do: post an input, ask whether the agent is heard --------------

    def post(self, item: LoopInput) -> None:
        """Queue an input for the loop (from any task of the call)."""
        self._inbox.put_nowait(item)

    @property
    def current(self) -> AgentSpeech | None:
        """What the agent is saying (or about to say) now, if anything."""
        return self._current

    @property
    def holding(self) -> bool:
        """Whether the latest reply is held, unheard, while the caller goes on."""
        return self._unheard is not None and self._unheard.held_at is not None

    @property
    def caller_words(self) -> str:
        """The caller's words so far in the turn in progress (committed, then interim)."""
        return self._caller.words_so_far

    @property
    def caller_pending(self) -> bool:
        """Whether the caller's words or an end-of-turn decision wait for the turn to end."""
        return self._caller.pending

    @property
    def agent_audible(self) -> bool:
        """Whether the caller may be hearing the agent now."""
        return self._current is not None and self._current.audible

    # -- the loop ------------------------------------------------------------------------------

    async def run(self, spawn: Spawn, greeting: str, cached_greeting: bool) -> None:
        """Greet, then take inputs until the agent has left the call (hung up or transferred).

        `spawn` starts each speech's task in the call's task group."""
        self._spawn = spawn
        try:
            self._speak(greeting, cached=cached_greeting, timings={"greeting": 1.0})
            while not self._left:
                await self._take(await self._inbox.get())
        finally:
            self._caller.close()
            current = self._current
            if current is not None and not current.finished:
                # The call ended under it (the caller hung up): its task ends with the call's.
                current.turn.heard_text = current.heard_text()
                self._finish(current)
            self._spans.close_all(SpeechEnd.call_ended)

    async def _take(self, item: LoopInput) -> None:
        match item:
            case TranscriptEvent():
                await self._on_transcript(item)
            case TurnEnded():
                self._caller.on_end_of_turn(item)
            case CallerPaused():
                self._caller.on_pause(item)
            case GuessWithdrawn():
                await self._discard()
                self._release_unheard(time.monotonic())
            case CallerTurn():
                await self._on_caller_turn(item)
            case DigitPressed(digit="0"):
                now = time.monotonic()
                await self._on_caller_turn(CallerTurn(DTMF_HUMAN_REQUEST, now, now, shown="(pressed 0)"))
            case DigitPressed():
                pass  # other keys carry no meaning in this menu-less call
            case BargeIn(why=why):
                await self._pause(why)
            case SpeechDone(speech=speech):
                await self._on_speech_done(speech)
            case Tick():
                await self._on_tick()

    # -- the caller ----------------------------------------------------------------------------

    async def _on_transcript(self, event: TranscriptEvent) -> None:
        self._watchdogs.activity()
        if event.kind is TranscriptKind.SPEECH_STARTED:
            await self._discard()  # the caller goes on: a guess of their turn is stale
            self._hold_unheard()
        current = self._current
        if event.kind is TranscriptKind.SPEECH_STARTED and current is not None and current.audible:
            self._onset = current.position()
        if event.kind is TranscriptKind.INTERIM:
            if self._agent_heard and event.text.strip() and not is_backchannel(event.text):
                await self._interrupt("interim words")
        self._caller.on_transcript(event)
        # Only for a transport that shows a transcript: a phone call's loop skips the joining.
        if self._transcript is not None and event.text and (words := self._caller.words_so_far):
            self._show(TurnRole.caller, words, final=False)
        self._release_unheard(time.monotonic())
        await self._resume_if_false(time.monotonic())

    async def _on_caller_turn(self, turn: CallerTurn) -> None:
        if turn.guess:
            await self._on_guess(turn)
            return
        speculation = self._speculation
        if speculation is not None and same_words(speculation.words, turn.text) and not self._ending:
            self._keep(speculation, turn)
            return
        guessed = speculation is not None  # and wrong: the reply below starts afresh
        await self._discard()
        if self._ending:
            self._show(TurnRole.caller, "", final=True)  # too late to be answered
            return
        if turn.shown is None and not turn.unclear and (earlier := await self._undo_unheard()) is not None:
            turn = replace(turn, text=f"{earlier} {turn.text}")
            metrics.TURNS_JOINED.inc()
        onset, self._onset = self._onset, None
        current = self._current
        if current is not None and self._agent_heard:
            if not words_interrupt(turn.text, onset or current.position()):
                metrics.BACKCHANNELS.inc()
                self._show(TurnRole.caller, "", final=True)
                await self._resume("a backchannel")
                return
        self._watchdogs.caller_spoke()
        if turn.unclear:
            metrics.REPROMPTS.inc()
            self._record(TurnRole.caller, turn.text, {"confidence": turn.confidence or 0.0})
        else:
            caller = self._record(TurnRole.caller, turn.shown or turn.text, {})
        await self._interrupt("caller turn")
        if turn.unclear:
            self._speak(REPROMPT)  # too unsure to answer: ask again
        else:
            self._reply(turn, caller, guessed)

    # -- the agent -----------------------------------------------------------------------------

    def _reply(self, turn: CallerTurn, caller: TurnRecord, guessed: bool) -> None:
        """Answer a caller turn (`guessed`: a reply started on a guess of it was wrong)."""
        checkpoint = self._engine.checkpoint() if self._engine.idle else None
        release = asyncio.Event()
        release.set()
        speech = self._start(
            self._engine.respond(turn.text, gate=release),
            turn.speech_end,
            {**_turn_timings(turn), **({"preemptive_kept": 0.0} if guessed else {})},
            on_heard=self._engine.heard,
            release=release,
        )
        if checkpoint is not None:
            self._unheard = _Unheard(caller, turn.text, speech, release, checkpoint)

    # -- unheard replies -------------------------------------------------------------------------

    def _undoable(self, unheard: _Unheard) -> bool:
        speech = unheard.speech
        return not speech.sent_audio and not speech.finished and self._engine.can_rewind(unheard.checkpoint)

    def _hold_unheard(self) -> None:
        """The caller started speaking: hold the latest reply if it is still undoable."""
        unheard = self._unheard
        if unheard is None or unheard.held_at is not None:
            return
        if self._undoable(unheard):
            unheard.release.clear()
            unheard.held_at = time.monotonic()
        else:
            self._unheard = None

    async def _undo_unheard(self) -> str | None:
        """Undo the latest reply if nothing of it was heard or done: the caller's words it
        answered, to be answered again with what they say now."""
        unheard, self._unheard = self._unheard, None
        if unheard is None:
            return None
        if not self._undoable(unheard):
            unheard.release.set()
            return None
        await self._take_back(unheard.speech, unheard.checkpoint)
        self.turns.remove(unheard.caller)
        return unheard.text

    def _release_unheard(self, now: float) -> None:
        """A held reply goes out once the caller is quiet and nothing is pending (no words came:
        a cough, a noise), or after MAX_HOLD_S."""
        unheard = self._unheard
        if unheard is None or unheard.held_at is None:
            return
        quiet = not self._caller.speaking and not self.caller_pending
        if quiet or now - unheard.held_at >= MAX_HOLD_S:
            unheard.release.set()
            unheard.held_at = None

    # -- preemptive generation -------------------------------------------------------------------

    async def _on_guess(self, guess: CallerTurn) -> None:
        """Start a held reply on the caller's words so far, unless one runs on the same words, the
        agent is speaking (the real turn then decides, backchannel or not), or an interrupted
        reply's tools still run (the engine could not be rewound)."""
        if self._ending:
            return
        speculation = self._speculation
        if speculation is not None:
            if same_words(speculation.words, guess.text):
                return
            await self._discard()
        if (self._current is not None and not self._current.finished) or not self._engine.idle:
            return
        checkpoint = self._engine.checkpoint()
        release = asyncio.Event()
        speech = self._start(
            self._engine.respond(guess.text, gate=release),
            guess.speech_end,
            {},
            on_heard=self._engine.heard,
            release=release,
        )
        self._speculation = _Speculation(_normalized(guess.text), speech, release, checkpoint)

    def _keep(self, speculation: _Speculation, turn: CallerTurn) -> None:
        """The real turn says what the guess said: record it before the reply and let it out (the
        engine keeps the guess's spelling of the same words)."""
        self._speculation = None
        self._onset = None
        self._watchdogs.caller_spoke()
        caller = TurnRecord(role=TurnRole.caller, text=turn.shown or turn.text, timings={})
        self.turns.insert(self.turns.index(speculation.speech.turn), caller)
        self._show(TurnRole.caller, caller.text, final=True)
        speech = speculation.speech
        speech.timings.update({**_turn_timings(turn), "preemptive_kept": 1.0})
        metrics.PREEMPTIVE.labels(result="kept").inc()
        speculation.release.set()
        self._unheard = _Unheard(caller, turn.text, speech, speculation.release, speculation.checkpoint)

    async def _discard(self) -> None:
        """Drop the held reply, if any: stop it, rewind the engine, forget its record."""
        speculation, self._speculation = self._speculation, None
        if speculation is None:
            return
        await self._take_back(speculation.speech, speculation.checkpoint)
        metrics.PREEMPTIVE.labels(result="discarded").inc()

    async def _take_back(self, speech: AgentSpeech, checkpoint: Checkpoint) -> None:
        """Undo a reply nobody heard: stop it (never audible: nothing to clear at the carrier),
        rewind the engine to before it, forget its record."""
        await speech.interrupt()
        self._spans.close(speech, SpeechEnd.discarded)
        self._engine.rewind(checkpoint)
        self.turns.remove(speech.turn)
        if self._current is speech:
            self._current = None

    def _speak(self, text: str, cached: bool = True, timings: dict[str, float] | None = None) -> AgentSpeech:
        """Say fixed words (greeting, prompts): from the phrase cache when `cached`."""
        return self._start(text, time.monotonic(), timings or {}, cached=cached)

    def _start(
        self,
        text: str | AsyncIterator[str],
        began: float,
        timings: dict[str, float],
        cached: bool = False,
        on_heard: Callable[[str], None] | None = None,
        release: asyncio.Event | None = None,
    ) -> AgentSpeech:
        assert self._spawn is not None and (self._current is None or self._current.finished)
        speech = AgentSpeech(
            turn=self._record(TurnRole.agent, "", timings),
            text=text,
            voice=self._voice,
            transport=self._transport,
            marks=self.marks,
            began=began,
            cached=cached,
            on_heard=on_heard,
            on_done=lambda done: self.post(SpeechDone(done)),
            on_said=None if self._transcript is None else self._said,
            release=release,
        )
        self._current = speech
        with self._spans.around(speech, began, reply=not isinstance(text, str)):
            speech.start(self._spawn)
        return speech

    async def _interrupt(self, why: str) -> None:
        """Stop the current speech, if any, and wait until it is cut at what was heard."""
        await self._discard()
        current = self._current
        if current is None or current.finished:
            return
        if current.audible or current.paused:
            metrics.BARGE_INS.inc()
            log.info("barge-in", why=why, heard_clauses=current.heard_clauses, clauses=len(current.clauses))
        await current.interrupt()
        self._finish(current)

    @property
    def _agent_heard(self) -> bool:
        """Whether the caller is hearing the agent, or would be but for speech over it (paused)."""
        return self._current is not None and (self._current.audible or self._current.paused)

    async def _pause(self, why: str) -> None:
        """Speech over the agent: stop its sound until words say whether it was an interruption."""
        current = self._current
        if current is not None and await current.pause():
            log.info("agent paused", why=why, heard_clauses=current.heard_clauses)

    async def _resume(self, why: str) -> None:
        """Play the paused speech on: what paused it was no interruption."""
        current = self._current
        if current is None or not current.paused:
            return
        metrics.FALSE_INTERRUPTIONS.inc()
        log.info("agent resumed", why=why, from_clause=current.heard_clauses)
        await current.resume()

    async def _resume_if_false(self, now: float) -> None:
        """Resume a paused speech when no words came: the caller is quiet again `RESUME_QUIET_S`
        after the pause, or `RESUME_MAX_S` passed with no words at all (a noise the STT never
        called speech or never ended)."""
        current = self._current
        if current is None or current.paused_at is None or self._caller.words_so_far:
            return
        waited = now - current.paused_at
        if (not self._caller.speaking and waited >= RESUME_QUIET_S) or waited >= RESUME_MAX_S:
            await self._resume("no words")

    async def _on_speech_done(self, speech: AgentSpeech) -> None:
        if speech is not self._current:
            # Interrupted and replaced already, or played out and replaced before this came.
            self._spans.close(speech, SpeechEnd.played)
            return
        self._finish(speech)
        self._watchdogs.activity()
        if self._state.ended and not self._ending:
            await self._leave()

    def _finish(self, speech: AgentSpeech) -> None:
        """A speech is over: its tools' Update round trips join its timings (for the benchmark)."""
        timings = speech.timings
        timings.update(self._actions.take_update_timings())
        self._spans.close(speech, SpeechEnd.of(speech))
        if speech.sent_audio:  # its interim lines went out: close them with what was heard
            self._show(TurnRole.agent, speech.turn.heard_text or "", final=True)
        if not timings.get("greeting") and "first_frame_sent" in timings:
            metrics.observe_turn(timings)
        if speech is self._current:
            self._current = None
        if self._unheard is not None and self._unheard.speech is speech:
            self._unheard = None

    async def _say_to_the_end(self, text: str) -> None:
        """Say fixed words as the call ends and wait until they were played."""
        await self._interrupt("the call is ending")
        await self._speak(text).played()
        if self._current is not None:
            self._finish(self._current)

    async def _leave(self) -> None:
        """After the agent's last words have played: transfer or hang up."""
        self._ending = True
        if self._current is not None:
            await self._current.played()
        number = self._actions.transfer_number
        if number is not None:
            await self._transport.transfer(number)
        else:
            await self._transport.hangup()
        self._left = True

    # -- the watchdogs -------------------------------------------------------------------------

    async def _on_tick(self) -> None:
        if self._ending:
            return
        self._release_unheard(time.monotonic())
        await self._resume_if_false(time.monotonic())
        busy = (
            (self._current is not None and not self._current.finished)
            or self._caller.speaking
            or self.caller_pending
        )
        match self._watchdogs.check(busy):
            case Alarm.idle_prompt:
                self._speak(IDLE_PROMPT)
            case Alarm.idle_goodbye:
                self._ending = True
                self._state.ended = True
                await self._say_to_the_end(IDLE_GOODBYE)
                self._state.record_outcome(Outcome.dropped)  # the caller went silent
                await self._actions.end_call((self._state.outcome or Outcome.dropped).value)
                await self._transport.hangup()
                self._left = True
            case Alarm.time_limit:
                await self._reached_time_limit()

    async def _reached_time_limit(self) -> None:
        """Offer a human (open) or a callback (closed), then end the call."""
        self._ending = True
        number = self._profile.escalation.transfer_number
        if number and self._profile.is_open(self._engine.now()):
            await self._say_to_the_end(TIME_LIMIT_TRANSFER)
            reason = TransferReason.caller_request
            await self._actions.transfer(reason, number)
            self._state.transfer_reason = reason
            self._state.record_outcome(Outcome.transferred)
        else:
            await self._say_to_the_end(TIME_LIMIT_CALLBACK)
            await self._actions.take_message(TIME_LIMIT_MESSAGE, self._state.caller_number)
            self._state.record_outcome(Outcome.message_taken)
        self._state.ended = True
        await self._leave()

    def _record(self, role: TurnRole, text: str, timings: dict[str, float]) -> TurnRecord:
        turn = TurnRecord(role=role, text=text, timings=timings)
        self.turns.append(turn)
        if role is TurnRole.caller:  # an agent turn is shown as its audio goes out
            self._show(role, text, final=True)
        return turn

    def _said(self, words: str) -> None:
        """The agent's words so far, as their audio starts going out (a line still in progress)."""
        self._show(TurnRole.agent, words, final=False)

    def _show(self, role: TurnRole, text: str, final: bool) -> None:
        if self._transcript is not None:
            self._transcript(TranscriptLine(role, text, final))


def _turn_timings(turn: CallerTurn) -> dict[str, float]:
    """How the caller's turn was ended, in ms after their end of speech: the end-of-turn decision
    and the model's judgement (when the rule decided), the words, and the turn as a whole."""
    timings = {"stt_final": milliseconds((turn.words_at or turn.ready_at) - turn.speech_end)}
    if turn.decided_at is not None:
        timings["end_of_turn"] = milliseconds(turn.decided_at - turn.speech_end)
    if turn.end_of_turn is not None and turn.end_of_turn.probability is not None:
        timings["end_of_turn_probability"] = round(turn.end_of_turn.probability, 3)
    timings["turn_ready"] = milliseconds(turn.ready_at - turn.speech_end)
    return timings
