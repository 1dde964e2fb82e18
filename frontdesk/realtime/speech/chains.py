"""Fallback chains: when a speech vendor fails or stalls mid-call, the next provider takes over
within the same turn, so the caller is not left in silence (DESIGN.md section 3, principle 4).

Speech to text: the chain session forwards each analyzed frame to the active provider's session
and keeps the frames since the last committed transcript (at most `buffer_s`). When the active
provider fails (a SpeechProviderError from send, finish or its events, or its events ending
early), or stays silent through `stall_after_s` of caller speech, the next provider's session is
started and the kept frames re-sent to it, so the utterance in progress is transcribed again
rather than lost. Speech is judged by a SpeechSegmenter over the frames' Silero probabilities
(the call's one analysis: no model runs here) and counted in audio time, and the provider must
also have been silent that long on the wall clock: a process behind on its work receives a
backlog of audio at once, which is no sign of a silent vendor (and falling back to the local
recognizer then would only deepen the overload). Event times are shifted onto one timeline (seconds since
the chain session's first audio). The last provider is never abandoned for silence: there is
nothing to fall back to, and a per-utterance recognizer (Whisper) says nothing until the caller
pauses. finalize() goes to the active provider; one that fails there, or fails before it has
committed anything since, is replaced as above, and the provider taking over is asked to
finalize in its turn once it has the replayed audio.

Text to speech: each `synthesize` call's text is one unit, synthesized whole by the active
provider (the turn loop cuts replies into clauses, turn/clauses.py, and hands them over one at a
time). A provider that fails, or sends no first chunk within `first_chunk_timeout`, hands the
whole text to the next one. If it fails after audio of the text went out, that text's audio ends
there: the caller heard part of it already, and saying it again from the start would repeat
words (the turn loop's marks still say how much was heard). Later texts, for
`retry_primary_after_s`, go straight to the provider that took over, so later clauses do not
each wait out a dead vendor first. Only the last provider's failure is raised.
"""

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Final, Protocol

from frontdesk.logs import get_logger
from frontdesk.realtime.audio.analysis import AnalyzedFrame
from frontdesk.realtime.audio.codec import FRAME_MS, FRAME_SAMPLES, TELEPHONY_SAMPLE_RATE
from frontdesk.realtime.audio.vad import SpeechSegmenter, VadConfig
from frontdesk.realtime.speech.base import (
    SpeechProviderError,
    SpeechToText,
    STTSession,
    TextToSpeech,
    TranscriptEvent,
    TranscriptKind,
    TranscriptQueue,
)

STALL_AFTER_S: Final = 2.0
BUFFER_S: Final = 10.0
FIRST_CHUNK_TIMEOUT_S: Final = 1.0
RETRY_PRIMARY_AFTER_S: Final = 30.0

_log = get_logger(__name__)


class _Warmable(Protocol):
    async def warm(self) -> None: ...


def provider_name(provider: object) -> str:
    """How a provider is named in logs and metrics: its class name."""
    return type(provider).__name__


async def warm_all(providers: Sequence[_Warmable], role: str) -> None:
    """Warm every provider at once; one that fails is logged, and only all failing is an error."""
    results = await asyncio.gather(*(provider.warm() for provider in providers), return_exceptions=True)
    failures = 0
    for provider, result in zip(providers, results, strict=True):
        if isinstance(result, SpeechProviderError):
            failures += 1
            _log.warning(
                "speech.warm_failed", role=role, provider=provider_name(provider), reason=str(result)
            )
        elif isinstance(result, BaseException):
            raise result
    if failures == len(providers):
        raise SpeechProviderError(role, "no provider could be warmed")


def _require_providers(providers: Sequence[object]) -> None:
    if not providers:
        raise ValueError("a fallback chain needs at least one provider")


