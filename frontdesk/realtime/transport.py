"""The audio connection of one call, as the turn loop sees it, whatever carries it.

Twilio Media Streams is one transport; the local caller of `frontdesk call` speaks the same
protocol; the dashboard's browser is another (telephony/browser), and another carrier would plug
in the same way. A transport that can show the conversation as it goes (the browser's) also
implements `ShowsTranscript`, and the turn loop tells it each line.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from uuid import UUID

from frontdesk.domain.models import CallDirection, TurnRole


@dataclass(frozen=True)
class CallStarted:
    """The stream is up: who is calling whom, and what the webhook said about the call, typed.

    The carrier's transport parses its own wire format into this; the turn loop reads nothing else.
    """

    call_sid: str
    stream_sid: str
    caller: str  # E.164 of the patient's side
    called: str  # E.164 of the clinic's side
    direction: CallDirection = CallDirection.inbound
    clinic_id: UUID | None = None  # the clinic the webhook found (it must own `called`)
    # An outbound call's reason (speakable), the appointment it is about, its campaign's kind.
    purpose: str | None = None
    appointment_id: UUID | None = None
    campaign_kind: str | None = None
    # Seconds the call's clock runs ahead of real time (a test call at another moment); None: real time.
    clock_offset_seconds: float | None = None
    # The W3C traceparent of the span that answered the call (the voice webhook's), whose trace
    # the media session continues; None: the session starts a trace of its own.
    trace_parent: str | None = None


@dataclass(frozen=True)
class AudioReceived:
    """20 ms of the caller's audio: 160 bytes of mu-law at 8 kHz."""

    mulaw: bytes


@dataclass(frozen=True)
class DigitPressed:
    """A DTMF key the caller pressed."""

    digit: str


@dataclass(frozen=True)
class MarkReached:
    """The carrier reached a mark we sent: the audio before it was played, or cleared by `clear`."""

    name: str


@dataclass(frozen=True)
class CallStopped:
    """The stream ended (hang-up, transfer, or the carrier closed it)."""

    reason: str = "stop"


TransportEvent = CallStarted | AudioReceived | DigitPressed | MarkReached | CallStopped


class Transport(Protocol):
    """One call's audio in and out."""

    def events(self) -> AsyncIterator[TransportEvent]:
        """What arrives from the carrier, in order; ends after CallStopped or when the socket closes."""
        ...

    async def play(self, mulaw: bytes, mark: str) -> None:
        """Queue agent audio (mu-law 8 kHz, any length), followed by a mark with this name.

        The transport sends it out in 20 ms frames at real-time pace; the mark comes back as
        MarkReached once the carrier has played everything before it.
        """
        ...

    async def clear(self) -> None:
        """Stop the agent's audio now (barge-in): drop what is queued and tell the carrier to flush."""
        ...

    async def transfer(self, number: str) -> None:
        """Hand the live call to a person at `number`."""
        ...

    async def hangup(self) -> None:
        """End the call."""
        ...


@dataclass(frozen=True)
class TranscriptLine:
    """A line of the live transcript, as the turn loop knows it.

    The caller's words come as interim lines while they speak (the words so far) and a final one
    when their turn is taken; the agent's as an interim line when each clause starts to play (the
    reply so far) and a final one with what the caller heard. A final line with no text withdraws
    the line in progress (the caller's words taken as a backchannel, a reply nobody heard).
    """

    role: TurnRole
    text: str
    final: bool


@runtime_checkable
class ShowsTranscript(Protocol):
    """A transport that shows the conversation as it goes."""

    def show_transcript(self, line: TranscriptLine) -> None:
        """Show `line` (without waiting: the turn loop calls this between its own steps)."""
        ...
