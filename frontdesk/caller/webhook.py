"""The caller's HTTP side: the signed voice webhook Twilio posts when a call comes in, the TwiML it
gets back, and the status callbacks Twilio sends as the call progresses."""

import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final
from urllib.parse import urlencode, urlsplit

import httpx

from frontdesk.config import Settings
from frontdesk.domain.call_clock import CLOCK_QUERY
from frontdesk.telephony.twilio.protocol import STATUS_PATH, VOICE_PATH
from frontdesk.telephony.twilio.signatures import SIGNATURE_HEADER, sign

ACCOUNT_SID: Final = "AC" + "0" * 32  # the local caller's stand-in account
TIMEOUT_SECONDS: Final = 10.0


class WebhookError(Exception):
    """The stack refused the webhook or answered something that is not usable TwiML."""


@dataclass(frozen=True)
class CallPlaced:
    """What the voice webhook answered: a stream to open, or words to say before hanging up."""

    call_sid: str
    stream_url: str | None
    parameters: dict[str, str] = field(default_factory=dict)
    said: list[str] = field(default_factory=list)


def new_call_sid() -> str:
    """A fresh Twilio-shaped call sid (CA + 32 hex digits)."""
    return "CA" + secrets.token_hex(16)


async def _post_signed(settings: Settings, url: str, form: dict[str, str]) -> httpx.Response:
    headers = {SIGNATURE_HEADER: sign(settings, url, form)}
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            return await client.post(url, data=form, headers=headers)
    except httpx.HTTPError as exc:
        raise WebhookError(f"cannot reach the stack at {url}: {exc}") from exc


def parse_twiml(call_sid: str, twiml: str) -> CallPlaced:
    """The stream URL and parameters of <Connect><Stream>, or the <Say> texts of a refusal."""
    try:
        root = ET.fromstring(twiml)
    except ET.ParseError as exc:
        raise WebhookError(f"the voice webhook did not answer TwiML: {exc}") from None
    stream = root.find("./Connect/Stream")
    said = [element.text or "" for element in root.iter("Say")]
    if stream is None:
        return CallPlaced(call_sid, None, said=said)
    url = stream.get("url")
    if not url:
        raise WebhookError("the TwiML <Stream> has no url")
    parameters = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
    return CallPlaced(call_sid, url, parameters, said)


def at_moment(url: str, clock: datetime | None) -> str:
    """The voice URL asking the stack to run the call at `clock` (aware), or `url` itself."""
    if clock is None:
        return url
    separator = "&" if urlsplit(url).query else "?"
    return f"{url}{separator}{urlencode({CLOCK_QUERY: clock.isoformat()})}"


async def place_call(
    settings: Settings, base_url: str, to: str, caller: str, clock: datetime | None = None
) -> CallPlaced:
    """POST the voice webhook for a new inbound call from `caller` to `to`, signed; parse its TwiML.
    With `clock`, the call happens at that moment (a stack with call_clock_override)."""
    call_sid = new_call_sid()
    form = {
        "CallSid": call_sid,
        "AccountSid": ACCOUNT_SID,
        "From": caller,
        "To": to,
        "Direction": "inbound",
        "CallStatus": "ringing",
    }
    return await _voice(settings, at_moment(base_url.rstrip("/") + VOICE_PATH, clock), form)


async def _voice(settings: Settings, url: str, form: dict[str, str]) -> CallPlaced:
    response = await _post_signed(settings, url, form)
    if response.status_code != 200:
        raise WebhookError(f"the voice webhook answered {response.status_code}: {response.text[:200]}")
    return parse_twiml(form["CallSid"], response.text)


def outbound_form(call_sid: str, clinic: str, patient: str, status: str) -> dict[str, str]:
    """The fields Twilio posts about a call the clinic placed to a patient."""
    return {
        "CallSid": call_sid,
        "AccountSid": ACCOUNT_SID,
        "From": clinic,
        "To": patient,
        "Direction": "outbound-api",
        "CallStatus": status,
    }


async def answer_outbound(
    settings: Settings,
    voice_url: str,
    call_sid: str,
    clinic: str,
    patient: str,
    answered_by: str = "human",
) -> CallPlaced:
    """POST the voice webhook of an outbound call once answered, with the verdict of Twilio's
    answering-machine detection (`human`, `machine_end_beep`...); parse its TwiML."""
    form = outbound_form(call_sid, clinic, patient, "in-progress") | {"AnsweredBy": answered_by}
    return await _voice(settings, voice_url, form)


async def report_outbound_status(
    settings: Settings, status_url: str, call_sid: str, clinic: str, patient: str, status: str
) -> None:
    """POST a status callback of an outbound call."""
    response = await _post_signed(settings, status_url, outbound_form(call_sid, clinic, patient, status))
    if response.status_code >= 300:
        raise WebhookError(f"the status callback answered {response.status_code}: {response.text[:200]}")


async def report_status(settings: Settings, base_url: str, call_sid: str, to: str, status: str) -> None:
    """POST a call status callback (in-progress, completed...) as Twilio would."""
    form = {
        "CallSid": call_sid,
        "AccountSid": ACCOUNT_SID,
        "To": to,
        "Direction": "inbound",
        "CallStatus": status,
    }
    response = await _post_signed(settings, base_url.rstrip("/") + STATUS_PATH, form)
    if response.status_code >= 300:
        raise WebhookError(f"the status callback answered {response.status_code}: {response.text[:200]}")
