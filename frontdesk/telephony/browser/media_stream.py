"""`BrowserMediaTransport`: the `Transport` of one web call over the browser's media socket.

The wire protocol of `/browser/stream` (JSON messages are text frames, audio is binary frames):

browser -> server
    {"type": "start", "ticket": "..."}   first, within START_TIMEOUT_SECONDS of the upgrade: the
                                         ticket `start_browser_call` issued (tickets.py)
    binary                               the caller's audio: little-endian 16-bit PCM, mono,
                                         8000 Hz (the browser resamples), any whole number of
                                         samples up to MAX_AUDIO_BYTES a message; cut here into
                                         20 ms frames of mu-law for the turn loop. Send it
                                         continuously (silence too), as a phone line does: the
                                         end of the caller's turn is heard in the frames
    {"type": "mark", "name": "..."}      the agent's audio up to this mark was played (or dropped
                                         by a clear): echo every mark, in order
    {"type": "dtmf", "digit": "5"}       a key of the page's keypad (0-9, *, #)
    {"type": "stop"}                     the person hung up

server -> browser
    binary                               the agent's audio: 16-bit PCM, little-endian, mono,
                                         8000 Hz, 20 ms (320 bytes) a message, sent at real-time
                                         pace about LEAD_SECONDS ahead of playback
    {"type": "mark", "name": "..."}      after the audio it follows
    {"type": "clear"}                    barge-in: drop the agent audio not yet played, then
                                         echo the marks it held
    {"type": "transcript", "role": "caller"|"agent", "text": "...", "final": true|false}
                                         the live transcript: interim lines replace the role's
                                         line in progress, a final one settles it (an empty final
                                         withdraws it); see realtime.transport.TranscriptLine
    {"type": "ended", "reason": "..."}   the call is over (the agent hung up, a transfer a browser
                                         cannot take, a refused ticket, a protocol error); the
                                         socket closes next

Anything else (no start in time, a ticket refused, audio before the start, an odd byte count, a
malformed or unknown message, one over the size limits) ends this call: `ended` with the reason,
then a close with a policy-violation (1008), unsupported-data (1003) or too-big (1009) code.
"""

import asyncio
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Final, Self

from pydantic import SecretStr, ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from frontdesk.domain.models import CallDirection, check_e164
from frontdesk.logs import get_logger
from frontdesk.realtime.audio.codec import MulawFramer, mulaw_to_pcm16, pcm16_to_mulaw
from frontdesk.realtime.playout import PlaybackStats, Playout
from frontdesk.realtime.transport import (
    AudioReceived,
    CallStarted,
    CallStopped,
    DigitPressed,
    MarkReached,
    TranscriptLine,
    TransportEvent,
)
from frontdesk.telephony.browser.protocol import (
    BROWSER_MESSAGE,
    MAX_MARK_CHARS,
    BrowserMessage,
    DtmfMessage,
    MarkMessage,
    StartMessage,
    clear_text,
    ended_text,
    mark_text,
    transcript_text,
)
from frontdesk.telephony.browser.tickets import TicketRefused, redeem_ticket
from frontdesk.telephony.media_socket import (
    CLOSE_NORMAL,
    CLOSE_TOO_BIG,
    CLOSE_UNSUPPORTED_DATA,
    ProtocolViolation,
    close_socket,
    first_error,
    receive_message,
    socket_events,
)

START_TIMEOUT_SECONDS: Final = 5.0
MAX_AUDIO_BYTES: Final = 16_000  # one second of PCM16 at 8 kHz
MAX_MESSAGE_CHARS: Final = 4096
HUNG_UP: Final = "the agent ended the call"

_log = get_logger(__name__)