class FallbackSTTSession:
    """One caller's transcription across a chain of providers (see the module docstring)."""

    def __init__(
        self,
        providers: Sequence[SpeechToText],
        index: int,
        session: STTSession,
        segmenter: SpeechSegmenter,
        stall_after_s: float,
        buffer_s: float,
    ) -> None:
        self._providers = providers
        self._index = index
        self._session = session
        self._segmenter = segmenter
        self._stall_samples = round(stall_after_s * TELEPHONY_SAMPLE_RATE)
        # Frames since the last commit (at most `buffer_s` of them); the first starts at `_kept_start`.
        self._kept: deque[AnalyzedFrame] = deque(maxlen=max(round(buffer_s * 1000 / FRAME_MS), 1))
        self._kept_start = 0
        self._origin = 0  # where the active session's time zero sits on the chain's timeline
        self._unanswered_speech = 0  # samples of speech sent since the active provider's last event
        self._stall_after_s = stall_after_s
        self._unanswered_since: float | None = None  # monotonic time of the first of those samples
        self._events = TranscriptQueue()
        self._finishing = False
        self._closed = False
        # A finalize() the active provider has not answered with a commit yet: a provider taking
        # over is asked again, else the words would wait for its own end of speech.
        self._finalize_due = False
        self._failure: SpeechProviderError | None = None
        self._switch_lock = asyncio.Lock()
        self._pump = self._start_pump()

    @property
    def active_provider(self) -> str:
        """The name of the provider now transcribing."""
        return provider_name(self._providers[self._index])

    @property
    def active_index(self) -> int:
        """The position in the chain of the provider now transcribing (0 is the primary)."""
        return self._index

    async def send(self, frame: AnalyzedFrame) -> None:
        """Feed the caller's next frame to the active provider, switching providers if it fails or stalls."""
        if self._failure is not None:
            raise self._failure
        if self._finishing or self._closed:
            raise RuntimeError("send() on a fallback session that was finished or closed")
        reason = None
        # Keep and forward as one step: a switch in progress replays the kept frames, and this
        # frame must be either in that replay or sent to the new provider, never neither.
        async with self._switch_lock:
            self._keep(frame)
            if self._segmenter.process(frame).in_speech:
                self._unanswered_speech += FRAME_SAMPLES
                self._unanswered_since = self._unanswered_since or time.monotonic()
            index, session = self._index, self._session
            if index < len(self._providers) - 1 and self._stalled():
                stalled = self._unanswered_speech / TELEPHONY_SAMPLE_RATE
                reason = f"no transcript event during {stalled:.1f} s of speech"
            else:
                try:
                    await session.send(frame)
                except SpeechProviderError as exc:
                    reason = str(exc)
        if reason is not None:
            await self._switch(index, reason)  # replays the kept frames, this one included

    def events(self) -> AsyncIterator[TranscriptEvent]:
        """The events of whichever provider is active, in order, on the chain's timeline."""
        return self._events.consume()

    @property
    def finalize_is_cheap(self) -> bool:
        """As the active provider's."""
        return self._session.finalize_is_cheap

    async def finalize(self) -> None:
        """Ask the active provider to commit what it holds now. If it fails, the next provider
        takes over as in send() (the kept audio replayed to it) and is asked in its turn."""
        if self._failure is not None:
            raise self._failure
        if self._finishing or self._closed:
            raise RuntimeError("finalize() on a fallback session that was finished or closed")
        # Under the lock: a switch in progress has replayed all the audio sent so far to the
        # provider that finalize() then reaches, so the flush covers it.
        async with self._switch_lock:
            self._finalize_due = True
            index, session = self._index, self._session
            try:
                await session.finalize()
            except SpeechProviderError as exc:
                reason = str(exc)
            else:
                return
        # The provider taking over is finalized after its replay; raises when none is left.
        await self._switch(index, reason)

    async def finish(self) -> None:
        """End of audio: finish the active provider and deliver its last events (falling back
        to the next provider if it fails while draining), then end the events."""
        if self._finishing or self._closed:
            raise RuntimeError("finish() on a fallback session that was finished or closed")
        self._finishing = True
        while self._failure is None:
            index, session, pump = self._index, self._session, self._pump
            try:
                await session.finish()
            except SpeechProviderError as exc:
                await self._switch(index, str(exc))
                continue
            await asyncio.wait([pump])
            if self._index == index:
                break
            # The provider failed while draining: the next one holds the kept audio; finish it.
        if self._failure is not None:
            raise self._failure
        self._events.end()

    async def close(self) -> None:
        """Stop now and release the active provider's session. Safe to call twice."""
        self._closed = True
        self._pump.cancel()
        await asyncio.wait([self._pump])
        await _close_quietly(self._session, self._index, self._providers)
        self._events.end()

    def _keep(self, frame: AnalyzedFrame) -> None:
        """Keep a frame for a replay; past `buffer_s` of them, the oldest goes."""
        if len(self._kept) == self._kept.maxlen:
            self._kept_start += FRAME_SAMPLES
        self._kept.append(frame)

    def _stalled(self) -> bool:
        """Whether the active provider stayed silent through enough speech, in audio and in time."""
        waited = time.monotonic() - (self._unanswered_since or time.monotonic())
        return self._unanswered_speech >= self._stall_samples and waited >= self._stall_after_s

    def _commit(self, end_s: float) -> None:
        """Forget the kept frames that a committed transcript (ending at `end_s`) covers."""
        end = round(end_s * TELEPHONY_SAMPLE_RATE)
        while self._kept and self._kept_start + FRAME_SAMPLES <= end:
            self._kept.popleft()
            self._kept_start += FRAME_SAMPLES

    def _start_pump(self) -> "asyncio.Task[None]":
        return asyncio.create_task(
            self._pump_events(self._index, self._session, self._origin / TELEPHONY_SAMPLE_RATE),
            name=f"stt-chain-{self.active_provider}",
        )

    async def _pump_events(self, index: int, session: STTSession, origin_s: float) -> None:
        """Move one provider session's events into the chain's queue; on failure, switch."""
        try:
            async for event in session.events():
                self._unanswered_speech, self._unanswered_since = 0, None
                shifted = replace(event, start=event.start + origin_s, end=event.end + origin_s)
                if shifted.is_final:
                    self._commit(shifted.end)
                if shifted.is_final or shifted.kind is TranscriptKind.SPEECH_STARTED:
                    # Answered (or the caller went on, and a flush would cut the new speech).
                    self._finalize_due = False
                self._events.put(shifted)
        except SpeechProviderError as exc:
            reason = str(exc)
        else:
            if self._finishing or self._closed:
                return
            reason = "its events ended while audio was still expected"
        with contextlib.suppress(SpeechProviderError):  # the chain's failure is queued by _fail
            await self._switch(index, reason)

    async def _switch(self, failed: int, reason: str) -> None:
        """Replace the provider at `failed` by the next one that starts, replaying the kept audio.

        Raises the chain's SpeechProviderError when no provider is left.
        """
        async with self._switch_lock:
            if self._failure is not None:
                raise self._failure
            if self._index != failed:
                return  # another task already switched away from it
            old_session, old_pump = self._session, self._pump
            index = failed
            while True:
                _log.warning(
                    "stt.provider_failed", provider=provider_name(self._providers[index]), reason=reason
                )
                index += 1
                if index == len(self._providers):
                    raise self._fail(reason)
                try:
                    session, origin = await self._open_with_replay(index)
                except SpeechProviderError as exc:
                    reason = str(exc)
                    continue
                break
            _log.warning(
                "stt.fallback",
                from_provider=provider_name(self._providers[failed]),
                to_provider=provider_name(self._providers[index]),
                replayed_s=round(len(self._kept) * FRAME_MS / 1000, 2),
            )
            self._index, self._session, self._origin = index, session, origin
            self._unanswered_speech, self._unanswered_since = 0, None
            self._pump = self._start_pump()
        if old_pump is not asyncio.current_task():
            old_pump.cancel()
        await _close_quietly(old_session, failed, self._providers)

    async def _open_with_replay(self, index: int) -> tuple[STTSession, int]:
        """Start provider `index` and send it the kept frames (then finalize it if a finalize()
        is unanswered); its time zero is the first kept frame's start."""
        session = await self._providers[index].start()
        # A snapshot: the old provider's events may still commit (and drop kept frames) meanwhile.
        origin, replay = self._kept_start, list(self._kept)
        try:
            for frame in replay:
                await session.send(frame)
            if self._finalize_due:
                await session.finalize()
        except SpeechProviderError:
            await _close_quietly(session, index, self._providers)
            raise
        return session, origin

    def _fail(self, reason: str) -> SpeechProviderError:
        """No provider left: the chain fails, and its events end with the error."""
        self._failure = SpeechProviderError("stt-chain", f"every provider failed; the last: {reason}")
        _log.error("stt.chain_failed", reason=reason)
        self._events.put_failure(self._failure)
        self._events.end()
        return self._failure


