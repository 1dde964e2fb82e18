"""The phone network of an offline stack, for outbound calls: what Twilio does for a campaign call,
done locally, with a simulated patient who picks up.

`LocalCarrier.place_call` returns a call sid at once, as Twilio's Calls API does, and carries the
call on a thread of its own: it posts the signed voice webhook (answered by a person), opens the media
stream the TwiML names, speaks the patient's lines with the offline voice, and posts the final
status callback. So `frontdesk dev` without Twilio credentials runs a reminder campaign through
the same webhooks, media path, CallWorkflow and status signals as a real one.
"""

import asyncio
import threading
from datetime import datetime
from typing import Final

from frontdesk.caller.conversation import CallResult, converse, render_lines
from frontdesk.caller.script import Say, Step
from frontdesk.caller.webhook import WebhookError, answer_outbound, new_call_sid, report_outbound_status
from frontdesk.config import Settings
from frontdesk.logs import get_logger
from frontdesk.telephony.carrier import CannotReconcile, OutboundDial
from frontdesk.telephony.twilio.outbound import dial_urls

log = get_logger(__name__)

# The simulated patient: it is them, they will come, nothing else.
PATIENT_LINES: Final[list[Step]] = [
    Say("Yes, speaking."),
    Say("Yes, I'll be there. Thank you."),
    Say("No, that's all. Bye."),
]


class LocalCarrier:
    """The offline stack's carrier: each call a simulated patient on a thread; no list of calls."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def place_call(self, dial: OutboundDial) -> str:
        """Start a simulated call from the clinic to the patient of `dial`; its call sid."""
        voice_url, status_url = dial_urls(self._settings, dial)
        call_sid = new_call_sid()
        thread = threading.Thread(
            target=asyncio.run,
            args=(_carry(self._settings, voice_url, status_url, call_sid, dial.from_, dial.to),),
            name=f"local-carrier-{call_sid[-8:]}",
            daemon=True,
        )
        thread.start()
        return call_sid

    async def find_call(self, dial: OutboundDial, since: datetime, excluding: frozenset[str]) -> str | None:
        """Never: the local carrier keeps no record of the calls it placed."""
        raise CannotReconcile("the local carrier keeps no list of the calls it placed")


async def _carry(
    settings: Settings, voice_url: str, status_url: str, call_sid: str, clinic: str, patient: str
) -> None:
    """Answer, talk, hang up; any failure ends the call as failed (never silently)."""
    from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech  # the offline voice, loaded here

    status = "failed"
    try:
        tts = PiperTextToSpeech(varied=False)
        speech = await render_lines(tts, PATIENT_LINES)
        placed = await answer_outbound(settings, voice_url, call_sid, clinic, patient)
        if placed.stream_url is not None:
            await converse(settings, placed, PATIENT_LINES, speech, CallResult(call_sid, patient))
        status = "completed"
    except Exception as exc:  # the carrier's thread has nobody to raise to: log it, fail the call
        log.error("local_carrier_failed", call_sid=call_sid, error=f"{type(exc).__name__}: {exc}")
    finally:
        try:
            await report_outbound_status(settings, status_url, call_sid, clinic, patient, status)
        except WebhookError as exc:
            log.error("local_carrier_status_lost", call_sid=call_sid, error=str(exc))
