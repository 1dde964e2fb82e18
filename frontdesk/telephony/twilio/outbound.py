"""The Twilio carrier of the worker: campaign calls placed and found again, text messages sent.

A call is created with our webhooks as its voice URL (which names the campaign target) and status
callback (which names the dialler's attempt key, so a status report ties the call to its attempt
even when the create's answer was lost), and with asynchronous answering-machine detection: the
voice webhook connects whoever answers to the agent at once, and Twilio posts its verdict to the
AMD callback (which names the target too), for a machine once its greeting has ended. Finding a
call asks the Calls list twice, as Twilio lists them: calls that started (by `StartTime>`), and
calls still queued (which have no start time yet); both filtered by To and From, and by creation
time here as well, since Twilio filters start times by date.
"""

from datetime import datetime, timedelta
from typing import Final
from urllib.parse import urlencode

from twilio.rest.api.v2010.account.call import CallInstance

from frontdesk.config import Settings
from frontdesk.telephony.carrier import OutboundDial
from frontdesk.telephony.public_urls import public_url
from frontdesk.telephony.twilio.protocol import AMD_PATH, ATTEMPT_QUERY, STATUS_PATH, TARGET_QUERY, VOICE_PATH
from frontdesk.telephony.twilio.rest import REQUEST_TIMEOUT_SECONDS, TwilioApi

RING_SECONDS: Final = 25  # then Twilio reports no-answer
STATUS_EVENTS: Final = ["initiated", "ringing", "answered", "completed"]
# Twilio's clock and ours differ: a call created a little before the dial was recorded is its call.
CLOCK_SLACK: Final = timedelta(minutes=5)


def dial_urls(settings: Settings, dial: OutboundDial) -> tuple[str, str]:
    """The voice URL (naming the target) and status callback URL (naming the attempt) of `dial`."""
    voice_url = public_url(settings, VOICE_PATH, urlencode({TARGET_QUERY: str(dial.target_id)}))
    status_url = public_url(settings, STATUS_PATH, urlencode({ATTEMPT_QUERY: dial.attempt_key}))
    return voice_url, status_url


def amd_callback_url(settings: Settings, dial: OutboundDial) -> str:
    """The URL answering-machine detection posts its verdict to, naming the target (whose voicemail a
    machine gets)."""
    return public_url(settings, AMD_PATH, urlencode({TARGET_QUERY: str(dial.target_id)}))


class TwilioCarrier:
    """Places and finds outbound calls and sends SMS through the configured Twilio account."""

    def __init__(self, settings: Settings) -> None:
        """Raises ValueError unless `settings` has twilio_account_sid and twilio_auth_token."""
        self._settings = settings
        self._dials = TwilioApi(settings, settings.twilio_dial_timeout_seconds)
        self._texts = TwilioApi(settings, REQUEST_TIMEOUT_SECONDS)

    async def place_call(self, dial: OutboundDial) -> str:
        voice_url, status_url = dial_urls(self._settings, dial)
        call = await self._dials.ask(
            "the call",
            lambda client: client.calls.create_async(
                to=dial.to,
                from_=dial.from_,
                url=voice_url,
                method="POST",
                status_callback=status_url,
                status_callback_event=STATUS_EVENTS,
                status_callback_method="POST",
                # The verdict on a machine comes after its greeting, when a voicemail can be left.
                machine_detection="DetectMessageEnd",
                async_amd="true",  # a string: the SDK sends it as given, Twilio's boolean is "true"
                async_amd_status_callback=amd_callback_url(self._settings, dial),
                async_amd_status_callback_method="POST",
                timeout=RING_SECONDS,
            ),
        )
        return str(call.sid)

    async def find_call(self, dial: OutboundDial, since: datetime, excluding: frozenset[str]) -> str | None:
        earliest = since - CLOCK_SLACK
        started = await self._dials.ask(
            "the Calls list",
            lambda client: client.calls.list_async(to=dial.to, from_=dial.from_, start_time_after=earliest),
        )
        queued = await self._dials.ask(
            "the Calls list",
            lambda client: client.calls.list_async(to=dial.to, from_=dial.from_, status="queued"),
        )
        found = [call for call in [*started, *queued] if _created_since(call, earliest)]
        sids = [str(call.sid) for call in found if str(call.sid) not in excluding]
        return sids[0] if sids else None

    async def send_sms(self, to: str, from_: str, body: str) -> str:
        message = await self._texts.ask(
            "the SMS", lambda client: client.messages.create_async(to=to, from_=from_, body=body)
        )
        return str(message.sid)


def _created_since(call: CallInstance, earliest: datetime) -> bool:
    # A call Twilio lists without a creation time is kept: adopting it is safer than ringing again.
    return call.date_created is None or call.date_created >= earliest