class BrowserMediaTransport:
    """One web call's `Transport` (and `ShowsTranscript`) over an accepted browser socket.

    Use as `async with BrowserMediaTransport(websocket, secret_key) as transport:`; leaving the
    block stops its senders, then sends `ended` and closes the socket if that was not done yet.
    """

    def __init__(
        self,
        websocket: WebSocket,
        secret_key: SecretStr,
        *,
        start_timeout: float = START_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._websocket = websocket
        self._secret_key = secret_key
        self._start_timeout = start_timeout
        self._playout = Playout(self, clock=clock)
        self._wire_lock = asyncio.Lock()  # one message on the socket at a time
        # Transcript lines wait here for the note sender; only a holder of the wire lock takes
        # them, so `close` can send what is left, in order, before `ended`.
        self._notes: deque[str] = deque()
        self._notes_waiting = asyncio.Event()
        self._note_sender: asyncio.Task[None] | None = None
        self._started: CallStarted | None = None
        self._framer = MulawFramer()  # caller audio in exact 20 ms frames
        self._end_reason: str | None = None
        self._ended = False  # `ended` was sent (or the browser had left before it could be)
        self.transfer_target: str | None = None

    async def __aenter__(self) -> Self:
        self._playout.start()
        self._note_sender = asyncio.create_task(self._note_loop(), name="browser-transcript-sender")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._playout.aclose()
        if self._note_sender is not None:
            self._note_sender.cancel()
            (outcome,) = await asyncio.gather(self._note_sender, return_exceptions=True)
            if isinstance(outcome, Exception):  # a send racing the browser's close, most often
                _log.warning("browser.transcript_sender_failed", error_type=type(outcome).__name__)
        await self.close(CLOSE_NORMAL, "call ended")

    @property
    def call(self) -> CallStarted | None:
        """The call's CallStarted once a valid start arrived, else None."""
        return self._started

    @property
    def stats(self) -> PlaybackStats:
        """Counters of the agent audio sent on this socket."""
        return self._playout.stats

    # --- inbound -------------------------------------------------------------------------------

    def events(self) -> AsyncIterator[TransportEvent]:
        """The browser's messages as transport events; ends after CallStopped."""
        return socket_events(self._next_events, self._violated, lambda: self._end_reason)

    async def _violated(self, violation: ProtocolViolation) -> None:
        _log.warning("browser.protocol_violation", reason=violation.reason, call_sid=self._call_sid())
        await self.close(violation.code, violation.reason)

    async def _next_events(self) -> list[TransportEvent]:
        """The events of the next message; raises ProtocolViolation or WebSocketDisconnect."""
        if self._started is None:
            try:
                async with asyncio.timeout(self._start_timeout):
                    message = await receive_message(self._websocket)
            except TimeoutError:
                raise ProtocolViolation(f"no start with a ticket within {self._start_timeout:g} s") from None
            return [self._start(message)]
        message = await receive_message(self._websocket)
        if isinstance(message, bytes):
            return [AudioReceived(frame) for frame in self._framer.push(_caller_audio(message))]
        parsed = _parse(message)
        if isinstance(parsed, StartMessage):
            raise ProtocolViolation("a second start message")
        if isinstance(parsed, MarkMessage):
            return [MarkReached(parsed.name)]
        if isinstance(parsed, DtmfMessage):
            return [DigitPressed(parsed.digit)]
        _log.info("browser.stopped", call_sid=self._call_sid(), frames_sent=self.stats.frames_sent)
        return [CallStopped("stop")]

    def _start(self, message: str | bytes) -> CallStarted:
        """The CallStarted of the first message, which must be a start with a valid ticket."""
        if isinstance(message, bytes):
            raise ProtocolViolation("audio before the start message")
        start = _parse(message)
        if not isinstance(start, StartMessage):
            raise ProtocolViolation(f"{start.type} before the start message")
        try:
            ticket = redeem_ticket(self._secret_key, start.ticket)
        except TicketRefused as refused:
            raise ProtocolViolation(str(refused)) from None
        self._started = CallStarted(
            call_sid=ticket.call_sid,
            stream_sid=f"BS{uuid.uuid4().hex}",
            caller=ticket.caller,
            called=ticket.called,
            direction=CallDirection.web,
            clinic_id=ticket.clinic_id,
        )
        _log.info("browser.started", call_sid=ticket.call_sid, call_id=str(ticket.call_id))
        return self._started

    # --- outbound ------------------------------------------------------------------------------

    async def play(self, mulaw: bytes, mark: str) -> None:
        """Queue agent audio in 20 ms frames (the last padded with silence), then a mark."""
        if self._started is None:
            raise RuntimeError("play() before the call started")
        if not 0 < len(mark) <= MAX_MARK_CHARS:
            raise ValueError(f"a mark name has 1 to {MAX_MARK_CHARS} characters, got {len(mark)}")
        self._playout.play(mulaw, mark)

    async def clear(self) -> None:
        """Drop queued audio and tell the browser to drop what it holds (its marks come back)."""
        await self._playout.clear()

    def show_transcript(self, line: TranscriptLine) -> None:
        """Queue a transcript line for the browser (sent by the note sender, in order)."""
        if not self._ended:
            self._notes.append(transcript_text(line))
            self._notes_waiting.set()

    async def transfer(self, number: str) -> None:
        """A browser cannot be put through to a person: end the call, saying what would happen."""
        check_e164(number, "transfer number")
        self.transfer_target = number
        await self._end(
            "transfer", f"a browser call cannot be transferred (a phone caller would now go to {number})"
        )

    async def hangup(self) -> None:
        """End the call: `ended`, then close the socket."""
        await self._end("hangup", HUNG_UP)

    async def close(self, code: int, reason: str) -> None:
        """Send what transcript is left and `ended` with `reason` (once), then close the socket."""
        async with self._wire_lock:
            if not self._ended:
                self._ended = True
                try:
                    await self._send_notes()
                    await self._send_now(ended_text(reason))
                except WebSocketDisconnect:
                    pass  # the browser left first: there is no one to tell
        await close_socket(self._websocket, code, reason)

    # --- the playout's wire --------------------------------------------------------------------

    async def send_frame(self, mulaw: bytes) -> None:
        """One frame of agent audio, as PCM16."""
        await self._send(mulaw_to_pcm16(mulaw))

    async def send_mark(self, name: str) -> None:
        """A mark message."""
        await self._send(mark_text(name))

    async def send_clear(self) -> None:
        """A clear message."""
        await self._send(clear_text())

    # --- helpers -------------------------------------------------------------------------------

    async def _end(self, reason: str, said: str) -> None:
        _log.info("browser.ended", call_sid=self._call_sid(), reason=reason)
        self._end_reason = reason
        await self.close(CLOSE_NORMAL, said)

    async def _note_loop(self) -> None:
        while True:
            await self._notes_waiting.wait()
            self._notes_waiting.clear()
            async with self._wire_lock:
                await self._send_notes()

    async def _send_notes(self) -> None:
        """Send the queued transcript lines (the caller holds the wire lock)."""
        while self._notes:
            await self._send_now(self._notes.popleft())

    async def _send(self, data: str | bytes) -> None:
        async with self._wire_lock:
            await self._send_now(data)

    async def _send_now(self, data: str | bytes) -> None:
        if self._websocket.application_state is not WebSocketState.CONNECTED:
            return  # the call is over: nothing more to tell the browser
        if isinstance(data, bytes):
            await self._websocket.send_bytes(data)
        else:
            await self._websocket.send_text(data)

    def _call_sid(self) -> str | None:
        return self._started.call_sid if self._started else None


def _parse(text: str) -> BrowserMessage:
    """A text message as its model; ProtocolViolation for one too long, not JSON or unknown."""
    if len(text) > MAX_MESSAGE_CHARS:
        raise ProtocolViolation(
            f"message of {len(text)} characters is over {MAX_MESSAGE_CHARS}", CLOSE_TOO_BIG
        )
    try:
        return BROWSER_MESSAGE.validate_json(text)
    except ValidationError as exc:
        raise ProtocolViolation(f"malformed message: {first_error(exc)}") from None


def _caller_audio(pcm16: bytes) -> bytes:
    """A binary message's PCM16 as mu-law; ProtocolViolation unless it is whole samples within
    the size limit."""
    if len(pcm16) > MAX_AUDIO_BYTES:
        raise ProtocolViolation(
            f"audio message of {len(pcm16)} bytes is over {MAX_AUDIO_BYTES}", CLOSE_TOO_BIG
        )
    if len(pcm16) % 2:
        raise ProtocolViolation(
            "audio must be whole 16-bit samples (an even byte count)", CLOSE_UNSUPPORTED_DATA
        )
    return pcm16_to_mulaw(pcm16)
