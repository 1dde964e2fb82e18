"""Twilio's REST API for a live call: transfer it to a person, or end it.

The real `twilio` SDK does the talking (its sync HTTP client, run in a worker thread so the event
loop never blocks); `settings.twilio_base_url` points it at another server (the fake in tests).
Without Twilio credentials (the offline stack) there is no REST API to call: `twilio_calls_for`
returns None and the media transport ends the stream itself (see `TwilioMediaTransport`).
"""

import asyncio
from typing import Final

import requests
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse
from urllib3.exceptions import NewConnectionError

from frontdesk.config import Settings
from frontdesk.domain.models import check_e164
from frontdesk.logs import get_logger

REQUEST_TIMEOUT_SECONDS: Final = 10.0

_log = get_logger(__name__)


class TelephonyError(Exception):
    """Twilio refused or could not be reached; the message says which call and what failed."""


def dial_twiml(number: str) -> str:
    """The TwiML that hands a live call to `number`: <Response><Dial>number</Dial></Response>."""
    response = VoiceResponse()
    response.dial(check_e164(number, "transfer number"))
    return str(response)


def twilio_rest_client(settings: Settings, timeout: float = REQUEST_TIMEOUT_SECONDS) -> Client:
    """The `twilio` SDK's client for the configured account (at `twilio_base_url` when set, as in
    tests). Raises ValueError unless `settings` has twilio_account_sid and twilio_auth_token."""
    if not settings.twilio_account_sid or settings.twilio_auth_token is None:
        raise ValueError("Twilio's REST API needs twilio_account_sid and twilio_auth_token")
    client = Client(
        settings.twilio_account_sid,
        settings.twilio_auth_token.get_secret_value(),
        http_client=TwilioHttpClient(timeout=timeout),
    )
    if settings.twilio_base_url:
        client.api.base_url = settings.twilio_base_url.rstrip("/")
    return client


def never_reached_twilio(exc: requests.exceptions.ConnectionError) -> bool:
    """Whether a failed request certainly never reached Twilio (so sending it again is safe):
    the connection was refused or timed out, rather than dropped after the request went out."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.exceptions.ConnectTimeout) or isinstance(reason, NewConnectionError)


class TwilioCalls:
    """Transfers and hangs up live calls through the Calls resource of Twilio's REST API."""

    def __init__(self, settings: Settings) -> None:
        """Raises ValueError unless `settings` has twilio_account_sid and twilio_auth_token."""
        self._client = twilio_rest_client(settings)

    async def transfer(self, call_sid: str, number: str) -> None:
        """Replace the call's TwiML with a <Dial> of `number` (E.164); the media stream ends."""
        await self._update(call_sid, "transfer", twiml=dial_twiml(number))

    async def hangup(self, call_sid: str) -> None:
        """End the call (status=completed)."""
        await self._update(call_sid, "hangup", status="completed")

    async def _update(self, call_sid: str, action: str, **fields: str) -> None:
        def update() -> None:
            self._client.calls(call_sid).update(**fields)  # type: ignore[arg-type]

        try:
            await asyncio.to_thread(update)
        except (TwilioException, OSError) as exc:
            _log.error("twilio.rest_failed", call_sid=call_sid, action=action, error_type=type(exc).__name__)
            raise TelephonyError(f"Twilio {action} of call {call_sid} failed: {exc}") from exc
        _log.info("twilio.rest_done", call_sid=call_sid, action=action)


def twilio_calls_for(settings: Settings) -> TwilioCalls | None:
    """The REST client when Twilio credentials are configured, else None (offline)."""
    if settings.twilio_account_sid and settings.twilio_auth_token is not None:
        return TwilioCalls(settings)
    return None
