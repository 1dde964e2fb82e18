"""A live call's changes as Temporal Updates on its CallWorkflow: `WorkflowChanges`.

Every change (book, reschedule, confirm, cancel, opt_out, send_confirmation, take_message,
transfer, end) is an Update with an id of its own (kind + sequence per kind: book-1, book-2...):
a client retry reuses the id, and the workflow keys its write by workflow id + Update id, so
nothing is written twice. What the call's reads showed is registered the same way: the slots an
availability search returned (`offer_slots`), so the workflow's validator refuses a booking of
anything this call never offered, and a patient's upcoming appointments
(`register_appointments`), so only those can change. A refused or failed Update becomes
ActionRefused with the workflow's speakable message.

An Update that has no answer within `update_deadline` (the settings' call_update_deadline_seconds:
the caller is waiting on the line), or that cannot reach Temporal, raises ChangesUnanswered (ActionRefused
with the speakable UNAVAILABLE message); CallActions then sends the call's later changes to the
database (see frontdesk.agent.call_actions for what becomes of the unanswered one).
"""

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from uuid import UUID

from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from frontdesk.agent.actions import (
    UNAVAILABLE,
    ActionRefused,
    ChangesUnanswered,
    SlotOption,
    confirmation_destination,
)
from frontdesk.agent.tools import ConfirmationChannel, PatientDetails, TransferReason
from frontdesk.domain.appointment_details import AppointmentRecord
from frontdesk.domain.calls import TurnRecord
from frontdesk.domain.opt_outs import OptOutChannel
from frontdesk.logs import get_logger
from frontdesk.realtime import metrics
from frontdesk.workflows.call import CallWorkflow
from frontdesk.workflows.inputs import (
    BookRequest,
    CancelRequest,
    ConfirmRequest,
    HangUpRequest,
    MessageRequest,
    OfferedSlot,
    OptOutRequest,
    PatientAppointments,
    RescheduleRequest,
    SendConfirmationRequest,
    TransferRequest,
)

log = get_logger(__name__)


def slot_handle(slot: SlotOption) -> str:
    """The handle under which the workflow knows a slot: provider, service and start."""
    return f"{slot.provider_id}/{slot.service_id}/{slot.start.isoformat()}"


