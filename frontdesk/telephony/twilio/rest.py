"""Twilio's REST API through the `twilio` SDK's async client: live calls transferred, ended or
turned over to a voicemail message, outbound calls placed and listed, text messages sent.

`settings.twilio_base_url` points the SDK at another server (the fake in tests). Each request
runs in an HTTP session of its own under a deadline of ours (the SDK's async client does not
apply its timeout), and its failure is sorted by what Twilio may have done: an error answer or
a connection never made means nothing happened (`CarrierRefused`); a timeout or a dropped
connection means it may have (`CarrierOutcomeUnknown`). Without Twilio credentials (the offline
stack) there is no REST API: `twilio_calls_for` returns None and the media transport ends the
stream itself (see `TwilioMediaTransport`).
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from frontdesk.config import Settings
from frontdesk.domain.models import check_e164
from frontdesk.logs import get_logger
from frontdesk.telephony.carrier import CarrierOutcomeUnknown, CarrierRefused

REQUEST_TIMEOUT_SECONDS: Final = 10.0

T = TypeVar("T")

_log = get_logger(__name__)


class TelephonyError(Exception):
    """Twilio refused or could not be reached; the message says which call and what failed."""


def dial_twiml(number: str) -> str:
    """The TwiML that hands a live call to `number`: <Response><Dial>number</Dial></Response>."""
    response = VoiceResponse()
    response.dial(check_e164(number, "transfer number"))
    return str(response)


def voicemail_twiml(message: str) -> str:
    """The TwiML that leaves `message` on an answering machine: <Say>message</Say><Hangup/>."""
    response = VoiceResponse()
    response.say(message)
    response.hangup()
    return str(response)


class TwilioApi:
    """The configured account's REST API, one request at a time, each under `timeout` seconds."""

    def __init__(self, settings: Settings, timeout: float = REQUEST_TIMEOUT_SECONDS) -> None:
        """Raises ValueError unless `settings` has twilio_account_sid and twilio_auth_token."""
        if not settings.twilio_account_sid or settings.twilio_auth_token is None:
            raise ValueError("Twilio's REST API needs twilio_account_sid and twilio_auth_token")
        self._account_sid = settings.twilio_account_sid
        self._auth_token = settings.twilio_auth_token.get_secret_value()
        self._base_url = settings.twilio_base_url.rstrip("/") if settings.twilio_base_url else None
        self._timeout = timeout

    async def ask(self, what: str, request: Callable[[Client], Awaitable[T]]) -> T:
        """`request` run with the SDK's client; `what` names it in errors ("the call", "the SMS").

        Raises CarrierRefused (Twilio answered with an error, or was never connected to) or
        CarrierOutcomeUnknown (the request may have reached Twilio).
        """
        try:
            async with asyncio.timeout(self._timeout), AsyncTwilioHttpClient() as http:
                client = Client(self._account_sid, self._auth_token, http_client=http)
                if self._base_url:
                    client.api.base_url = self._base_url
                return await request(client)
        except TwilioRestException as exc:
            final = exc.status != 429 and exc.status < 500
            raise CarrierRefused(
                f"Twilio refused {what} (HTTP {exc.status}, code {exc.code})", final=final
            ) from exc
        except aiohttp.ClientConnectorError as exc:  # no connection was made: nothing was sent
            raise CarrierRefused(f"Twilio cannot be reached for {what}", final=False) from exc
        except (TimeoutError, aiohttp.ClientError, TwilioException) as exc:
            # TwilioException: an answer the SDK could not read (a list page that failed, say).
            raise CarrierOutcomeUnknown(f"{what} may have reached Twilio ({type(exc).__name__})") from exc


class TwilioCalls:
    """Transfers, hangs up and leaves voicemails on live calls through the Calls resource of
    Twilio's REST API."""

    def __init__(self, settings: Settings) -> None:
        """Raises ValueError unless `settings` has twilio_account_sid and twilio_auth_token."""
        self._api = TwilioApi(settings)

    async def transfer(self, call_sid: str, number: str) -> None:
        """Replace the call's TwiML with a <Dial> of `number` (E.164); the media stream ends."""
        await self._update(call_sid, "transfer", twiml=dial_twiml(number))

    async def hangup(self, call_sid: str) -> None:
        """End the call (status=completed)."""
        await self._update(call_sid, "hangup", status="completed")

    async def leave_voicemail(self, call_sid: str, message: str) -> None:
        """Replace the call's TwiML with `message` said, then a hang-up; the media stream ends."""
        await self._update(call_sid, "voicemail", twiml=voicemail_twiml(message))

    async def _update(self, call_sid: str, action: str, **fields: str) -> None:
        try:
            await self._api.ask(
                f"the {action} of call {call_sid}",
                lambda client: client.calls(call_sid).update_async(**fields),  # type: ignore[arg-type]
            )
        except (CarrierRefused, CarrierOutcomeUnknown) as exc:
            _log.error("twilio.rest_failed", call_sid=call_sid, action=action, error=str(exc))
            raise TelephonyError(f"Twilio {action} of call {call_sid} failed: {exc}") from exc
        _log.info("twilio.rest_done", call_sid=call_sid, action=action)


def twilio_calls_for(settings: Settings) -> TwilioCalls | None:
    """The REST client when Twilio credentials are configured, else None (offline)."""
    if settings.twilio_account_sid and settings.twilio_auth_token is not None:
        return TwilioCalls(settings)
    return None
