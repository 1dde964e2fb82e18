"""Placing an outbound campaign call through the worker's carrier, at most once per attempt.

The carrier (Twilio, or offline the local carrier `frontdesk dev` picks without Twilio
credentials) is handed to `DialingActivities` when the worker starts; see
frontdesk.telephony.twilio.outbound for how Twilio is asked (answering-machine detection, the
webhooks named in the call). Status callbacks (ringing, answered, busy, no-answer, completed)
come back to `/twilio/status`, which signals the target's OutboundCallWorkflow.

At most once: the attempt's key (workflow id + activity id) is recorded as a pending `place_call`
action before the carrier is asked, and completed with the call sid after. A retry finds the sid.
A definite refusal (the carrier answered with an error, or could not be connected to) clears the
record for the retry. Any other failure (a timeout, a dropped connection) leaves it pending: the
call may exist. Before any dial of a target, a pending record of that target (this attempt's
earlier try, or an earlier attempt's) is reconciled first: the call its status webhook tied to it
(the status callback URL carries the key), else the carrier's list of calls (same To and From,
created since the record). A call found is adopted as if just placed and nothing is dialled; none
found clears the record; if the carrier cannot be asked the activity fails retryably, so a target
is never dialled blind.
"""

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID

import sqlalchemy as sa
from temporalio import activity
from temporalio.exceptions import ApplicationError

from frontdesk.activities.appointments import domain_errors_are_final
from frontdesk.activities.summaries import activity_key, database_engine
from frontdesk.domain.campaign_settings import TargetStatus, legal_to_call
from frontdesk.domain.database import write_scope
from frontdesk.domain.errors import DomainError
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
from frontdesk.telephony.carrier import (
    CannotReconcile,
    Carrier,
    CarrierOutcomeUnknown,
    CarrierRefused,
    OutboundDial,
)

log = get_logger(__name__)

PLACE_CALL_KIND: Final = "place_call"


@dataclass(frozen=True)
class PlaceCallInput:
    """One attempt to call one campaign target."""

    clinic_id: UUID
    target_id: UUID
    attempt: int
    requested_at: datetime  # the workflow's clock when it placed the call (what pacing is measured by)


@dataclass(frozen=True)
class PlacedCall:
    """The call the carrier created."""

    call_sid: str


class OutsideCallingHours(DomainError):
    """A dial requested when the law allows no call to the patient."""

    code = "outside_calling_hours"

    def __init__(self, requested_at: datetime) -> None:
        super().__init__(
            f"a call requested at {requested_at.isoformat()} falls outside the legal calling hours "
            "(8 a.m. to 9 p.m. in the clinic's time zone); it is not placed"
        )


@dataclass(frozen=True)
class _Unknown:
    """A dial of this target that may or may not have placed its call."""

    dial: OutboundDial  # under the unknown dial's key
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


def _claim(request: PlaceCallInput, key: str) -> PlacedCall | _Unknown | OutboundDial:
    """The call already placed under `key`, a dial of the target to reconcile first, or the dial
    to make (recorded as pending first)."""
    with domain_errors_are_final(), write_scope(database_engine()) as session:
        repo = ClinicRepository(session, request.clinic_id)
        action = repo.action_by_key(key)
        if action is not None and action.status is ActionStatus.succeeded and action.result:
            return PlacedCall(str(action.result["call_sid"]))
        if not legal_to_call(request.requested_at, repo.clinic().timezone):
            # The workflow waits for calling hours; this guards against one that did not (a
            # workflow started under older code, or a plan stored before the floor existed).
            raise OutsideCallingHours(request.requested_at)
        target = repo.require(CampaignTarget, request.target_id)
        patient = repo.require(Patient, target.patient_id)
        numbers = repo.phone_numbers()
        if not numbers:
            raise ValueError("the clinic has no phone number to call from")
        dials = repo.actions(kind=PLACE_CALL_KIND, target_id=target.id)
        pending = [a for a in dials if a.status is ActionStatus.pending]
        if pending:
            tied = repo.get(Call, pending[0].call_id) if pending[0].call_id is not None else None
            placed = [a.result for a in dials if a.status is ActionStatus.succeeded and a.result]
            known = {str(result["call_sid"]) for result in placed}
            return _Unknown(
                OutboundDial(patient.phone, numbers[0].e164, target.id, pending[0].idempotency_key),
                pending[0].created_at,
                tied.call_sid if tied is not None else None,
                frozenset(known),
            )
        if action is None:
            repo.add(_place_call_action(request, key))
        else:  # an earlier try was refused: try again under the same record
            action.status, action.error = ActionStatus.pending, None
        return OutboundDial(patient.phone, numbers[0].e164, target.id, key)