class WorkflowChanges:
    """A live call's changes, each an Update on the CallWorkflow whose id is the call sid."""

    def __init__(self, client: Client, call_sid: str, *, update_deadline: float) -> None:
        """`update_deadline`: seconds an Update may take before the change counts as unanswered."""
        self.workflow: WorkflowHandle[Any, Any] = client.get_workflow_handle(call_sid)
        self.update_deadline = update_deadline
        self._updates: Counter[str] = Counter()  # Updates sent, by kind
        self._round_trips: dict[str, float] = {}  # ms by Update id, until the turn loop takes them

    async def _update(self, update: Callable[..., Any], request: Any) -> Any:
        """Run one Update within the deadline; its id stays the same across the client's own retries."""
        name = getattr(update, "__name__", "update")
        self._updates[name] += 1
        update_id = f"{name}-{self._updates[name]}"
        started = time.perf_counter()
        deadline = asyncio.timeout(self.update_deadline)
        try:
            async with deadline:
                result = await self.workflow.execute_update(update, request, id=update_id)
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as error:
            task = asyncio.current_task()
            if not deadline.expired() and task is not None and task.cancelling():
                # The SDK reports our own task's cancellation as an RPC error: it stays a cancellation.
                raise asyncio.CancelledError from error
            log.warning("call_update_unanswered", update=name, deadline_s=self.update_deadline)
            raise ChangesUnanswered from None
        except WorkflowUpdateFailedError as failure:
            cause = failure.cause
            if isinstance(cause, ApplicationError):
                log.info("call_update_refused", update=name, reason=cause.type)
                raise ActionRefused(cause.message) from None
            log.warning("call_update_failed", update=name, error=type(cause).__name__)
            raise ActionRefused(UNAVAILABLE) from None
        except RPCError as error:
            log.warning("call_update_unreachable", update=name, status=str(error.status))
            raise ChangesUnanswered from None
        elapsed = time.perf_counter() - started
        metrics.CALL_UPDATE_SECONDS.labels(update=name).observe(elapsed)
        self._round_trips[f"update_{update_id}"] = round(elapsed * 1000, 1)
        return result

    async def slots_offered(self, slots: list[SlotOption]) -> None:
        """Register the slots with the workflow as offered in this call."""
        if slots:
            await self._update(
                CallWorkflow.offer_slots,
                [OfferedSlot(slot_handle(s), s.provider_id, s.service_id, s.start) for s in slots],
            )

    async def appointments_seen(self, patient_id: UUID, appointments: list[AppointmentRecord]) -> None:
        """Register the appointments with the workflow as this call's patient's."""
        if appointments:
            await self._update(
                CallWorkflow.register_appointments,
                PatientAppointments(patient_id, [a.id for a in appointments]),
            )

    async def book(
        self, slot: SlotOption, patient: PatientDetails, patient_id: UUID | None
    ) -> AppointmentRecord:
        """Book through the workflow; a new patient is registered there."""
        new_patient = None if patient_id is not None else patient.as_new_patient()
        request = BookRequest(slot_handle(slot), patient_id=patient_id, new_patient=new_patient)
        result: AppointmentRecord = await self._update(CallWorkflow.book, request)
        return result

    async def reschedule(self, appointment_id: UUID, slot: SlotOption) -> AppointmentRecord:
        """Move the appointment to an offered slot through the workflow."""
        result: AppointmentRecord = await self._update(
            CallWorkflow.reschedule, RescheduleRequest(appointment_id, slot_handle(slot))
        )
        return result

    async def cancel(self, appointment_id: UUID) -> AppointmentRecord:
        """Cancel the appointment through the workflow."""
        result: AppointmentRecord = await self._update(CallWorkflow.cancel, CancelRequest(appointment_id))
        return result

    async def confirm(self, appointment_id: UUID) -> AppointmentRecord:
        """Confirm the appointment through the workflow."""
        result: AppointmentRecord = await self._update(CallWorkflow.confirm, ConfirmRequest(appointment_id))
        return result

    async def opt_out(self, channel: OptOutChannel, phone: str) -> None:
        """Opt the call's number out of the channel through the workflow."""
        await self._update(CallWorkflow.opt_out, OptOutRequest(channel.value, phone))

    async def send_confirmation(self, appointment_id: UUID, channel: ConfirmationChannel) -> str:
        """Ask for the confirmation through the workflow (its post-call workflow sends it)."""
        await self._update(
            CallWorkflow.send_confirmation, SendConfirmationRequest(appointment_id, channel.value)
        )
        return confirmation_destination(channel)

    async def take_message(self, reason: str, callback_number: str) -> None:
        """Record a message for the staff through the workflow."""
        await self._update(CallWorkflow.take_message, MessageRequest(reason, callback_number))

    async def transfer(self, reason: TransferReason, number: str) -> None:
        """Record the hand-off through the workflow; the transport moves the live call."""
        await self._update(CallWorkflow.transfer, TransferRequest(reason.value, number))

    async def end_call(self, outcome: str) -> None:
        """Record the end of the conversation through the workflow."""
        await self._update(CallWorkflow.end, outcome)

    async def hang_up(
        self, turns: list[TurnRecord], outcome: str | None, patient_id: UUID | None = None
    ) -> None:
        """Hand the workflow the transcript and outcome; it stores them and runs the post-call work.
        Raises ChangesUnanswered when Temporal cannot take them."""
        try:
            await self.workflow.signal(CallWorkflow.hang_up, HangUpRequest(turns, outcome, patient_id))
        except RPCError as error:
            log.error("call_hang_up_unsent", status=str(error.status))
            raise ChangesUnanswered from None

    def take_update_timings(self) -> dict[str, float]:
        """Round trips (ms) of the Updates that succeeded since the last take, by Update id."""
        taken, self._round_trips = self._round_trips, {}
        return taken
