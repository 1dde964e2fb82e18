"""Tickets: what lets a browser's socket carry one web call, briefly.

A ticket is `<payload>.<signature>`, both base64url without padding: the payload is compact JSON
naming the call (its id and sid, its clinic, the caller and called numbers the call session is
opened with) and when the ticket expires (Unix seconds); the signature is HMAC-SHA256 of the
payload's text under a key derived from `Settings.secret_key` for this purpose alone
(frontdesk.domain.crypto.derive_key). It is checked in constant time before anything in the
payload is read. A ticket is not single use, but it names one call and lives TICKET_TTL_SECONDS.
"""

import base64
import binascii
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Final

from pydantic import SecretStr

from frontdesk.domain.crypto import derive_key

TICKET_TTL_SECONDS: Final = 60
# Domain separation: no other use of the secret key can make or read a ticket.
_PURPOSE: Final = b"frontdesk/browser-call-ticket/v1"
MAX_TICKET_CHARS: Final = 1024


class TicketRefused(ValueError):
    """A ticket that does not open its call; `reason` says why, safe to show and log."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"ticket refused: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class Ticket:
    """What a valid ticket names."""

    call_id: uuid.UUID
    call_sid: str
    clinic_id: uuid.UUID
    caller: str  # the placeholder the call's row has for the caller
    called: str  # the clinic's number
    expires_at: float  # Unix seconds


def issue_ticket(
    secret_key: SecretStr | str,
    *,
    call_id: uuid.UUID,
    call_sid: str,
    clinic_id: uuid.UUID,
    caller: str,
    called: str,
    now: float | None = None,
    ttl_seconds: float = TICKET_TTL_SECONDS,
) -> str:
    """A ticket for the call, redeemable for `ttl_seconds` from `now` (default: the clock)."""
    expires_at = (time.time() if now is None else now) + ttl_seconds
    payload = {
        "call_id": str(call_id),
        "call_sid": call_sid,
        "clinic_id": str(clinic_id),
        "caller": caller,
        "called": called,
        "exp": expires_at,
    }
    encoded = _b64encode(json.dumps(payload, separators=(",", ":")).encode())
    return f"{encoded}.{_b64encode(_mac(secret_key, encoded))}"


def redeem_ticket(secret_key: SecretStr | str, ticket: str, *, now: float | None = None) -> Ticket:
    """What `ticket` names; TicketRefused when it is malformed, not ours (tampered with, or signed
    with another secret) or expired."""
    if (
        not isinstance(ticket, str)
        or not ticket.isascii()
        or len(ticket) > MAX_TICKET_CHARS
        or ticket.count(".") != 1
    ):
        raise TicketRefused("malformed")
    encoded, signature = ticket.split(".")
    try:
        presented = _b64decode(signature)
    except ValueError:
        raise TicketRefused("malformed") from None
    if not hmac.compare_digest(presented, _mac(secret_key, encoded)):
        raise TicketRefused("bad signature")
    try:
        payload = json.loads(_b64decode(encoded))
        named = Ticket(
            call_id=uuid.UUID(payload["call_id"]),
            call_sid=str(payload["call_sid"]),
            clinic_id=uuid.UUID(payload["clinic_id"]),
            caller=str(payload["caller"]),
            called=str(payload["called"]),
            expires_at=float(payload["exp"]),
        )
    except (ValueError, KeyError, TypeError):
        # Signed by us yet unreadable: a ticket of another version of this format.
        raise TicketRefused("malformed") from None
    if (time.time() if now is None else now) >= named.expires_at:
        raise TicketRefused("expired")
    return named


def _mac(secret_key: SecretStr | str, encoded_payload: str) -> bytes:
    key = derive_key(secret_key, _PURPOSE)
    return hmac.new(key, encoded_payload.encode("ascii"), hashlib.sha256).digest()


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """base64url without padding (ASCII text); ValueError for anything else."""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except binascii.Error:
        raise ValueError("not base64url") from None
