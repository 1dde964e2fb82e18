"""Twilio's incoming-message webhook, `POST /twilio/sms`: STOP and START from patients.

The X-Twilio-Signature is checked first (403 otherwise), then the form fields (400 with what is
wrong). The body, trimmed and in any case, decides:

- STOP, STOPALL, UNSUBSCRIBE, CANCEL, END or QUIT: the sender's number goes on the do-not-contact
  list of the clinic that owns the number the message was sent to, for calls and texts alike (a
  patient may revoke consent by any reasonable means, and a STOP says "leave me alone"), whether
  or not a patient has that number yet;
- START, UNSTOP or YES: texts are allowed again; calls stay blocked until the patient or staff
  say otherwise (a START answers the texts, not the calls);
- anything else is not ours to handle: 204, nothing changes.

A keyword sent to a number no clinic owns gets 404, so the misconfigured number shows in
Twilio's debugger. A handled keyword is answered with an empty `<Response/>`: Twilio's Advanced
Opt-Out sends the reply the carrier requires. Each change is keyed by the MessageSid, so Twilio's
retries change nothing twice (frontdesk.domain.opt_outs). Logs carry no phone numbers in clear.
"""

from typing import Final

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool
from twilio.twiml.messaging_response import MessagingResponse

from frontdesk.api.backends import get_backends
from frontdesk.config import Settings
from frontdesk.domain.opt_outs import OptOutChannel, set_opt_out
from frontdesk.logs import get_logger
from frontdesk.telephony.twilio.voice_webhooks import (
    TWIML_MEDIA_TYPE,
    E164Number,
    _find_clinic_id,
    _parse,
    _signed_form,
    _TwilioForm,
)

SMS_PATH: Final = "/twilio/sms"
STOP_KEYWORDS: Final = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_KEYWORDS: Final = frozenset({"START", "UNSTOP", "YES"})

_log = get_logger(__name__)


class SmsForm(_TwilioForm):
    """The fields of Twilio's incoming-message webhook that we use."""

    message_sid: str = Field(pattern=r"^(SM|MM)[0-9a-fA-F]{32}$")
    from_number: E164Number = Field(alias="From")
    to_number: E164Number = Field(alias="To")
    body: str = Field(default="", max_length=1600)

    def opts_out(self) -> bool | None:
        """True for a STOP keyword, False for a START keyword, None for any other message."""
        keyword = self.body.strip().upper()
        if keyword in STOP_KEYWORDS:
            return True
        if keyword in START_KEYWORDS:
            return False
        return None


def twilio_sms_router(settings: Settings) -> APIRouter:
    """The router of POST /twilio/sms (see the module docstring)."""
    router = APIRouter()

    @router.post(SMS_PATH, response_class=Response)
    async def sms(request: Request) -> Response:
        form = _parse(SmsForm, await _signed_form(request, settings))
        opted_out = form.opts_out()
        if opted_out is None:
            return Response(status_code=204)
        engine = get_backends(request).engine
        clinic_id = await run_in_threadpool(_find_clinic_id, engine, form.to_number)
        if clinic_id is None:
            _log.info("twilio.sms_unknown_number", message_sid=form.message_sid, to=form.to_number)
            raise HTTPException(404, "no clinic owns the number this message was sent to")
        patients = await run_in_threadpool(
            lambda: set_opt_out(
                engine,
                clinic_id,
                phone=form.from_number,
                channel=OptOutChannel.all if opted_out else OptOutChannel.sms,
                opted_out=opted_out,
                idempotency_key=f"sms/{form.message_sid}",
            )
        )
        _log.info(
            "twilio.sms_opt_out" if opted_out else "twilio.sms_opt_in",
            message_sid=form.message_sid,
            clinic_id=str(clinic_id),
            patients=patients,
        )
        return Response(str(MessagingResponse()), media_type=TWIML_MEDIA_TYPE)

    return router
