"""`TwilioMediaTransport`: the `Transport` of one call over a Twilio Media Streams WebSocket.

Inbound messages are validated (`protocol.CARRIER_MESSAGE`) and turned into transport events.
Anything malformed or hostile (not JSON, an unknown event, bad base64, a message over
MAX_MESSAGE_CHARS, a binary frame, media before start, a format other than mu-law 8 kHz mono)
closes this call's socket with a logged reason and ends its events with CallStopped; no other
call is touched, each socket being its own task.

Outbound audio is cut into 160-byte 20 ms frames and sent by one sender task at real-time pace:
each frame is due when the carrier has LEAD_SECONDS of our audio still to play, so a `clear`
throws away little. A frame due within BURST_SECONDS goes at once with the one before, so the
sender wakes once per two or three frames rather than for each. A mark follows each `play()`
chunk. Frames sent more than a frame behind their schedule are counted as late (`stats`).

`transfer` and `hangup` go through Twilio's REST API (`TwilioCalls`) with the call sid; Twilio
then stops the stream. Without Twilio credentials (the offline stack, `frontdesk call`) there is
no REST API: the transport records the transfer target (`transfer_target`) and closes the socket
itself, which the local caller takes as the end of the call.
"""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Self

from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from frontdesk.domain.models import CallDirection, check_e164
from frontdesk.logs import get_logger
from frontdesk.realtime import metrics
from frontdesk.realtime.audio.codec import FRAME_MS, TELEPHONY_SAMPLE_RATE, MulawFramer, split_mulaw_frames
from frontdesk.realtime.transport import (
    AudioReceived,
    CallStarted,
    CallStopped,
    DigitPressed,
    MarkReached,
    TransportEvent,
)
from frontdesk.telephony.twilio.protocol import (
    APPOINTMENT_PARAMETER,
    CALLED_PARAMETER,
    CALLER_PARAMETER,
    CAMPAIGN_KIND_PARAMETER,
    CARRIER_MESSAGE,
    CLINIC_PARAMETER,
    CLOCK_OFFSET_PARAMETER,
    DIRECTION_PARAMETER,
    PURPOSE_PARAMETER,
    Clear,
    Connected,
    Dtmf,
    Mark,
    MarkInfo,
    Media,
    PlayMediaText,
    Start,
)
from frontdesk.telephony.twilio.rest import TwilioCalls

MAX_MESSAGE_CHARS: Final = 16 * 1024
FRAME_SECONDS: Final = FRAME_MS / 1000
# How much of our audio the carrier may hold unplayed: enough to ride out scheduling jitter,
# little enough that a barge-in's `clear` discards only a few frames.
LEAD_SECONDS: Final = 0.08
# How early a frame may leave to ride along with the previous one: fewer wake-ups of the sender
# (a timer, a task switch and a lock a frame) for at most this much more audio at the carrier.
BURST_SECONDS: Final = 0.04

# WebSocket close codes (RFC 6455).
CLOSE_NORMAL: Final = 1000
CLOSE_UNSUPPORTED_DATA: Final = 1003
CLOSE_POLICY_VIOLATION: Final = 1008
CLOSE_TOO_BIG: Final = 1009

_log = get_logger(__name__)


class ProtocolViolation(Exception):
    """An inbound message this stream cannot accept; closes the socket with `code`."""

    def __init__(self, reason: str, code: int = CLOSE_POLICY_VIOLATION) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass
class PlaybackStats:
    """Counters of the outbound audio, for the turn loop's metrics."""

    frames_sent: int = 0
    late_frames: int = 0  # sent more than one frame (20 ms) behind schedule
    marks_sent: int = 0
    clears_sent: int = 0


@dataclass(frozen=True)
class _Frame:
    audio: bytes
    generation: int
    queued_at: float


@dataclass(frozen=True)
class _PendingMark:
    name: str


_Outbound = _Frame | _PendingMark


def check_media_format(start: Start) -> None:
    """Raise ProtocolViolation unless the stream is audio/x-mulaw at 8000 Hz, mono."""
    media_format = start.start.media_format
    if (media_format.encoding, media_format.sample_rate, media_format.channels) != (
        "audio/x-mulaw",
        TELEPHONY_SAMPLE_RATE,
        1,
    ):
        raise ProtocolViolation(
            f"unsupported media format {media_format.encoding} {media_format.sample_rate} Hz "
            f"{media_format.channels} channel(s); need audio/x-mulaw 8000 Hz mono",
            CLOSE_UNSUPPORTED_DATA,
        )


