"""The agent's speech: one handle per thing the agent says, owning all of it.

A handle owns its text (a reply the engine writes, or fixed words) cut into clauses, each
clause's synthesis, the playout of its audio through the transport with a mark after each chunk,
and the marks that come back, which say what the caller heard. It is the only thing an
interruption cancels: `interrupt()` flushes the carrier, cancels and awaits generation and
synthesis (the engine drops the tool calls of the message it was writing), and cuts the turn's
record, and the engine's memory of the reply, at the last clause the caller heard in full.

`pause()` only stops the sound (the carrier flushed, nothing more sent; generation and synthesis
go on), for speech over the agent that may yet be a cough or a "yeah"; `resume()` plays it again
from the first clause the caller did not hear in full, or `interrupt()` ends it after all.

The shape follows LiveKit Agents' SpeechHandle; the code is ours.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Final

from frontdesk.agent.acknowledgements import Acknowledgement, is_ready_phrase
from frontdesk.domain.calls import TurnRecord
from frontdesk.realtime.audio.codec import TELEPHONY_SAMPLE_RATE
from frontdesk.realtime.transport import Transport
from frontdesk.realtime.turn.clauses import ClauseStream, clauses_of
from frontdesk.realtime.turn.voice import CallVoice

# The last stretch of the agent's speech in which a short "yes" answers rather than acknowledges.
NEAR_END_S: Final = 1.0

Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]


@dataclass(frozen=True)
class SpeechPosition:
    """Where the agent is in what it says, as the caller hears it."""

    remaining_s: float  # audio sent but not yet played, about
    writing: bool  # more words may still come (generation or synthesis not finished)
    after_question: bool  # the last clause the caller heard in full asked a question

    @property
    def open_for_answer(self) -> bool:
        """Whether a short "yes" now answers the agent: after a question, or in the speech's last
        second. Anywhere else it is a listener's backchannel."""
        return self.after_question or (not self.writing and self.remaining_s <= NEAR_END_S)


def milliseconds(seconds: float) -> float:
    """A stage timing as turn records keep it."""
    return round(seconds * 1000, 1)


class Marks:
    """The call's mark names, and which speech each belongs to, so an echo reaches its owner."""

    def __init__(self) -> None:
        self._issued = 0
        self._owners: dict[str, AgentSpeech] = {}

    def issue(self, owner: "AgentSpeech") -> str:
        """A fresh mark name for a chunk of `owner`'s audio."""
        self._issued += 1
        name = f"m{self._issued}"
        self._owners[name] = owner
        return name

    def reached(self, name: str) -> None:
        """The carrier played (or cleared) everything before mark `name`."""
        owner = self._owners.pop(name, None)
        if owner is not None:
            owner.mark_reached(name)


