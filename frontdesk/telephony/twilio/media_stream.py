"""`TwilioMediaTransport`: the `Transport` of one call over a Twilio Media Streams WebSocket.

Inbound messages are validated (`protocol.CARRIER_MESSAGE`) and turned into transport events.
Anything malformed or hostile (not JSON, an unknown event, bad base64, a message over
MAX_MESSAGE_CHARS, a binary frame, media before start, a format other than mu-law 8 kHz mono)
closes this call's socket with a logged reason and ends its events with CallStopped; no other
call is touched, each socket being its own task.

Outbound audio goes out at real-time pace through a `Playout` (realtime/playout.py): 160-byte
20 ms frames as media messages, a mark after each `play()` chunk, a clear on barge-in; frames sent
more than a frame behind their schedule are counted as late (`stats`).

`transfer` and `hangup` go through Twilio's REST API (`TwilioCalls`) with the call sid; Twilio
then stops the stream. Without Twilio credentials (the offline stack, `frontdesk call`) there is
no REST API: the transport records the transfer target (`transfer_target`) and closes the socket
itself, which the local caller takes as the end of the call.
"""

import time
import uuid
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Final, Self

from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketState

from frontdesk.domain.models import CallDirection, check_e164
from frontdesk.logs import get_logger
from frontdesk.realtime.audio.codec import TELEPHONY_SAMPLE_RATE, MulawFramer
from frontdesk.realtime.playout import PlaybackStats, Playout
from frontdesk.realtime.transport import (
    AudioReceived,
    CallStarted,
    CallStopped,
    DigitPressed,
    MarkReached,
    TransportEvent,
)
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
    TRACE_PARAMETER,
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
# The directions a Twilio stream may carry; a browser's call (web) never comes over Twilio.
TWILIO_DIRECTIONS: Final = frozenset({CallDirection.inbound.value, CallDirection.outbound.value})

_log = get_logger(__name__)


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

    A parameter the call cannot go on without (caller, called, a clinic or clock that does not
    parse, a direction other than inbound or outbound: web calls never come through Twilio) is a
    protocol violation; a malformed appointment id is dropped with a warning, and the outbound
    call goes on without one.
    """
    parameters = start.start.custom_parameters
    missing = [name for name in (CALLER_PARAMETER, CALLED_PARAMETER) if not parameters.get(name)]
    if missing:
        raise ProtocolViolation(f"start lacks the customParameters {', '.join(missing)}")
    call_sid = start.start.call_sid
    direction_value = parameters.get(DIRECTION_PARAMETER, CallDirection.inbound.value)
    if direction_value not in TWILIO_DIRECTIONS:
        raise ProtocolViolation(
            "the stream's direction must be inbound or outbound (a web call comes over the browser socket)"
        )
    direction = CallDirection(direction_value)
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
        trace_parent=parameters.get(TRACE_PARAMETER),
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
        self._playout = Playout(self, clock=clock)
        self._started: CallStarted | None = None
        self._play_text: PlayMediaText | None = None  # the stream's media messages, once started
        self._end_reason: str | None = None
        self._framer = MulawFramer()  # caller audio in exact 20 ms frames
        self.transfer_target: str | None = None

    async def __aenter__(self) -> Self:
        self._playout.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._playout.aclose()
        await self.close(CLOSE_NORMAL, "call ended")

    @property
    def stats(self) -> PlaybackStats:
        """Counters of the agent audio sent on this stream."""
        return self._playout.stats

    @property
    def call(self) -> CallStarted | None:
        """The stream's CallStarted once the start message arrived, else None."""
        return self._started

    # --- inbound -------------------------------------------------------------------------------

    def events(self) -> AsyncIterator[TransportEvent]:
        """The carrier's messages as transport events; ends after CallStopped."""
        return socket_events(self._next_events, self._violated, lambda: self._end_reason)

    async def _violated(self, violation: ProtocolViolation) -> None:
        _log.warning("media.protocol_violation", reason=violation.reason, call_sid=self._call_sid())
        await self.close(violation.code, violation.reason)

    async def _next_events(self) -> list[TransportEvent]:
        """The events of the next message; raises ProtocolViolation or WebSocketDisconnect."""
        text = await receive_message(self._websocket)
        if isinstance(text, bytes):
            raise ProtocolViolation("binary frames are not part of the protocol", CLOSE_UNSUPPORTED_DATA)
        if len(text) > MAX_MESSAGE_CHARS:
            raise ProtocolViolation(
                f"message of {len(text)} characters is over {MAX_MESSAGE_CHARS}", CLOSE_TOO_BIG
            )
        try:
            message = CARRIER_MESSAGE.validate_json(text)
        except ValidationError as exc:
            raise ProtocolViolation(f"malformed message: {first_error(exc)}") from None
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
        self._playout.play(mulaw, mark)

    async def clear(self) -> None:
        """Drop queued audio and tell the carrier to flush what it holds.

        Marks still queued are sent just before the clear, so the carrier echoes every mark of
        every `play()` exactly once (played or cleared).
        """
        self._stream_sid()  # a clear before the start has no stream to name
        await self._playout.clear()

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

    # --- the playout's wire: Media Streams messages -------------------------------------------

    async def send_frame(self, mulaw: bytes) -> None:
        """One frame of agent audio as a media message."""
        await self._send_text(self._play_media().of(mulaw))

    async def send_mark(self, name: str) -> None:
        """A mark message."""
        await self._send_text(Mark(stream_sid=self._stream_sid(), mark=MarkInfo(name=name)).to_json())

    async def send_clear(self) -> None:
        """A clear message."""
        await self._send_text(Clear(stream_sid=self._stream_sid()).to_json())

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
        await close_socket(self._websocket, code, reason)

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