def call_started(start: Start) -> CallStarted:
    """The typed CallStarted of a start message, from the customParameters our TwiML attached.

    A parameter the call cannot go on without (caller, called, a direction, clinic or clock that
    does not parse) is a protocol violation; a malformed appointment id is dropped with a warning,
    and the outbound call goes on without one.
    """
    parameters = start.start.custom_parameters
    missing = [name for name in (CALLER_PARAMETER, CALLED_PARAMETER) if not parameters.get(name)]
    if missing:
        raise ProtocolViolation(f"start lacks the customParameters {', '.join(missing)}")
    call_sid = start.start.call_sid
    try:
        direction = CallDirection(parameters.get(DIRECTION_PARAMETER, CallDirection.inbound.value))
    except ValueError:
        raise ProtocolViolation("the stream's direction is neither inbound nor outbound") from None
    clinic = parameters.get(CLINIC_PARAMETER)
    clinic_id = _uuid(clinic)
    if clinic and clinic_id is None:
        raise ProtocolViolation("the stream's clinic_id is not a UUID")
    clock = parameters.get(CLOCK_OFFSET_PARAMETER)
    try:
        clock_offset = float(clock) if clock is not None else None
    except ValueError:
        raise ProtocolViolation("the stream's clock_offset is not a number of seconds") from None
    appointment = parameters.get(APPOINTMENT_PARAMETER)
    appointment_id = _uuid(appointment)
    if appointment and appointment_id is None:
        _log.warning("media.malformed_appointment_id", call_sid=call_sid)
    outbound = direction is CallDirection.outbound
    return CallStarted(
        call_sid=call_sid,
        stream_sid=start.stream_sid,
        caller=parameters[CALLER_PARAMETER],
        called=parameters[CALLED_PARAMETER],
        direction=direction,
        clinic_id=clinic_id,
        purpose=(parameters.get(PURPOSE_PARAMETER) or None) if outbound else None,
        appointment_id=appointment_id if outbound else None,
        campaign_kind=(parameters.get(CAMPAIGN_KIND_PARAMETER) or None) if outbound else None,
        clock_offset_seconds=clock_offset,
    )


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


