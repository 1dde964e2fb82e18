"""Placing a web call: the dashboard's "talk to your agent" button, as the voice webhook answers
a phone call.

`start_browser_call` records the call's row (direction web, from a placeholder number to the
clinic's main number), starts its CallWorkflow as the voice webhook does for an inbound call (so
its changes, transcript and post-call work go as a phone call's), and returns where the browser's
socket goes and the ticket that opens it. The caller's number is a placeholder
(frontdesk.domain.web_callers): an admin's test call carries no patient's data.
"""

import asyncio
import uuid
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Engine
from sqlmodel import Session

from frontdesk.api.backends import Backends
from frontdesk.config import Settings
from frontdesk.domain.calls import ensure_call
from frontdesk.domain.errors import DomainError
from frontdesk.domain.models import CallDirection
from frontdesk.domain.repository import ClinicRepository
from frontdesk.domain.web_callers import WEB_CALL_SID_PREFIX, web_caller_number
from frontdesk.logs import get_logger
from frontdesk.telephony.browser.protocol import BROWSER_STREAM_PATH
from frontdesk.telephony.browser.tickets import issue_ticket
from frontdesk.telephony.public_urls import websocket_url
from frontdesk.workflows.inputs import CallInput
from frontdesk.workflows.launch import start_call_workflow

MAIN_NUMBER_LABEL: Final = "main"

_log = get_logger(__name__)


class NoClinicNumber(DomainError):
    """The clinic has no phone number, which a call (even a web one) is placed to."""

    code = "no_clinic_number"

    def __init__(self) -> None:
        super().__init__("This clinic has no phone number yet: add one, then talk to its agent.")


@dataclass(frozen=True)
class BrowserCall:
    """A web call, placed: where the page's socket goes and the ticket it starts with."""

    call_id: uuid.UUID
    call_sid: str
    websocket_url: str
    ticket: str

    def as_json(self) -> dict[str, str]:
        """What the page's script takes (talk.js)."""
        return {"websocket_url": self.websocket_url, "ticket": self.ticket, "call_id": str(self.call_id)}


@dataclass(frozen=True)
class _Line:
    number: str  # the clinic's main number
    max_call_seconds: int


async def start_browser_call(backends: Backends, settings: Settings, clinic_id: uuid.UUID) -> BrowserCall:
    """Place a web call to the clinic's agent (see the module docstring). Raises NotFound for no
    such clinic and NoClinicNumber when it has no number."""
    line = await asyncio.to_thread(_clinic_line, backends.engine, clinic_id)
    call_sid = f"{WEB_CALL_SID_PREFIX}{uuid.uuid4().hex}"
    caller = web_caller_number(call_sid)
    call_id = await asyncio.to_thread(
        ensure_call,
        backends.engine,
        clinic_id,
        call_sid=call_sid,
        direction=CallDirection.web,
        from_number=caller,
        to_number=line.number,
    )
    # As the voice webhook: the call goes on regardless, the media server tries again at its start.
    await start_call_workflow(
        backends.temporal,
        settings.temporal_task_queue,
        CallInput(clinic_id, call_id, call_sid, max_call_seconds=line.max_call_seconds),
    )
    ticket = issue_ticket(
        settings.secret_key,
        call_id=call_id,
        call_sid=call_sid,
        clinic_id=clinic_id,
        caller=caller,
        called=line.number,
    )
    _log.info("browser.call_placed", call_sid=call_sid, clinic_id=str(clinic_id), call_id=str(call_id))
    return BrowserCall(call_id, call_sid, websocket_url(settings, BROWSER_STREAM_PATH), ticket)


def _clinic_line(engine: Engine, clinic_id: uuid.UUID) -> _Line:
    """The clinic's main number (labelled main, else its first) and maximum call length."""
    with Session(engine) as session:
        repo = ClinicRepository(session, clinic_id)
        clinic = repo.clinic()
        numbers = repo.phone_numbers()
        if not numbers:
            raise NoClinicNumber()
        main = next((n for n in numbers if n.label == MAIN_NUMBER_LABEL), numbers[0])
        return _Line(main.e164, clinic.max_call_seconds)