async def _find_call(carrier: Carrier, unknown: _Unknown) -> str | None:
    """The call an unknown dial placed, as the carrier lists it; None when it placed none."""
    key = unknown.dial.attempt_key
    try:
        return await carrier.find_call(unknown.dial, unknown.since, unknown.known_sids)
    except CannotReconcile as exc:
        raise ApplicationError(
            f"call attempt {key} may already have been placed; it is not placed again",
            type="CallOutcomeUnknown",
            non_retryable=True,
        ) from exc
    except (CarrierRefused, CarrierOutcomeUnknown) as exc:
        # Retryable: the next try (or attempt) asks again before dialling.
        raise ApplicationError(
            f"cannot ask the carrier whether call attempt {key} was placed ({exc}); not dialling blind",
            type="CallOutcomeUnknown",
        ) from exc


def _record(request: PlaceCallInput, keys: list[str], dial: OutboundDial, call_sid: str) -> None:
    """The attempt succeeded: the records of `keys` (the attempt's, and an adopted dial's), the
    call's row and the target's progress."""
    try:
        _write_record(request, keys, dial, call_sid)
    except sa.exc.IntegrityError:  # a status webhook created the call's row meanwhile: use it
        _write_record(request, keys, dial, call_sid)


def _write_record(request: PlaceCallInput, keys: list[str], dial: OutboundDial, call_sid: str) -> None:
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


class DialingActivities:
    """The dialling activity, with the carrier the worker chose."""

    def __init__(self, carrier: Carrier) -> None:
        self._carrier = carrier

    @activity.defn(name="place_outbound_call")
    async def place_outbound_call(self, request: PlaceCallInput) -> PlacedCall:
        """Place one attempt's call, at most once (see the module docstring)."""
        key = activity_key()
        claimed = await asyncio.to_thread(_claim, request, key)
        while isinstance(claimed, _Unknown):  # each turn settles one pending record
            unknown = claimed.dial.attempt_key
            adopted = claimed.tied_sid or await _find_call(self._carrier, claimed)
            if adopted is not None:
                await asyncio.to_thread(_record, request, [unknown, key], claimed.dial, adopted)
                log.info("outbound_call_adopted", key=key, unknown=unknown, call_sid=adopted)
                return PlacedCall(adopted)
            await asyncio.to_thread(_clear, request, unknown, "the carrier has no call for this dial")
            log.info("outbound_call_not_placed", key=key, unknown=unknown)
            claimed = await asyncio.to_thread(_claim, request, key)
        if isinstance(claimed, PlacedCall):
            return claimed
        try:
            call_sid = await self._carrier.place_call(claimed)
        except CarrierRefused as exc:
            await asyncio.to_thread(_clear, request, key, str(exc))
            log.warning("outbound_call_refused", key=key, final=exc.final)
            raise ApplicationError(str(exc), type="CallRefused", non_retryable=exc.final) from exc
        # CarrierOutcomeUnknown propagates: the record stays pending, the retry reconciles it.
        await asyncio.to_thread(_record, request, [key], claimed, call_sid)
        log.info("outbound_call_placed", key=key, call_sid=call_sid)
        return PlacedCall(call_sid)
