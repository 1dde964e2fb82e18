"""`Actions` for a live call whose changes are Temporal Updates on the call's CallWorkflow.

Reads (availability, patients, appointments, insurance) stay direct on the database, as in
CallActions. Every slot an availability search returns is registered with the workflow
(`offer_slots`) before the tool runner can offer it, so the workflow's validator refuses a
booking of anything this call never returned; likewise a patient's upcoming appointments are
registered (`register_appointments`) when the call looks them up, so only those can be confirmed.
Book, reschedule, confirm, cancel, opt_out, take_message, transfer and end are Updates with ids
of their own (kind + sequence per kind: book-1, book-2...): a client retry reuses the id, and the
workflow keys its write by workflow id + Update id, so nothing is written twice. A refused or
failed Update becomes ActionRefused with the workflow's speakable message.
"""

import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final, TypeVar

from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from frontdesk.activities.appointments import AppointmentResult
from frontdesk.agent.actions import ActionRefused, AppointmentRecord, SlotOption, SlotQuery
from frontdesk.agent.clinic_profile import ClinicProfile
from frontdesk.agent.tools import PatientDetails, TransferReason
from frontdesk.domain.call_clock import call_clock
from frontdesk.domain.calls import TurnRecord
from frontdesk.domain.opt_outs import OptOutChannel
from frontdesk.logs import get_logger
from frontdesk.realtime import metrics
from frontdesk.realtime.call_services import CallActions, CallServices
from frontdesk.workflows.call import CallWorkflow
from frontdesk.workflows.inputs import (
    BookRequest,
    CallInput,
    CancelRequest,
    ConfirmRequest,
    HangUpRequest,
    MessageRequest,
    NewPatient,
    OfferedSlot,
    OptOutRequest,
    PatientAppointments,
    RescheduleRequest,
    TransferRequest,
)
from frontdesk.workflows.launch import start_call_workflow

log = get_logger(__name__)

T = TypeVar("T")

UNAVAILABLE: Final = "I can't make that change right now. Let me take a message so the team can follow up."


def slot_handle(slot: SlotOption) -> str:
    """The handle under which the workflow knows a slot: provider, service and start."""
    return f"{slot.provider_id}/{slot.service_id}/{slot.start.isoformat()}"


def _record(result: AppointmentResult) -> AppointmentRecord:
    return AppointmentRecord(
        id=result.appointment_id,
        patient_id=result.patient_id,
        provider_id=result.provider_id,
        service_id=result.service_id,
        start=result.start_at,
        end=result.end_at,
        status=result.status,
    )


