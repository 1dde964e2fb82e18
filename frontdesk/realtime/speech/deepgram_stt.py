"""Deepgram live transcription over the listen v1 WebSocket, through deepgram-sdk's async client.

The socket carries mu-law 8 kHz mono (the frames' bytes as the carrier sent them) with interim
results, endpointing (the clinic profile's silence, in ms), utterance-end and VAD events.
Messages map to TranscriptEvent as base.py's table says; empty interims and empty plain finals
carry nothing and are dropped, but an empty speech_final is kept because it still says the
caller stopped talking, and so is an empty final answering a Finalize (`from_finalize`): it says
Deepgram has flushed up to its end and no words were pending.

Audio goes out `BATCH_FRAMES` frames (60 ms) to a WebSocket message rather than one per 20 ms
frame: a third of the messages for Deepgram's socket to frame and our event loop to send, at
most 40 ms later. What is held goes out before a Finalize or CloseStream, and after
`BATCH_HOLD_S` when no further frame comes (the caller's line went quiet mid-batch).

finalize() sends Finalize: Deepgram transcribes the audio it holds at once and answers with
Results is_final=true (the last one from_finalize=true), which map by the same rule as any other
Results (usually `final`). Deepgram may send nothing when it holds no significant audio.

Deepgram closes a socket that hears neither audio nor a KeepAlive for 10 s (NET-0001), so an idle
session sends a KeepAlive every `keepalive_interval_s`. finish() sends CloseStream and drains:
Deepgram then flushes its last results, sends Metadata and closes the socket normally.

Warm connections: `warm()` opens one spare session (socket open, kept alive); the next `start()`
takes it, skipping the TLS and WebSocket handshakes, and later starts open fresh sockets until
`warm()` is called again. A spare that died meanwhile is discarded and a new socket is opened.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Final

from deepgram import AsyncDeepgramClient, DeepgramClientEnvironment
from deepgram.core.api_error import ApiError
from deepgram.listen.v1.socket_client import AsyncV1SocketClient
from deepgram.listen.v1.types import (
    ListenV1Error,
    ListenV1Metadata,
    ListenV1Results,
    ListenV1SpeechStarted,
    ListenV1UtteranceEnd,
)
from websockets.exceptions import ConnectionClosed, WebSocketException

from frontdesk.logs import get_logger
from frontdesk.realtime.audio.analysis import AnalyzedFrame
from frontdesk.realtime.audio.codec import MULAW_FRAME_BYTES, TELEPHONY_SAMPLE_RATE
from frontdesk.realtime.speech.base import (
    SpeechProviderError,
    TranscriptEvent,
    TranscriptKind,
    TranscriptQueue,
)

PROVIDER: Final = "deepgram"
DEFAULT_MODEL: Final = "nova-3"
DEFAULT_ENDPOINTING_MS: Final = 300
UTTERANCE_END_MS: Final = 1000  # Deepgram's minimum; the turn loop's fallback end-of-turn signal
KEEPALIVE_INTERVAL_S: Final = 4.0  # Deepgram asks for one every 3-5 s of silence
CONNECT_TIMEOUT_S: Final = 5.0
BATCH_FRAMES: Final = 3  # 60 ms of audio per message
_BATCH_BYTES: Final = BATCH_FRAMES * MULAW_FRAME_BYTES
BATCH_HOLD_S: Final = 0.08  # a batch's span and some jitter: held audio never waits longer
DRAIN_TIMEOUT_S: Final = 5.0
# Keyterm prompting (Nova-3 only) for what callers say to a dental clinic.
DENTAL_KEYTERMS: Final = (
    "cleaning",
    "checkup",
    "filling",
    "crown",
    "root canal",
    "whitening",
    "X-rays",
    "hygienist",
    "toothache",
    "reschedule",
    "insurance",
)
_CLOSE_REASON_CHARS: Final = 120

_log = get_logger(__name__)


def deepgram_environment(base_url: str) -> DeepgramClientEnvironment:
    """The SDK environment for a Deepgram-compatible server at `base_url` (http(s):// or ws(s)://)."""
    base_url = base_url.rstrip("/")
    scheme, sep, rest = base_url.partition("://")
    if not sep or scheme not in ("http", "https", "ws", "wss"):
        raise ValueError(f"deepgram base URL must start with http(s):// or ws(s)://, got {base_url!r}")
    secure = scheme in ("https", "wss")
    http_url = f"{'https' if secure else 'http'}://{rest}"
    ws_url = f"{'wss' if secure else 'ws'}://{rest}"
    return DeepgramClientEnvironment(base=http_url, production=ws_url, agent=ws_url, agent_rest=http_url)


class DeepgramSTTSession:
    """One live Deepgram socket: caller frames in, transcript events out (see the module docstring)."""

    def __init__(
        self,
        socket: AsyncV1SocketClient,
        stack: contextlib.AsyncExitStack,
        keepalive_interval_s: float,
        drain_timeout_s: float,
    ) -> None:
        self._socket = socket
        self._stack = stack  # holds the SDK's connect() context: leaving it closes the socket
        self._keepalive_interval_s = keepalive_interval_s
        self._drain_timeout_s = drain_timeout_s
        self._events = TranscriptQueue()
        self._open = True
        self._closing = False  # we asked for the end: a normal close is then expected
        self._failure: SpeechProviderError | None = None
        self._last_sent = asyncio.get_running_loop().time()
        self._held = bytearray()  # caller audio not sent yet: part of a batch
        self._hold_timer: asyncio.TimerHandle | None = None  # sends what is held after BATCH_HOLD_S
        self._late_flush: asyncio.Task[None] | None = None
        self._reader = asyncio.create_task(self._read(), name="deepgram-stt-read")
        self._keepalive = asyncio.create_task(self._keep_alive(), name="deepgram-stt-keepalive")

    @property
    def healthy(self) -> bool:
        """Whether the socket is open and has not failed (a spare must be, to be handed out)."""
        return self._open and self._failure is None and not self._reader.done()

    async def send(self, frame: AnalyzedFrame) -> None:
        """Feed the caller's next 20 ms frame; its mu-law goes to Deepgram as the carrier sent it,
        in batches (see the module docstring)."""
        if self._failure is not None:
            raise self._failure
        if not self._open:
            raise RuntimeError("send() on a deepgram session that was finished or closed")
        self._held += frame.mulaw
        if len(self._held) >= _BATCH_BYTES:
            await self._send_held()
        elif self._hold_timer is None:
            self._hold_timer = asyncio.get_running_loop().call_later(BATCH_HOLD_S, self._hold_expired)

    def _hold_expired(self) -> None:
        """No frame completed the batch in time: send what is held from a task of its own."""
        self._hold_timer = None
        if self._held and self._open and (self._late_flush is None or self._late_flush.done()):
            self._late_flush = asyncio.create_task(self._flush_late(), name="deepgram-stt-flush")

    async def _flush_late(self) -> None:
        with contextlib.suppress(SpeechProviderError):  # recorded: the next send() raises it
            await self._send_held()

    async def _send_held(self) -> None:
        """Send the held audio as one message (nothing when none is held)."""
        if self._hold_timer is not None:
            self._hold_timer.cancel()
            self._hold_timer = None
        if not self._held:
            return
        audio = bytes(self._held)
        self._held.clear()
        await self._transmit("audio", lambda: self._socket.send_media(audio))

    def events(self) -> AsyncIterator[TranscriptEvent]:
        """The session's events in order; ends after finish() or close(). One consumer only."""
        return self._events.consume()

    @property
    def finalize_is_cheap(self) -> bool:
        """A Finalize only commits the words Deepgram already holds."""
        return True

    async def finalize(self) -> None:
        """Send Finalize: Deepgram commits what it holds now (see the module docstring); the
        socket stays open for more audio."""
        if self._failure is not None:
            raise self._failure
        if not self._open:
            raise RuntimeError("finalize() on a deepgram session that was finished or closed")
        await self._send_held()
        await self._transmit("Finalize", self._socket.send_finalize)

    async def finish(self) -> None:
        """Send CloseStream, deliver the results Deepgram flushes, then end the events."""
        if not self._open:
            raise RuntimeError("finish() on a deepgram session that was finished or closed")
        self._open = False
        self._closing = True
        self._keepalive.cancel()
        if self._failure is None:
            with contextlib.suppress(SpeechProviderError):  # recorded by _transmit, raised below
                await self._send_held()
                await self._transmit("CloseStream", self._socket.send_close_stream)
        if self._failure is None:
            done, _pending = await asyncio.wait([self._reader], timeout=self._drain_timeout_s)
            if not done:
                self._fail(f"no end of stream within {self._drain_timeout_s:g} s of CloseStream")
        await self._release()
        if self._failure is not None:
            raise self._failure

    async def close(self) -> None:
        """Stop now, dropping pending results, and close the socket. Safe to call twice."""
        self._open = False
        self._closing = True
        await self._release()

    async def _transmit(self, what: str, send: Callable[[], Awaitable[None]]) -> None:
        """Send one message; a dead socket becomes the session's SpeechProviderError."""
        try:
            await send()
        except (ConnectionClosed, OSError) as exc:
            raise self._fail(f"sending {what} failed: {_describe(exc)}") from exc
        self._last_sent = asyncio.get_running_loop().time()

    async def _keep_alive(self) -> None:
        """While no audio flows, send a KeepAlive every interval so Deepgram keeps the socket."""
        loop = asyncio.get_running_loop()
        while self._failure is None:
            idle = loop.time() - self._last_sent
            if idle >= self._keepalive_interval_s:
                try:
                    await self._transmit("KeepAlive", self._socket.send_keep_alive)
                except SpeechProviderError:
                    return  # recorded and queued for the consumer by _transmit
                idle = 0.0
            await asyncio.sleep(self._keepalive_interval_s - idle)

    async def _read(self) -> None:
        """Turn Deepgram's messages into events until the socket closes."""
        try:
            async for message in self._socket:
                self._handle(message)
            if not self._closing:
                self._fail("the server closed the stream")
        except ConnectionClosed as exc:
            self._fail(f"connection lost: {_describe(exc)}")
        except (WebSocketException, OSError, ValueError) as exc:
            self._fail(f"receiving failed ({type(exc).__name__})")
        finally:
            self._events.end()

    def _handle(self, message: object) -> None:
        """Map one parsed message to an event (or a log line, or the session's failure)."""
        if isinstance(message, ListenV1Results):
            event = _results_event(message)
            if event is not None:
                self._events.put(event)
        elif isinstance(message, ListenV1UtteranceEnd):
            at = max(message.last_word_end, 0.0)
            self._events.put(TranscriptEvent(TranscriptKind.UTTERANCE_END, start=at, end=at))
        elif isinstance(message, ListenV1SpeechStarted):
            at = max(message.timestamp, 0.0)
            self._events.put(TranscriptEvent(TranscriptKind.SPEECH_STARTED, start=at, end=at))
        elif isinstance(message, ListenV1Metadata):
            _log.info(
                "stt.metadata", provider=PROVIDER, request_id=message.request_id, audio_s=message.duration
            )
        elif isinstance(message, ListenV1Error):
            self._fail(f"server error {message.variant}: {message.description}")
        else:
            _log.debug("stt.message_ignored", provider=PROVIDER, message_type=type(message).__name__)

    def _fail(self, message: str) -> SpeechProviderError:
        """Record the session's first failure and queue it for the consumer."""
        if self._failure is None:
            _log.error("stt.failed", provider=PROVIDER, reason=message)
            self._failure = SpeechProviderError(PROVIDER, message)
            self._events.put_failure(self._failure)
        return self._failure

    async def _release(self) -> None:
        """Stop the tasks and close the socket (once)."""
        if self._hold_timer is not None:
            self._hold_timer.cancel()
        tasks = [self._keepalive, self._reader, *([self._late_flush] if self._late_flush else [])]
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
        self._events.end()
        try:
            await self._stack.aclose()
        except (WebSocketException, OSError) as exc:
            _log.warning("stt.close_failed", provider=PROVIDER, error_type=type(exc).__name__)


def _results_event(message: ListenV1Results) -> TranscriptEvent | None:
    """A Results message as an event, or None when it carries nothing."""
    if not message.channel.alternatives:
        return None
    best = message.channel.alternatives[0]
    text = best.transcript.strip()
    if message.speech_final:
        kind = TranscriptKind.SPEECH_FINAL
    elif message.is_final:
        kind = TranscriptKind.FINAL
    else:
        kind = TranscriptKind.INTERIM
    from_finalize = bool(message.from_finalize)
    # An empty speech_final still marks the end of speech, an empty Finalize answer the flush.
    if not text and (kind is TranscriptKind.INTERIM or (kind is TranscriptKind.FINAL and not from_finalize)):
        return None
    start = max(message.start, 0.0)
    confidence = min(max(best.confidence, 0.0), 1.0)
    if kind is not TranscriptKind.INTERIM:
        _log.info(
            "stt.result",
            provider=PROVIDER,
            kind=kind.value,
            chars=len(text),
            confidence=confidence,
            from_finalize=from_finalize,
        )
    return TranscriptEvent(kind, text, confidence, start, start + max(message.duration, 0.0))


def _describe(exc: BaseException) -> str:
    """A close or socket error in a few words: the close code and Deepgram's reason if any."""
    if isinstance(exc, ConnectionClosed):
        frame = exc.rcvd
        if frame is None:
            return "closed without a close frame (code 1006)"
        reason = frame.reason[:_CLOSE_REASON_CHARS]
        return f"closed with code {frame.code}" + (f" ({reason})" if reason else "")
    return type(exc).__name__


class DeepgramSpeechToText:
    """Deepgram streaming STT; one socket per session, with one spare kept open by warm()."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        model: str = DEFAULT_MODEL,
        endpointing_ms: int = DEFAULT_ENDPOINTING_MS,
        keyterms: Sequence[str] = DENTAL_KEYTERMS,
        keepalive_interval_s: float = KEEPALIVE_INTERVAL_S,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        drain_timeout_s: float = DRAIN_TIMEOUT_S,
    ) -> None:
        """`endpointing_ms` is the silence after which Deepgram says speech_final (clinic profile);
        `keyterms` bias recognition (sent only to Nova-3 models, the only ones that take them);
        `base_url` points the SDK at another server (tests, a proxy)."""
        if not api_key:
            raise ValueError("a Deepgram API key is required")
        if endpointing_ms <= 0:
            raise ValueError(f"endpointing_ms must be positive, got {endpointing_ms}")
        for name, seconds in [
            ("keepalive_interval_s", keepalive_interval_s),
            ("connect_timeout_s", connect_timeout_s),
            ("drain_timeout_s", drain_timeout_s),
        ]:
            if seconds <= 0:
                raise ValueError(f"{name} must be positive, got {seconds}")
        environment = deepgram_environment(base_url) if base_url else DeepgramClientEnvironment.PRODUCTION
        self._client = AsyncDeepgramClient(api_key=api_key, environment=environment)
        self.model = model
        self.endpointing_ms = endpointing_ms
        self._keyterms = list(keyterms) if model.startswith("nova-3") else []
        self._keepalive_interval_s = keepalive_interval_s
        self._connect_timeout_s = connect_timeout_s
        self._drain_timeout_s = drain_timeout_s
        self._spare: DeepgramSTTSession | None = None
        self._spare_lock = asyncio.Lock()

    async def warm(self) -> None:
        """Open a spare socket (kept alive) for the next start(), unless a healthy one is ready."""
        async with self._spare_lock:
            if self._spare is not None and self._spare.healthy:
                return
            stale, self._spare = self._spare, None
            if stale is not None:
                await stale.close()
            self._spare = await self._connect()

    async def start(self) -> DeepgramSTTSession:
        """A live session: the warm spare if it is still healthy, else a freshly opened socket."""
        async with self._spare_lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            if spare.healthy:
                return spare
            await spare.close()
        return await self._connect()

    async def aclose(self) -> None:
        """Close the spare socket, if any (at shutdown)."""
        async with self._spare_lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            await spare.close()

    async def _connect(self) -> DeepgramSTTSession:
        """Open a listen v1 socket with this provider's options."""
        # The stack holds the socket only once the enter succeeded: a failure leaves nothing to close.
        stack = contextlib.AsyncExitStack()
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                socket = await stack.enter_async_context(
                    self._client.listen.v1.connect(
                        model=self.model,
                        encoding="mulaw",
                        sample_rate=TELEPHONY_SAMPLE_RATE,
                        channels=1,
                        interim_results=True,
                        endpointing=self.endpointing_ms,
                        utterance_end_ms=UTTERANCE_END_MS,
                        vad_events=True,
                        smart_format=True,
                        keyterm=self._keyterms or None,
                    )
                )
        except ApiError as exc:
            raise SpeechProviderError(PROVIDER, f"connection refused (HTTP {exc.status_code})") from exc
        except TimeoutError as exc:
            message = f"no connection within {self._connect_timeout_s:g} s"
            raise SpeechProviderError(PROVIDER, message) from exc
        except (WebSocketException, OSError) as exc:
            raise SpeechProviderError(PROVIDER, f"cannot connect ({type(exc).__name__})") from exc
        _log.info("stt.connected", provider=PROVIDER, model=self.model, endpointing_ms=self.endpointing_ms)
        return DeepgramSTTSession(socket, stack, self._keepalive_interval_s, self._drain_timeout_s)