class TwilioMediaTransport:
    """One call's `Transport` over an accepted Media Streams WebSocket.

    Use as `async with TwilioMediaTransport(websocket, calls) as transport:`; leaving the block
    stops the sender and closes the socket. `calls` is None offline (see the module docstring).
    """

    def __init__(
        self,
        websocket: WebSocket,
        calls: TwilioCalls | None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._websocket = websocket
        self._calls = calls
        self._clock = clock
        self._queue: asyncio.Queue[_Outbound] = asyncio.Queue()
        self._send_lock = asyncio.Lock()
        self._generation = 0  # bumped by clear(): frames of an older generation are dropped
        self._carrier_free_at = 0.0  # when the carrier will have played all we sent
        self._sender: asyncio.Task[None] | None = None
        self._started: CallStarted | None = None
        self._play_text: PlayMediaText | None = None  # the stream's media messages, once started
        self._end_reason: str | None = None
        self._framer = MulawFramer()  # caller audio in exact 20 ms frames
        self.stats = PlaybackStats()
        self.transfer_target: str | None = None

    async def __aenter__(self) -> Self:
        self._sender = asyncio.create_task(self._send_loop(), name="media-sender")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
        await self.close(CLOSE_NORMAL, "call ended")

    @property
    def call(self) -> CallStarted | None:
        """The stream's CallStarted once the start message arrived, else None."""
        return self._started

    # --- inbound -------------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[TransportEvent]:
        """The carrier's messages as transport events; ends after CallStopped."""
        while True:
            try:
                events = await self._next_events()
            except WebSocketDisconnect:
                yield CallStopped(self._end_reason or "disconnected")
                return
            except ProtocolViolation as violation:
                _log.warning("media.protocol_violation", reason=violation.reason, call_sid=self._call_sid())
                await self.close(violation.code, violation.reason)
                yield CallStopped("protocol_error")
                return
            for event in events:
                yield event
                if isinstance(event, CallStopped):
                    return

    async def _next_events(self) -> list[TransportEvent]:
        """The events of the next message; raises ProtocolViolation or WebSocketDisconnect."""
        if self._websocket.application_state is not WebSocketState.CONNECTED:
            raise WebSocketDisconnect(CLOSE_NORMAL)
        raw = await self._websocket.receive()
        if raw["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(raw.get("code", CLOSE_NORMAL))
        text = raw.get("text")
        if text is None:
            raise ProtocolViolation("binary frames are not part of the protocol", CLOSE_UNSUPPORTED_DATA)
        if len(text) > MAX_MESSAGE_CHARS:
            raise ProtocolViolation(
                f"message of {len(text)} characters is over {MAX_MESSAGE_CHARS}", CLOSE_TOO_BIG
            )
        try:
            message = CARRIER_MESSAGE.validate_json(text)
        except ValidationError as exc:
            raise ProtocolViolation(f"malformed message: {_first_error(exc)}") from None
        if isinstance(message, Connected):
            return []
        if isinstance(message, Start):
            return [self._start(message)]
        if self._started is None:
            raise ProtocolViolation(f"{message.event} before start")
        if message.stream_sid != self._started.stream_sid:
            raise ProtocolViolation(f"{message.event} for another stream")
        if isinstance(message, Media):
            return [AudioReceived(frame) for frame in self._framer.push(message.media.payload)]
        if isinstance(message, Dtmf):
            return [DigitPressed(message.dtmf.digit)]
        if isinstance(message, Mark):
            return [MarkReached(message.mark.name)]
        _log.info("media.stopped", call_sid=self._call_sid(), frames_sent=self.stats.frames_sent)
        return [CallStopped("stop")]

    def _start(self, start: Start) -> CallStarted:
        if self._started is not None:
            raise ProtocolViolation("a second start message")
        check_media_format(start)
        self._started = call_started(start)
        self._play_text = PlayMediaText(start.stream_sid)
        _log.info("media.started", call_sid=self._started.call_sid, stream_sid=start.stream_sid)
        return self._started

    # --- outbound ------------------------------------------------------------------------------

    async def play(self, mulaw: bytes, mark: str) -> None:
        """Queue agent audio in 20 ms frames (the last padded with silence), then a mark."""
        if self._started is None:
            raise RuntimeError("play() before the stream started")
        MarkInfo(name=mark)  # a mark Twilio would refuse fails here, not on the wire
        now = self._clock()
        for frame in split_mulaw_frames(mulaw):
            self._queue.put_nowait(_Frame(frame, self._generation, now))
        self._queue.put_nowait(_PendingMark(mark))

    async def clear(self) -> None:
        """Drop queued audio and tell the carrier to flush what it holds.

        Marks still queued are sent just before the clear, so the carrier echoes every mark of
        every `play()` exactly once (played or cleared).
        """
        stream_sid = self._stream_sid()
        async with self._send_lock:
            self._generation += 1
            marks: list[str] = []
            while not self._queue.empty():
                item = self._queue.get_nowait()
                if isinstance(item, _PendingMark):
                    marks.append(item.name)
            for name in marks:
                await self._send_mark(stream_sid, name)
            await self._send_text(Clear(stream_sid=stream_sid).to_json())
            self.stats.clears_sent += 1
            self._carrier_free_at = self._clock()

    async def transfer(self, number: str) -> None:
        """Hand the call to `number` (E.164): through Twilio's REST API, or offline by ending the stream."""
        check_e164(number, "transfer number")
        self.transfer_target = number
        if self._calls is None:
            await self._end_offline("transfer")
        else:
            await self._calls.transfer(self._require_call_sid(), number)

    async def hangup(self) -> None:
        """End the call: through Twilio's REST API, or offline by closing the stream."""
        if self._calls is None:
            await self._end_offline("hangup")
        else:
            await self._calls.hangup(self._require_call_sid())

    async def _send_loop(self) -> None:
        while True:
            item = await self._queue.get()
            if isinstance(item, _PendingMark):
                async with self._send_lock:
                    await self._send_mark(self._stream_sid(), item.name)
                continue
            send_at = max(item.queued_at, self._carrier_free_at - LEAD_SECONDS)
            delay = send_at - self._clock()
            if delay > BURST_SECONDS:
                await asyncio.sleep(delay)
            async with self._send_lock:
                if item.generation != self._generation:
                    continue  # cleared while we waited
                sent_at = self._clock()
                await self._send_text(self._play_media().of(item.audio))
                self.stats.frames_sent += 1
                metrics.FRAMES_SENT.inc()
                if sent_at - send_at > FRAME_SECONDS:
                    self.stats.late_frames += 1
                    metrics.FRAMES_LATE.inc()
                self._carrier_free_at = max(self._carrier_free_at, sent_at) + FRAME_SECONDS

    async def _send_mark(self, stream_sid: str, name: str) -> None:
        await self._send_text(Mark(stream_sid=stream_sid, mark=MarkInfo(name=name)).to_json())
        self.stats.marks_sent += 1

    async def _send_text(self, text: str) -> None:
        if self._websocket.application_state is WebSocketState.CONNECTED:
            await self._websocket.send_text(text)

    # --- helpers -------------------------------------------------------------------------------

    async def _end_offline(self, reason: str) -> None:
        _log.info("media.ended_offline", call_sid=self._call_sid(), reason=reason)
        self._end_reason = reason
        await self.close(CLOSE_NORMAL, reason)

    async def close(self, code: int, reason: str) -> None:
        """Close the socket (once; a no-op when it is closed already)."""
        if self._websocket.application_state is WebSocketState.CONNECTED:
            try:
                await self._websocket.close(code, reason[:120])  # a close reason is at most 123 bytes
            except (RuntimeError, WebSocketDisconnect):
                pass  # the client closed at the same moment: the socket is closed, as wanted

    def _stream_sid(self) -> str:
        if self._started is None:
            raise RuntimeError("the stream has not started")
        return self._started.stream_sid

    def _play_media(self) -> PlayMediaText:
        if self._play_text is None:
            raise RuntimeError("the stream has not started")
        return self._play_text

    def _require_call_sid(self) -> str:
        if self._started is None:
            raise RuntimeError("the stream has not started: no call sid to act on")
        return self._started.call_sid

    def _call_sid(self) -> str | None:
        return self._started.call_sid if self._started else None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])