async def _close_quietly(session: STTSession, index: int, providers: Sequence[SpeechToText]) -> None:
    """Close a session that is being dropped; a failure to close is logged, not raised."""
    try:
        await session.close()
    except SpeechProviderError as exc:
        _log.warning("stt.close_failed", provider=provider_name(providers[index]), reason=str(exc))


class FallbackSpeechToText:
    """Speech to text over `[primary, *fallbacks]` (see the module docstring)."""

    def __init__(
        self,
        providers: Sequence[SpeechToText],
        *,
        stall_after_s: float = STALL_AFTER_S,
        buffer_s: float = BUFFER_S,
        vad_config: VadConfig | None = None,
    ) -> None:
        """`stall_after_s`: caller speech without any event that counts as a stalled provider;
        `buffer_s`: the most audio kept for a replay; `vad_config`: the stall watchdog's segmenter's."""
        _require_providers(providers)
        if stall_after_s <= 0 or buffer_s <= 0:
            raise ValueError("stall_after_s and buffer_s must be positive")
        self.providers = tuple(providers)
        self._stall_after_s = stall_after_s
        self._buffer_s = buffer_s
        self._vad_config = vad_config or VadConfig()

    async def warm(self) -> None:
        """Warm every provider; only every one failing is an error."""
        await warm_all(self.providers, "stt-chain")

    async def start(self) -> FallbackSTTSession:
        """Open a session on the first provider that starts."""
        index = 0
        while True:
            try:
                session = await self.providers[index].start()
            except SpeechProviderError as exc:
                _log.warning(
                    "stt.start_failed", provider=provider_name(self.providers[index]), reason=str(exc)
                )
                index += 1
                if index == len(self.providers):
                    raise
                continue
            return FallbackSTTSession(
                self.providers,
                index,
                session,
                SpeechSegmenter(self._vad_config),
                self._stall_after_s,
                self._buffer_s,
            )


