"""What the worker needs of a phone carrier: place an outbound call, find one it may have placed,
and send a text message. The worker picks the carrier when it starts (Twilio, or the offline
local carrier of `frontdesk dev`) and hands it to the activities, which never choose one.

The errors say what a caller of the carrier must know to stay exactly-once: whether the carrier
certainly did nothing (`CarrierRefused`, safe to ask again) or may have acted
(`CarrierOutcomeUnknown`, never blindly repeated).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True)
class OutboundDial:
    """One campaign call to place: from the clinic's number to the patient's, for a target, under
    the attempt's idempotency key (which the carrier's status reports carry back)."""

    to: str
    from_: str
    target_id: UUID
    attempt_key: str


class CarrierRefused(Exception):
    """The carrier certainly did not act (it answered with an error, or was never reached);
    `final` when asking again cannot help."""

    def __init__(self, message: str, *, final: bool) -> None:
        super().__init__(message)
        self.final = final


class CarrierOutcomeUnknown(Exception):
    """The request may have reached the carrier and been acted on (a timeout, a dropped
    connection): what it did must be found out, not assumed."""


class CannotReconcile(Exception):
    """The carrier keeps no record to ask whether a call was placed (the local carrier)."""


class Carrier(Protocol):
    """Places outbound calls and finds them again."""

    async def place_call(self, dial: OutboundDial) -> str:
        """Ask for the call; its call sid. Raises CarrierRefused or CarrierOutcomeUnknown."""
        ...

    async def find_call(self, dial: OutboundDial, since: datetime, excluding: frozenset[str]) -> str | None:
        """The sid of a call from `dial.from_` to `dial.to` started at or after `since` (aware)
        that is not in `excluding`; None when there is none. Raises CarrierRefused when the
        carrier cannot be asked, CannotReconcile when it keeps no such record."""
        ...


class TextMessages(Protocol):
    """Sends SMS."""

    async def send_sms(self, to: str, from_: str, body: str) -> str:
        """Send `body` to `to`; the message's sid. Raises CarrierRefused or CarrierOutcomeUnknown."""
        ...