class AgentSpeech:
    """One utterance of the agent, from its first word to its last mark (see the module docstring)."""

    def __init__(
        self,
        *,
        turn: TurnRecord,
        text: str | AsyncIterator[str],
        voice: CallVoice,
        transport: Transport,
        marks: Marks,
        began: float,
        cached: bool = False,
        on_heard: Callable[[str], None] | None = None,
        on_done: Callable[["AgentSpeech"], None] | None = None,
        on_said: Callable[[str], None] | None = None,
        release: asyncio.Event | None = None,
    ) -> None:
        """`text`: fixed words, or the engine's reply streamed as text deltas. `began`: the
        monotonic time the turn's timings count from (the caller's end of speech). `cached`: fixed
        words from the phrase cache. `on_heard(text)`: told what was heard when interrupted.
        `on_done(self)`: told when everything was played. `on_said(text)`: told
        the words so far each time a clause's audio starts going out. `release`: each chunk is sent only
        while this is set (a reply held before it is heard: generated and synthesized ahead)."""
        self.turn = turn
        self.clauses: list[str] = []
        self._text = text
        self._voice = voice
        self._transport = transport
        self._marks = marks
        self._began = began
        self._cached = cached
        self._on_heard = on_heard
        self._on_done = on_done
        self._on_said = on_said
        self._release = release
        self._out: dict[str, float] = {}  # seconds of audio before each mark not yet echoed
        self._clause_ends: dict[str, int] = {}  # the last mark of each clause -> its index
        self._echoed: set[str] = set()  # marks the carrier played through
        self._progress_at: float | None = None  # when the carrier last made audible progress
        self._written = False
        self._played = asyncio.Event()
        self._interrupted = False
        self._task: asyncio.Task[None] | None = None
        self._sent: list[list[bytes]] = []  # each clause's audio sent so far, for a resume
        self._last_marks: dict[int, str] = {}  # each clause's latest mark
        self._complete = 0  # clauses whose audio is all sent
        self._playing = asyncio.Event()  # cleared while paused
        self._playing.set()
        self.paused_at: float | None = None  # when it was paused, while it is
        self._resume_from = 0  # while paused: the first clause not heard in full

    @property
    def timings(self) -> dict[str, float]:
        """The turn's stage timings (ms after `began`)."""
        return self.turn.timings

    @property
    def finished(self) -> bool:
        """Whether it is over: played in full, or interrupted."""
        return self._played.is_set()

    @property
    def audible(self) -> bool:
        """Whether the caller may be hearing it now: audio went out, is not all played, and it is
        not paused."""
        return not self.finished and not self.paused and self._progress_at is not None

    @property
    def paused(self) -> bool:
        """Whether it is paused (see `pause`)."""
        return self.paused_at is not None

    @property
    def sent_audio(self) -> bool:
        """Whether any of its audio went to the carrier."""
        return self._progress_at is not None

    @property
    def interrupted(self) -> bool:
        """Whether it was cut short."""
        return self._interrupted

    def start(self, spawn: Spawn) -> None:
        """Begin generating, synthesizing and playing, in a task made by `spawn` (the call's task
        group, so a failure here ends the call loudly)."""
        self._task = spawn(self._run())

    async def played(self) -> None:
        """Wait until it is over."""
        await self._played.wait()

    @property
    def heard_clauses(self) -> int:
        """How many clauses the caller heard in full (up to the last whose final mark came back)."""
        return max((self._clause_ends[m] + 1 for m in self._echoed if m in self._clause_ends), default=0)

    def heard_text(self) -> str:
        """The clauses the caller heard in full."""
        return " ".join(self.clauses[: self.heard_clauses])

    def position(self, now: float | None = None) -> SpeechPosition:
        """Where the caller is in it now."""
        now = time.monotonic() if now is None else now
        outstanding = sum(self._out.values())
        since = now - self._progress_at if self._progress_at is not None else 0.0
        heard = self.clauses[: self.heard_clauses]
        return SpeechPosition(
            remaining_s=max(0.0, outstanding - since),
            writing=not self._written,
            after_question=bool(heard) and heard[-1].rstrip().endswith("?"),
        )

    async def interrupt(self) -> None:
        """Stop it now: flush the carrier, cancel and await generation and synthesis, and cut the
        record at what was heard. Nothing once it is over."""
        if self.finished:
            return
        self._interrupted = True
        self.paused_at = None  # over: nothing to resume
        if self._out:
            await self._transport.clear()
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])
        heard = self.heard_text()
        self.turn.heard_text = heard
        self._played.set()
        if self._on_heard is not None:
            self._on_heard(heard)

    async def pause(self) -> bool:
        """Stop the sound now, keeping everything else: False (nothing done) unless it is audible."""
        if not self.audible:
            return False
        self.paused_at, self._resume_from = time.monotonic(), self.heard_clauses
        self._playing.clear()
        self._out.clear()  # the clear echoes these marks: that audio was not played
        await self._transport.clear()
        return True

    async def resume(self) -> None:
        """Play on from the first clause the caller did not hear in full (sent again), then the
        rest as it comes. Nothing unless paused."""
        if not self.paused or self.finished:
            return
        self.paused_at = None
        for index in range(self._resume_from, len(self._sent)):
            for chunk in self._sent[index]:
                await self._send(index, chunk)
            if index < self._complete:
                self._clause_ends[self._last_marks[index]] = index
        self._playing.set()
        self._settle()

    def mark_reached(self, name: str) -> None:
        """The carrier echoed one of this speech's marks."""
        seconds = self._out.pop(name, None)
        if seconds is None or self._interrupted:
            return  # an echo of a clear: that audio was never played
        self._progress_at = time.monotonic()
        self._echoed.add(name)  # the clause it ends may be known only once its synthesis ends
        self._settle()

    async def _run(self) -> None:
        clauses: asyncio.Queue[tuple[str, bool] | None] = asyncio.Queue()  # (clause, cached)
        async with asyncio.TaskGroup() as group:
            group.create_task(self._write(clauses))
            group.create_task(self._speak(clauses))
        self._written = True
        self._settle()

    def _settle(self) -> None:
        """Over once every clause is out and every mark came back (and it is not paused)."""
        if self._written and not self._out and not self.finished and not self.paused:
            self.turn.heard_text = self.heard_text()
            self._played.set()
            if self._on_done is not None:
                self._on_done(self)

    def _since_began(self) -> float:
        return milliseconds(time.monotonic() - self._began)

    async def _write(self, clauses: asyncio.Queue[tuple[str, bool] | None]) -> None:
        if isinstance(self._text, str):
            for clause in clauses_of(self._text):
                clauses.put_nowait((clause, self._cached))
        else:
            splitter = ClauseStream()

            def put(clause: str, cached: bool = False) -> None:
                self.timings.setdefault("first_sentence", self._since_began())
                # An opener the model wrote ("Okay.") is as ready as an acknowledgement.
                clauses.put_nowait((clause, cached or is_ready_phrase(clause)))

            async with contextlib.aclosing(self._text) as deltas:
                async for delta in deltas:
                    self.timings.setdefault("llm_first_token", self._since_began())
                    if isinstance(delta, Acknowledgement):
                        # A fixed phrase, a clause of its own, from the phrase cache.
                        for clause in splitter.flush():
                            put(clause)
                        put(delta.strip(), cached=True)
                        continue
                    for clause in splitter.feed(delta):
                        put(clause)
            for clause in splitter.flush():
                put(clause)
        clauses.put_nowait(None)

    async def _speak(self, clauses: asyncio.Queue[tuple[str, bool] | None]) -> None:
        while (item := await clauses.get()) is not None:
            clause, cached = item
            index = len(self.clauses)
            self.clauses.append(clause)
            self._sent.append([])
            self.turn.text = " ".join(self.clauses)
            async with contextlib.aclosing(self._voice.audio_of(clause, cached)) as audio:
                async for chunk in audio:
                    self.timings.setdefault("tts_first_audio", self._since_began())
                    if self._release is not None:
                        await self._release.wait()
                    await self._playing.wait()
                    self._sent[index].append(chunk)
                    await self._send(index, chunk)
                    self.timings.setdefault("first_frame_sent", self._since_began())
                    if self._on_said is not None and len(self._sent[index]) == 1:
                        self._on_said(" ".join(self.clauses[: index + 1]))
            self._complete = index + 1
            if index in self._last_marks:
                self._clause_ends[self._last_marks[index]] = index

    async def _send(self, index: int, chunk: bytes) -> None:
        """One chunk of clause `index` to the carrier, with a mark after it."""
        mark = self._last_marks[index] = self._marks.issue(self)
        if not self._out:
            self._progress_at = time.monotonic()  # an idle carrier starts playing now
        self._out[mark] = len(chunk) / TELEPHONY_SAMPLE_RATE  # one mu-law byte a sample
        await self._transport.play(chunk, mark)
