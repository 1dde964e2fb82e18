"""Placing an outbound campaign call through Twilio's REST API, at most once per attempt.

The call is created with answering-machine detection (`DetectMessageEnd`), so by the time Twilio
asks our voice webhook what to do, it knows whether a person or a machine answered: a person gets
the media stream with the call's purpose, a machine gets the campaign's voicemail message. Status
callbacks (ringing, answered, busy, no-answer, completed) come back to `/twilio/status`, which
signals the target's OutboundCallWorkflow.

At most once: the attempt's key (workflow id + activity id) is recorded as a pending `place_call`
action before Twilio is asked, and completed with the call sid after. A retry finds the sid; a
pending record means an earlier try stopped after asking Twilio, so the call may exist and it is
not placed again (a missed call is better than ringing a patient twice). A definite refusal
(Twilio answered with an error, or could not be connected to) clears the record for the retry.

Offline (`outbound_carrier` local, which `frontdesk dev` picks without Twilio credentials) the
local carrier places the call instead: a simulated patient answers through the same webhooks.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import urlencode
from uuid import UUID

import requests
import sqlalchemy as sa
from temporalio import activity
from temporalio.exceptions import ApplicationError
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from frontdesk.activities.appointments import domain_errors_are_final
from frontdesk.activities.summaries import activity_key, database_engine
from frontdesk.caller.local_carrier import place_local_call
from frontdesk.config import Settings, get_settings
from frontdesk.domain.campaign_settings import TargetStatus
from frontdesk.domain.database import write_scope
from frontdesk.domain.models import (
    Action,
    ActionStatus,
    Call,
    CallDirection,
    CallStatus,
    CampaignTarget,
    Patient,
    utcnow,
)
from frontdesk.domain.repository import ClinicRepository
from frontdesk.logs import get_logger
from frontdesk.realtime.telephony.protocol import STATUS_PATH, TARGET_QUERY, VOICE_PATH
from frontdesk.realtime.telephony.signatures import public_url
from frontdesk.realtime.telephony.twilio_rest import never_reached_twilio, twilio_rest_client

log = get_logger(__name__)

PLACE_CALL_KIND: Final = "place_call"
RING_SECONDS: Final = 25  # then Twilio reports no-answer
REQUEST_TIMEOUT_SECONDS: Final = 15.0
STATUS_EVENTS: Final = ["initiated", "ringing", "answered", "completed"]


@dataclass(frozen=True)
class PlaceCallInput:
    """One attempt to call one campaign target."""

    clinic_id: UUID
    target_id: UUID
    attempt: int
    requested_at: datetime  # the workflow's clock when it placed the call (what pacing is measured by)


@dataclass(frozen=True)
class PlacedCall:
    """The call Twilio created."""

    call_sid: str


@dataclass(frozen=True)
class _Dial:
    to: str
    from_: str
    target_id: UUID


class _Refused(Exception):
    """Twilio definitely did not create the call; `final` when retrying cannot help."""

    def __init__(self, message: str, *, final: bool) -> None:
        super().__init__(message)
        self.final = final


def _twilio(settings: Settings) -> Client:
    if not settings.twilio_account_sid or settings.twilio_auth_token is None:
        raise ApplicationError(
            "outbound calls need Twilio: set FRONTDESK_TWILIO_ACCOUNT_SID and FRONTDESK_TWILIO_AUTH_TOKEN",
            type="NoTelephony",
            non_retryable=True,
        )
    return twilio_rest_client(settings, REQUEST_TIMEOUT_SECONDS)


def _claim(request: PlaceCallInput, key: str) -> PlacedCall | _Dial:
    """The call already placed under `key`, or the dial to make (recorded as pending first)."""
    with domain_errors_are_final(), write_scope(database_engine()) as session:
        repo = ClinicRepository(session, request.clinic_id)
        action = repo.action_by_key(key)
        if action is not None and action.status is ActionStatus.succeeded and action.result:
            return PlacedCall(str(action.result["call_sid"]))
        if action is not None and action.status is ActionStatus.pending:
            raise ApplicationError(
                f"call attempt {key} may already have been placed (an earlier try stopped while asking "
                "Twilio); it is not placed again",
                type="CallOutcomeUnknown",
                non_retryable=True,
            )
        target = repo.require(CampaignTarget, request.target_id)
        patient = repo.require(Patient, target.patient_id)
        numbers = repo.phone_numbers()
        if not numbers:
            raise ValueError("the clinic has no phone number to call from")
        if action is None:
            repo.add(
                Action(
                    clinic_id=request.clinic_id,
                    kind=PLACE_CALL_KIND,
                    payload={"target_id": str(target.id), "attempt": request.attempt},
                    idempotency_key=key,
                )
            )
        else:  # an earlier try was refused: try again under the same record
            action.status, action.error = ActionStatus.pending, None
        return _Dial(to=patient.phone, from_=numbers[0].e164, target_id=target.id)


def _create(client: Client | None, settings: Settings, dial: _Dial) -> str:
    """Ask Twilio (or, offline, the local carrier) to place the call; its sid."""
    voice_url = public_url(settings, VOICE_PATH, urlencode({TARGET_QUERY: str(dial.target_id)}))
    status_url = public_url(settings, STATUS_PATH)
    if client is None:
        return place_local_call(settings, voice_url, status_url, dial.from_, dial.to)
    try:
        call = client.calls.create(
            to=dial.to,
            from_=dial.from_,
            url=voice_url,
            method="POST",
            status_callback=status_url,
            status_callback_event=STATUS_EVENTS,
            status_callback_method="POST",
            machine_detection="DetectMessageEnd",
            timeout=RING_SECONDS,
        )
    except TwilioRestException as exc:
        final = exc.status != 429 and exc.status < 500
        raise _Refused(f"Twilio refused the call (HTTP {exc.status}, code {exc.code})", final=final) from exc
    except requests.exceptions.ConnectionError as exc:
        if never_reached_twilio(exc):
            raise _Refused("Twilio cannot be reached", final=False) from exc
        raise  # the request may have reached Twilio: the record stays pending
    return str(call.sid)


def _record(request: PlaceCallInput, key: str, dial: _Dial, call_sid: str) -> None:
    """The attempt succeeded: its record, the call's row and the target's progress."""
    try:
        _write_record(request, key, dial, call_sid)
    except sa.exc.IntegrityError:  # a status webhook created the call's row meanwhile: use it
        _write_record(request, key, dial, call_sid)


def _write_record(request: PlaceCallInput, key: str, dial: _Dial, call_sid: str) -> None:
    with write_scope(database_engine()) as session:
        repo = ClinicRepository(session, request.clinic_id)
        action = repo.action_by_key(key)
        assert action is not None  # claimed above; actions are never deleted
        action.status, action.result, action.completed_at = (
            ActionStatus.succeeded,
            {"call_sid": call_sid},
            utcnow(),
        )
        target = repo.require(CampaignTarget, request.target_id)
        call = repo.call_by_sid(call_sid)  # the voice webhook may have written it already
        if call is None:
            call = repo.add(
                Call(
                    clinic_id=request.clinic_id,
                    call_sid=call_sid,
                    direction=CallDirection.outbound,
                    from_number=dial.from_,
                    to_number=dial.to,
                    status=CallStatus.queued,
                )
            )
            session.flush()  # the action below refers to it
        call.patient_id = target.patient_id
        action.call_id = call.id
        target.status = TargetStatus.in_progress
        target.attempts = max(target.attempts, request.attempt)
        target.last_call_sid = call_sid
        target.last_attempt_at = request.requested_at


def _refused(request: PlaceCallInput, key: str, error: str) -> None:
    with write_scope(database_engine()) as session:
        action = ClinicRepository(session, request.clinic_id).action_by_key(key)
        assert action is not None
        action.status, action.error = ActionStatus.failed, error


@activity.defn(name="place_outbound_call")
def place_outbound_call(request: PlaceCallInput) -> PlacedCall:
    """Place one attempt's call through Twilio, at most once (see the module docstring)."""
    key = activity_key()
    settings = get_settings()
    client = _twilio(settings) if settings.outbound_carrier == "twilio" else None
    claimed = _claim(request, key)
    if isinstance(claimed, PlacedCall):
        return claimed
    try:
        call_sid = _create(client, settings, claimed)
    except _Refused as exc:
        _refused(request, key, str(exc))
        log.warning("outbound_call_refused", key=key, final=exc.final)
        raise ApplicationError(str(exc), type="CallRefused", non_retryable=exc.final) from exc
    _record(request, key, claimed, call_sid)
    log.info("outbound_call_placed", key=key, call_sid=call_sid)
    return PlacedCall(call_sid)


DIALING_ACTIVITIES: Final = [place_outbound_call]
