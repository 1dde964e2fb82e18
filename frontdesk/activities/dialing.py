"""Placing an outbound campaign call through Twilio's REST API, at most once per attempt.

The call is created with answering-machine detection (`DetectMessageEnd`), so by the time Twilio
asks our voice webhook what to do, it knows whether a person or a machine answered: a person gets
the media stream with the call's purpose, a machine gets the campaign's voicemail message. Status
callbacks (ringing, answered, busy, no-answer, completed) come back to `/twilio/status`, which
signals the target's OutboundCallWorkflow.

At most once: the attempt's key (workflow id + activity id) is recorded as a pending `place_call`
action before Twilio is asked, and completed with the call sid after. A retry finds the sid. A
definite refusal (Twilio answered with an error, or could not be connected to) clears the record
for the retry. Any other failure (a timeout, a dropped connection) leaves it pending: the call may
exist. Before any dial of a target, a pending record of that target (this attempt's earlier try,
or an earlier attempt's) is reconciled first: the call its status webhook tied to it (the status
callback URL carries the key), else Twilio's Calls list (same To and From, started since the
record). A call found is adopted as if just placed and nothing is dialled; none found clears the
record; if Twilio cannot be asked the activity fails retryably, so a target is never dialled blind.

Offline (`outbound_carrier` local, which `frontdesk dev` picks without Twilio credentials) the
local carrier places the call instead: a simulated patient answers through the same webhooks.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
from frontdesk.realtime.telephony.protocol import ATTEMPT_QUERY, STATUS_PATH, TARGET_QUERY, VOICE_PATH
from frontdesk.realtime.telephony.signatures import public_url
from frontdesk.realtime.telephony.twilio_rest import never_reached_twilio, twilio_rest_client

log = get_logger(__name__)

PLACE_CALL_KIND: Final = "place_call"
RING_SECONDS: Final = 25  # then Twilio reports no-answer
# Our clock and Twilio's differ: the Calls list is asked from a little before the record.
LIST_SLACK: Final = timedelta(minutes=5)
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
    return twilio_rest_client(settings, settings.twilio_dial_timeout_seconds)


@dataclass(frozen=True)
class _Unknown:
    """A dial of this target (under `key`) that may or may not have placed its call."""

    key: str
    dial: _Dial
    since: datetime  # when the dial was recorded: the call, if any, started after
    tied_sid: str | None  # the call its status webhook tied to it
    known_sids: frozenset[str]  # the target's calls already recorded (not this one)


def _place_call_action(request: PlaceCallInput, key: str) -> Action:
    return Action(
        clinic_id=request.clinic_id,
        kind=PLACE_CALL_KIND,
        payload={"target_id": str(request.target_id), "attempt": request.attempt},
        idempotency_key=key,
    )


def _claim(request: PlaceCallInput, key: str) -> PlacedCall | _Unknown | _Dial:
    """The call already placed under `key`, a dial of the target to reconcile first, or the dial
    to make (recorded as pending first)."""
    with domain_errors_are_final(), write_scope(database_engine()) as session:
        repo = ClinicRepository(session, request.clinic_id)
        action = repo.action_by_key(key)
        if action is not None and action.status is ActionStatus.succeeded and action.result:
            return PlacedCall(str(action.result["call_sid"]))
        target = repo.require(CampaignTarget, request.target_id)
        patient = repo.require(Patient, target.patient_id)
        numbers = repo.phone_numbers()
        if not numbers:
            raise ValueError("the clinic has no phone number to call from")
        dial = _Dial(to=patient.phone, from_=numbers[0].e164, target_id=target.id)
        dials = repo.actions(kind=PLACE_CALL_KIND, target_id=target.id)
        pending = [a for a in dials if a.status is ActionStatus.pending]
        if pending:
            tied = repo.get(Call, pending[0].call_id) if pending[0].call_id is not None else None
            placed = [a.result for a in dials if a.status is ActionStatus.succeeded and a.result]
            known = {str(result["call_sid"]) for result in placed}
            return _Unknown(
                pending[0].idempotency_key,
                dial,
                pending[0].created_at,
                tied.call_sid if tied is not None else None,
                frozenset(known),
            )
        if action is None:
            repo.add(_place_call_action(request, key))
        else:  # an earlier try was refused: try again under the same record
            action.status, action.error = ActionStatus.pending, None
        return dial


def _find_call(client: Client | None, unknown: _Unknown) -> str | None:
    """The call an unknown dial placed, as Twilio lists it; None when it placed none."""
    if client is None:  # the local carrier keeps no list to ask
        raise ApplicationError(
            f"call attempt {unknown.key} may already have been placed; it is not placed again",
            type="CallOutcomeUnknown",
            non_retryable=True,
        )
    try:
        calls = client.calls.list(
            to=unknown.dial.to,
            from_=unknown.dial.from_,
            start_time_after=(unknown.since - LIST_SLACK).astimezone(UTC),
        )
    except (TwilioRestException, requests.exceptions.RequestException) as exc:
        # Retryable: the next try (or attempt) asks again before dialling.
        raise ApplicationError(
            f"cannot ask Twilio whether call attempt {unknown.key} was placed; not dialling blind",
            type="CallOutcomeUnknown",
        ) from exc
    sids = [str(call.sid) for call in calls if str(call.sid) not in unknown.known_sids]
    return sids[0] if sids else None


def _create(client: Client | None, settings: Settings, dial: _Dial, key: str) -> str:
    """Ask Twilio (or, offline, the local carrier) to place the call; its sid."""
    voice_url = public_url(settings, VOICE_PATH, urlencode({TARGET_QUERY: str(dial.target_id)}))
    status_url = public_url(settings, STATUS_PATH, urlencode({ATTEMPT_QUERY: key}))
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
        raise  # the request may have reached Twilio: the record stays pending (so do timeouts)
    return str(call.sid)


def _record(request: PlaceCallInput, keys: list[str], dial: _Dial, call_sid: str) -> None:
    """The attempt succeeded: the records of `keys` (the attempt's, and an adopted dial's), the
    call's row and the target's progress."""
    try:
        _write_record(request, keys, dial, call_sid)
    except sa.exc.IntegrityError:  # a status webhook created the call's row meanwhile: use it
        _write_record(request, keys, dial, call_sid)


def _write_record(request: PlaceCallInput, keys: list[str], dial: _Dial, call_sid: str) -> None:
    with write_scope(database_engine()) as session:
        repo = ClinicRepository(session, request.clinic_id)
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
        for key in dict.fromkeys(keys):
            # Adopting at a new attempt's start, that attempt has no record yet.
            action = repo.action_by_key(key) or repo.add(_place_call_action(request, key))
            action.status, action.result, action.completed_at = (
                ActionStatus.succeeded,
                {"call_sid": call_sid},
                utcnow(),
            )
            action.call_id = call.id
        target.status = TargetStatus.in_progress
        target.attempts = max(target.attempts, request.attempt)
        target.last_call_sid = call_sid
        target.last_attempt_at = request.requested_at


def _clear(request: PlaceCallInput, key: str, error: str) -> None:
    """The dial under `key` placed no call: its record no longer stands in the way of a dial."""
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
    while isinstance(claimed, _Unknown):  # each turn settles one pending record
        adopted = claimed.tied_sid or _find_call(client, claimed)
        if adopted is not None:
            _record(request, [claimed.key, key], claimed.dial, adopted)
            log.info("outbound_call_adopted", key=key, unknown=claimed.key, call_sid=adopted)
            return PlacedCall(adopted)
        _clear(request, claimed.key, "Twilio has no call for this dial")
        log.info("outbound_call_not_placed", key=key, unknown=claimed.key)
        claimed = _claim(request, key)
    if isinstance(claimed, PlacedCall):
        return claimed
    try:
        call_sid = _create(client, settings, claimed, key)
    except _Refused as exc:
        _clear(request, key, str(exc))
        log.warning("outbound_call_refused", key=key, final=exc.final)
        raise ApplicationError(str(exc), type="CallRefused", non_retryable=exc.final) from exc
    _record(request, [key], claimed, call_sid)
    log.info("outbound_call_placed", key=key, call_sid=call_sid)
    return PlacedCall(call_sid)


DIALING_ACTIVITIES: Final = [place_outbound_call]