class WorkflowCallActions(CallActions):
    """A live call's actions: direct reads, changes as Updates on the CallWorkflow `call_key`."""

    def __init__(
        self,
        engine: Engine,
        profile: ClinicProfile,
        call_key: str,
        client: Client,
        *,
        call_id: uuid.UUID | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        """`call_key` is the Twilio call sid, which is also the CallWorkflow's id."""
        super().__init__(engine, profile, call_key, call_id=call_id, now=now)
        self.workflow: WorkflowHandle[Any, Any] = client.get_workflow_handle(call_key)
        self._updates: Counter[str] = Counter()  # Updates sent, by kind
        self._round_trips: dict[str, float] = {}  # ms by Update id, until the turn loop takes them

    async def _update(self, update: Callable[..., Any], request: Any) -> Any:
        """Run one Update; its id stays the same across the client's own retries."""
        name = getattr(update, "__name__", "update")
        self._updates[name] += 1
        update_id = f"{name}-{self._updates[name]}"
        started = time.perf_counter()
        try:
            result = await self.workflow.execute_update(update, request, id=update_id)
            elapsed = time.perf_counter() - started
            metrics.CALL_UPDATE_SECONDS.labels(update=name).observe(elapsed)
            self._round_trips[f"update_{update_id}"] = round(elapsed * 1000, 1)
            return result
        except WorkflowUpdateFailedError as failure:
            cause = failure.cause
            if isinstance(cause, ApplicationError):
                log.info("call_update_refused", update=name, reason=cause.type)
                raise ActionRefused(cause.message) from None
            log.warning("call_update_failed", update=name, error=type(cause).__name__)
            raise ActionRefused(UNAVAILABLE) from None
        except RPCError as error:
            log.warning("call_update_unreachable", update=name, status=str(error.status))
            raise ActionRefused(UNAVAILABLE) from None

    async def find_slots(self, query: SlotQuery) -> list[SlotOption]:
        """Bookable slots (read directly), registered with the workflow as offered in this call."""
        options = await super().find_slots(query)
        if options:
            await self._update(
                CallWorkflow.offer_slots,
                [OfferedSlot(slot_handle(o), o.provider_id, o.service_id, o.start) for o in options],
            )
        return options

    async def upcoming_appointments(self, patient_id: uuid.UUID) -> list[AppointmentRecord]:
        """A patient's upcoming appointments (read directly), registered with the workflow as this
        call's patient's."""
        appointments = await super().upcoming_appointments(patient_id)
        if appointments:
            await self._update(
                CallWorkflow.register_appointments,
                PatientAppointments(patient_id, [a.id for a in appointments]),
            )
        return appointments

    async def book(
        self, slot: SlotOption, patient: PatientDetails, patient_id: uuid.UUID | None
    ) -> AppointmentRecord:
        """Book through the workflow; a new patient is registered there."""
        new_patient = (
            None
            if patient_id is not None
            else NewPatient(
                first_name=patient.first_name,
                last_name=patient.last_name,
                date_of_birth=patient.date_of_birth.isoformat(),
                phone=patient.phone or "",
                email=patient.email,
            )
        )
        result = await self._update(
            CallWorkflow.book, BookRequest(slot_handle(slot), patient_id=patient_id, new_patient=new_patient)
        )
        return _record(result)

    async def reschedule(self, appointment_id: uuid.UUID, slot: SlotOption) -> AppointmentRecord:
        """Move the appointment to an offered slot through the workflow."""
        result = await self._update(
            CallWorkflow.reschedule, RescheduleRequest(appointment_id, slot_handle(slot))
        )
        return _record(result)

    async def cancel(self, appointment_id: uuid.UUID) -> AppointmentRecord:
        """Cancel the appointment through the workflow."""
        return _record(await self._update(CallWorkflow.cancel, CancelRequest(appointment_id)))

    async def confirm(self, appointment_id: uuid.UUID) -> AppointmentRecord:
        """Confirm the appointment through the workflow."""
        return _record(await self._update(CallWorkflow.confirm, ConfirmRequest(appointment_id)))

    async def opt_out(self, channel: OptOutChannel, phone: str) -> None:
        """Opt the call's number out of the channel through the workflow."""
        await self._update(CallWorkflow.opt_out, OptOutRequest(channel.value, phone))

    async def take_message(self, reason: str, callback_number: str) -> None:
        """Record a message for the staff through the workflow."""
        await self._update(CallWorkflow.take_message, MessageRequest(reason, callback_number))

    async def transfer(self, reason: TransferReason, number: str) -> None:
        """Record the hand-off through the workflow and remember the number for the transport."""
        await self._update(CallWorkflow.transfer, TransferRequest(reason.value, number))
        self.transfer_number = number

    async def end_call(self, outcome: str) -> None:
        """Record the end of the conversation through the workflow."""
        await self._update(CallWorkflow.end, outcome)

    def take_update_timings(self) -> dict[str, float]:
        """Round trips (ms) of the Updates that succeeded since the last take, by Update id."""
        taken, self._round_trips = self._round_trips, {}
        return taken

    async def heartbeat(self) -> None:
        """Tell the workflow the call is still carried by this process (send every few seconds)."""
        try:
            await self.workflow.signal(CallWorkflow.heartbeat)
        except RPCError as error:  # the next beat may get through; 15 s of misses drop the call
            log.warning("call_heartbeat_failed", status=str(error.status))

    async def hang_up(
        self, turns: list[TurnRecord], outcome: str | None, patient_id: uuid.UUID | None = None
    ) -> None:
        """Hand the workflow the transcript and outcome; it stores them and runs the post-call work.

        If Temporal cannot take them, the transcript is stored directly, so it is never lost (the
        workflow, should it come back, then finds the row closed and changes nothing in it).
        """
        try:
            await self.workflow.signal(CallWorkflow.hang_up, HangUpRequest(turns, outcome, patient_id))
        except RPCError as error:
            log.error("call_hang_up_unsent", status=str(error.status))
            await super().hang_up(turns, outcome, patient_id)


async def open_call_actions(
    services: CallServices,
    profile: ClinicProfile,
    call_sid: str,
    call_id: uuid.UUID,
    clock_offset_seconds: float = 0.0,
) -> CallActions:
    """A live call's actions: through its CallWorkflow (started here if the webhook could not), or
    directly on the database when Temporal does not answer in time, because a caller on the line
    must be served either way. Both read the time from the call's clock."""
    call = CallInput(profile.id, call_id, call_sid, clock_offset_seconds)
    now = call_clock(clock_offset_seconds)
    client = await start_call_workflow(services.temporal, services.settings.temporal_task_queue, call)
    if client is None:
        metrics.CALLS_WITHOUT_WORKFLOW.inc()
        return CallActions(services.engine, profile, call_sid, call_id=call_id, now=now)
    return WorkflowCallActions(services.engine, profile, call_sid, client, call_id=call_id, now=now)