class FallbackTextToSpeech:
    """Text to speech over `[primary, *fallbacks]` (see the module docstring)."""

    def __init__(
        self,
        providers: Sequence[TextToSpeech],
        *,
        first_chunk_timeout: float = FIRST_CHUNK_TIMEOUT_S,
        retry_primary_after_s: float = RETRY_PRIMARY_AFTER_S,
    ) -> None:
        """`first_chunk_timeout`: how long a provider (all but the last) may take to its first chunk
        of a text; `retry_primary_after_s`: how long a failed provider is skipped."""
        _require_providers(providers)
        if first_chunk_timeout <= 0 or retry_primary_after_s < 0:
            raise ValueError("first_chunk_timeout must be positive and retry_primary_after_s not negative")
        self.providers = tuple(providers)
        self._first_chunk_timeout = first_chunk_timeout
        self._retry_after_s = retry_primary_after_s
        self._index = 0
        self._skip_until = 0.0

    @property
    def active_provider(self) -> str:
        """The name of the provider now speaking (or that spoke last)."""
        return provider_name(self.providers[self._index])

    @property
    def active_index(self) -> int:
        """The position in the chain of the provider now speaking (0 is the primary)."""
        return self._index

    async def warm(self) -> None:
        """Warm every provider; only every one failing is an error."""
        await warm_all(self.providers, "tts-chain")

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Speak `text`, as one unit, as mu-law 8 kHz chunks, falling back per the module docstring.
        Raises ValueError for blank text, SpeechProviderError if the last provider fails."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("text to synthesize must be a non-blank string")
        self._restore_primary_when_due()
        while True:
            index = self._index
            provider = self.providers[index]
            is_last = index == len(self.providers) - 1
            spoke = False
            try:
                async with contextlib.aclosing(provider.synthesize(text)) as stream:
                    # Only a provider with a fallback behind it is held to the first-chunk deadline.
                    deadline = None if is_last else self._first_chunk_timeout
                    while True:
                        async with asyncio.timeout(deadline):
                            chunk = await anext(stream, None)
                        if chunk is None:
                            break
                        deadline = None
                        spoke = True
                        yield chunk
            except (SpeechProviderError, TimeoutError) as exc:
                if is_last:
                    raise
                reason = str(exc) if isinstance(exc, SpeechProviderError) else "no first audio in time"
                self._demote(index, reason, spoke)
                if not spoke:
                    continue  # nothing of the text was heard: the next provider says all of it
            return  # said whole, or cut off part way (its audio ends there: see the module docstring)

    def _restore_primary_when_due(self) -> None:
        """Go back to the primary for a new text once a failed provider's skip period is over."""
        if self._index and asyncio.get_running_loop().time() >= self._skip_until:
            _log.info("tts.primary_retry", provider=provider_name(self.providers[0]))
            self._index = 0

    def _demote(self, index: int, reason: str, spoke: bool) -> None:
        """Skip provider `index` (and any before it) for the retry period."""
        self._index = index + 1
        self._skip_until = asyncio.get_running_loop().time() + self._retry_after_s
        _log.warning(
            "tts.fallback",
            from_provider=provider_name(self.providers[index]),
            to_provider=provider_name(self.providers[index + 1]),
            reason=reason,
            mid_text=spoke,
        )
