"""CallWorkflow: one per phone call (workflow id = the Twilio call sid), the durable owner of the
call's changes.

The realtime process reads the database directly but changes it only through this workflow's
Updates: offer_slots registers the slots an availability search returned, register_appointments
the appointments of a patient the call identified (or was placed to); book, reschedule, confirm,
cancel, opt_out, send_confirmation, take_message, transfer and end each run one local activity
(a database write through the domain layer) keyed by workflow id + Update id, so a retried
Update never writes twice. Validators refuse what the call never offered (a slot handle; for
confirm, cancel, reschedule and send_confirmation, an appointment that is not one of this
call's patient's) and anything after the call ended, with a speakable reason. A confirmation
asked for is recorded as an action of the call, which the post-call workflow reads and sends.

Liveness: the carrier, not a heartbeat, says when a call's media stream is over. Twilio posts the
stream's end (and the call's own final status) to the status webhook, which signals
`carrier_ended`; the realtime process's hang-up (with the transcript) normally comes first. A
hang-up still missing `HANG_UP_GRACE` after the carrier's word means the realtime process died
with the call: it is closed as dropped and, per the clinic's escalation rules, a callback message
is recorded for the staff. If neither ever comes (the webhook's signal lost), the call's longest
length (the clinic's maximum call length plus `CALL_LENGTH_MARGIN`) ends the wait the same way.
Temporal bills each signal and timer as an action: a bench call cost 25 actions with the 10 s
heartbeat this replaces and costs 19 without it (bench/README.md); the carrier's word is one at
most. Histories begun under the heartbeat rules replay on their own paths
(`CARRIER_LIVENESS_PATCH`, `LIVENESS_WINDOW_PATCH`). At hang-up the transcript is stored; either
way PostCallWorkflow then runs as an abandoned child, and the workflow returns.
"""

from datetime import timedelta
from typing import Any, Final
from uuid import UUID

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from frontdesk.activities.appointments import (
        BookAppointmentInput,
        CancelAppointmentInput,
        ConfirmAppointmentInput,
        RescheduleAppointmentInput,
        book_appointment,
        cancel_appointment,
        confirm_appointment,
        reschedule_appointment,
    )
    from frontdesk.activities.calls import (
        CallActionInput,
        DroppedCallInput,
        FinishCallInput,
        OptOutInput,
        RegisterPatientInput,
        close_dropped_call,
        record_call_action,
        record_opt_out,
        register_patient,
        store_call_transcript,
    )
    from frontdesk.domain.appointment_details import AppointmentRecord
    from frontdesk.domain.call_actions import CONFIRMATION_REQUEST_KIND
    from frontdesk.domain.models import MessageChannel
    from frontdesk.domain.opt_outs import OptOutChannel
    from frontdesk.domain.outcomes import Outcome, outweighs
    from frontdesk.workflows.inputs import (
        BookRequest,
        CallInput,
        CallResult,
        CancelRequest,
        ConfirmRequest,
        HangUpRequest,
        MessageRequest,
        OfferedSlot,
        OptOutRequest,
        PatientAppointments,
        PostCallInput,
        RescheduleRequest,
        SendConfirmationRequest,
        TransferRequest,
    )

# The realtime process signals the hang-up as its stream ends, a database write and a round trip
# before the carrier's webhook does; 30 s covers a busy process and a retried signal.
HANG_UP_GRACE: Final = timedelta(seconds=30)
# The media server ends a call at the clinic's maximum length; past it plus this, nobody carries it.
CALL_LENGTH_MARGIN: Final = timedelta(minutes=5)
# A call started before its input carried the clinic's maximum (0): the largest the API allows.
LONGEST_CALL_UNKNOWN: Final = timedelta(hours=4)
CARRIER_LIVENESS_PATCH: Final = "carrier-liveness"
# Histories written under the heartbeat: 30 s windows (LIVENESS_WINDOW_PATCH), or before those a
# 15 s timer re-armed at each heartbeat. Kept until no such workflow can still be open.
LIVENESS_WINDOW: Final = timedelta(seconds=30)
LIVENESS_WINDOW_PATCH: Final = "liveness-window"
_LIVENESS_TIMEOUT_BEFORE_WINDOW: Final = timedelta(seconds=15)
POST_CALL_WORKFLOW: Final = "PostCallWorkflow"
# A caller is waiting on the line: retry quickly, and give up (the agent apologises) within seconds.
IN_CALL_RETRY: Final = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=2),
    maximum_attempts=5,
)
IN_CALL_TIMEOUT: Final = timedelta(seconds=10)
# After the call nobody waits: keep trying through a longer database outage.
AFTER_CALL_RETRY: Final = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=30)
)
AFTER_CALL_TIMEOUT: Final = timedelta(minutes=1)


def post_call_workflow_id(call_sid: str) -> str:
    """The id of a call's PostCallWorkflow child."""
    return f"post-call-{call_sid}"


def _refused(message: str, kind: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


@workflow.defn(name="CallWorkflow")
class CallWorkflow:
    """One live call's state and its changes (see the module docstring)."""

    @workflow.init
    def __init__(self, call: CallInput) -> None:
        self._input = call
        self._offered: dict[str, OfferedSlot] = {}
        self._patients_of: dict[UUID, UUID] = {}  # appointment id -> patient id, as registered
        self._appointment_ids: list[UUID] = []
        self._patient_id: UUID | None = None
        self._actions: list[str] = []
        self._outcome: str | None = None
        self._hang_up: HangUpRequest | None = None
        self._carrier_ended = False  # the carrier said the stream or the call is over
        self._alive = False  # heartbeat histories: set by each heartbeat or Update

    @workflow.run
    async def run(self, call: CallInput) -> CallResult:
        """Hold the call until hang-up or silence, then close it and start the post-call child."""
        dropped = not await self._wait_for_hang_up()
        # Let Updates already running (a booking the caller said yes to) finish first.
        await workflow.wait_condition(workflow.all_handlers_finished)
        callback_action_id = None
        if dropped:
            closed = await workflow.execute_activity(
                close_dropped_call,
                DroppedCallInput(call.clinic_id, call.call_id, self._key("dropped"), self._patient_id),
                retry_policy=AFTER_CALL_RETRY,
                start_to_close_timeout=AFTER_CALL_TIMEOUT,
            )
            callback_action_id = closed.callback_action_id
            self._outcome = Outcome.dropped  # as the call's row now says
        else:
            assert self._hang_up is not None
            if self._hang_up.outcome:
                self._record_outcome(self._hang_up.outcome)
            # A caller who hung up before anything was done or answered dropped the call.
            self._outcome = self._outcome or Outcome.dropped
            self._patient_id = self._patient_id or self._hang_up.patient_id
            await workflow.execute_activity(
                store_call_transcript,
                FinishCallInput(
                    call.clinic_id, call.call_id, self._hang_up.turns, self._outcome, self._patient_id
                ),
                retry_policy=AFTER_CALL_RETRY,
                start_to_close_timeout=AFTER_CALL_TIMEOUT,
            )
        child_id = post_call_workflow_id(call.call_sid)
        await workflow.start_child_workflow(
            POST_CALL_WORKFLOW,
            PostCallInput(call.clinic_id, call.call_id, call.call_sid),
            id=child_id,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )
        return CallResult(
            outcome=self._outcome,
            dropped=dropped,
            appointment_ids=list(self._appointment_ids),
            actions=list(self._actions),
            callback_action_id=callback_action_id,
            post_call_workflow_id=child_id,
        )

    async def _wait_for_hang_up(self) -> bool:
        """True at hang-up; False when the realtime process is gone without one (module docstring)."""
        if workflow.patched(CARRIER_LIVENESS_PATCH):
            return await self._wait_for_hang_up_or_carrier()
        if not workflow.patched(LIVENESS_WINDOW_PATCH):
            return await self._wait_for_hang_up_before_window()
        return await self._wait_for_hang_up_in_windows()

    async def _wait_for_hang_up_or_carrier(self) -> bool:
        """The hang-up; or the carrier's word that the stream ended and then `HANG_UP_GRACE`
        without one; or the call's longest length without either."""
        max_seconds = self._input.max_call_seconds
        longest = timedelta(seconds=max_seconds) if max_seconds > 0 else LONGEST_CALL_UNKNOWN
        try:
            await workflow.wait_condition(
                lambda: self._hang_up is not None or self._carrier_ended,
                timeout=longest + CALL_LENGTH_MARGIN,
                timeout_summary="longest call",
            )
            if self._hang_up is None:
                await workflow.wait_condition(
                    lambda: self._hang_up is not None,
                    timeout=HANG_UP_GRACE,
                    timeout_summary="hang-up after the stream",
                )
        except TimeoutError:
            return False
        return True

    async def _wait_for_hang_up_in_windows(self) -> bool:
        """The liveness rule of histories begun under LIVENESS_WINDOW_PATCH: a 30 s window without
        a heartbeat or Update drops the call."""
        while self._hang_up is None:
            self._alive = False
            try:
                await workflow.wait_condition(
                    lambda: self._hang_up is not None, timeout=LIVENESS_WINDOW, timeout_summary="liveness"
                )
            except TimeoutError:
                if not self._alive:
                    return False
        return True

    async def _wait_for_hang_up_before_window(self) -> bool:
        """The liveness rule of histories begun before LIVENESS_WINDOW_PATCH: a 15 s timer re-armed
        at each heartbeat. Kept until no such workflow can still be open."""
        while self._hang_up is None:
            self._alive = False
            try:
                await workflow.wait_condition(
                    lambda: self._alive or self._hang_up is not None,
                    timeout=_LIVENESS_TIMEOUT_BEFORE_WINDOW,
                    timeout_summary="liveness",
                )
            except TimeoutError:
                return False
        return True

    @workflow.signal
    def carrier_ended(self) -> None:
        """The carrier says the call's media stream, or the call, is over."""
        self._carrier_ended = True

    @workflow.signal
    def heartbeat(self) -> None:
        """The realtime process still carries the call: sent by media processes of the heartbeat
        releases, still delivered to calls they carry during a deploy; only histories begun under
        those rules read it."""
        self._alive = True

    @workflow.signal
    def hang_up(self, request: HangUpRequest) -> None:
        """The call is over (the first hang-up counts; a repeat changes nothing)."""
        if self._hang_up is None:
            self._hang_up = request

    @workflow.query
    def offered_handles(self) -> list[str]:
        """The slot handles registered in this call."""
        return list(self._offered)

    # Updates. Each validator refuses what the handler must not do; each handler keys its write
    # by workflow id + Update id.

    @workflow.update
    def offer_slots(self, slots: list[OfferedSlot]) -> int:
        """Register slots an availability search returned; returns how many this call has offered."""
        self._alive = True
        for slot in slots:
            self._offered[slot.handle] = slot
        return len(self._offered)

    @offer_slots.validator
    def _validate_offer_slots(self, slots: list[OfferedSlot]) -> None:
        self._require_live()
        for slot in slots:
            if slot.start_at.tzinfo is None:
                raise _refused(f"Slot {slot.handle!r} has no time zone.", "InvalidSlot")

    @workflow.update
    def register_appointments(self, request: PatientAppointments) -> int:
        """Register the upcoming appointments of a patient this call identified or was placed to;
        returns how many appointments this call knows."""
        self._alive = True
        for appointment_id in request.appointment_ids:
            self._patients_of[appointment_id] = request.patient_id
        return len(self._patients_of)

    @register_appointments.validator
    def _validate_register_appointments(self, request: PatientAppointments) -> None:
        self._require_live()

    @workflow.update
    async def book(self, request: BookRequest) -> AppointmentRecord:
        """Book an offered slot, registering a new patient first."""
        self._alive = True
        slot = self._offered[request.slot_handle]
        patient_id = request.patient_id
        if patient_id is None:
            assert request.new_patient is not None  # the validator requires one or the other
            patient_id = await self._write(
                register_patient, RegisterPatientInput(self._input.clinic_id, request.new_patient)
            )
        appointment: AppointmentRecord = await self._write(
            book_appointment,
            BookAppointmentInput(
                clinic_id=self._input.clinic_id,
                patient_id=patient_id,
                provider_id=slot.provider_id,
                service_id=slot.service_id,
                start_at=slot.start_at,
                call_id=self._input.call_id,
                idempotency_key=self._update_key(),
                clock_offset_seconds=self._input.clock_offset_seconds,
            ),
        )
        self._patient_id = self._patient_id or patient_id
        self._patients_of[appointment.id] = patient_id  # the caller may confirm it too
        self._done("book", Outcome.booked, appointment.id)
        return appointment

    @book.validator
    def _validate_book(self, request: BookRequest) -> None:
        self._require_live()
        self._require_offered(request.slot_handle)
        if (request.patient_id is None) == (request.new_patient is None):
            raise _refused("Name either a known patient or a new patient to book for.", "InvalidBooking")

    @workflow.update
    async def reschedule(self, request: RescheduleRequest) -> AppointmentRecord:
        """Move an appointment to an offered slot (and its provider)."""
        self._alive = True
        slot = self._offered[request.slot_handle]
        appointment: AppointmentRecord = await self._write(
            reschedule_appointment,
            RescheduleAppointmentInput(
                clinic_id=self._input.clinic_id,
                appointment_id=request.appointment_id,
                new_start_at=slot.start_at,
                provider_id=slot.provider_id,
                call_id=self._input.call_id,
                idempotency_key=self._update_key(),
                clock_offset_seconds=self._input.clock_offset_seconds,
            ),
        )
        self._done("reschedule", Outcome.rescheduled, appointment.id)
        return appointment

    @reschedule.validator
    def _validate_reschedule(self, request: RescheduleRequest) -> None:
        self._require_live()
        self._require_known_appointment(request.appointment_id)
        self._require_offered(request.slot_handle)

    @workflow.update
    async def cancel(self, request: CancelRequest) -> AppointmentRecord:
        """Cancel an appointment."""
        self._alive = True
        appointment: AppointmentRecord = await self._write(
            cancel_appointment,
            CancelAppointmentInput(
                clinic_id=self._input.clinic_id,
                appointment_id=request.appointment_id,
                reason=request.reason,
                call_id=self._input.call_id,
                idempotency_key=self._update_key(),
            ),
        )
        self._done("cancel", Outcome.cancelled, appointment.id)
        return appointment

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        self._require_live()
        self._require_known_appointment(request.appointment_id)

    @workflow.update
    async def confirm(self, request: ConfirmRequest) -> AppointmentRecord:
        """Mark an appointment of this call's patient confirmed."""
        self._alive = True
        appointment: AppointmentRecord = await self._write(
            confirm_appointment,
            ConfirmAppointmentInput(
                clinic_id=self._input.clinic_id,
                appointment_id=request.appointment_id,
                patient_id=self._patients_of[request.appointment_id],
                call_id=self._input.call_id,
                idempotency_key=self._update_key(),
            ),
        )
        self._done("confirm", Outcome.confirmed, appointment.id)
        return appointment

    @confirm.validator
    def _validate_confirm(self, request: ConfirmRequest) -> None:
        self._require_live()
        self._require_known_appointment(request.appointment_id)

    @workflow.update
    async def opt_out(self, request: OptOutRequest) -> int:
        """Stop calls, texts or both to the call's number; returns how many patients have it."""
        self._alive = True
        patients: int = await self._write(
            record_opt_out,
            OptOutInput(
                self._input.clinic_id, self._input.call_id, request.phone, request.channel, self._update_key()
            ),
        )
        self._done("opt_out", Outcome.opted_out)
        return patients

    @opt_out.validator
    def _validate_opt_out(self, request: OptOutRequest) -> None:
        self._require_live()
        if request.channel not in set(OptOutChannel):
            raise _refused(
                f"Opt out of calls, sms or all, not {request.channel!r}.",
                "InvalidChannel",
            )

    @workflow.update
    async def send_confirmation(self, request: SendConfirmationRequest) -> None:
        """Record that the caller asked for a confirmation of the appointment; the post-call
        workflow sends it, once, after the call."""
        await self._record(
            CONFIRMATION_REQUEST_KIND,
            {"appointment_id": str(request.appointment_id), "channel": request.channel},
        )
        self._actions.append("send_confirmation")

    @send_confirmation.validator
    def _validate_send_confirmation(self, request: SendConfirmationRequest) -> None:
        self._require_live()
        self._require_known_appointment(request.appointment_id)
        if request.channel not in set(MessageChannel):
            raise _refused(f"Send a confirmation by sms or email, not {request.channel!r}.", "InvalidChannel")

    @workflow.update
    async def take_message(self, request: MessageRequest) -> None:
        """Record a message for the staff."""
        await self._record(
            "take_message", {"reason": request.reason, "callback_number": request.callback_number}
        )
        self._done("take_message", Outcome.message_taken)

    @take_message.validator
    def _validate_take_message(self, request: MessageRequest) -> None:
        self._require_live()

    @workflow.update
    async def transfer(self, request: TransferRequest) -> None:
        """Record the hand-off; the realtime process moves the live call."""
        await self._record("transfer_to_human", {"reason": request.reason, "number": request.number})
        self._done("transfer", Outcome.transferred)

    @transfer.validator
    def _validate_transfer(self, request: TransferRequest) -> None:
        self._require_live()

    @workflow.update
    async def end(self, outcome: str) -> None:
        """Record the end of the conversation; the realtime process hangs up and sends hang_up."""
        await self._record("end_call", {"outcome": outcome})
        self._done("end", outcome)

    @end.validator
    def _validate_end(self, outcome: str) -> None:
        self._require_live()

    # Helpers.

    def _require_live(self) -> None:
        if self._hang_up is not None:
            raise _refused("The call has already ended; nothing more can be changed in it.", "CallEnded")

    def _require_known_appointment(self, appointment_id: UUID) -> None:
        """Only an appointment of the patient this call identified (or was placed to) can change."""
        if appointment_id not in self._patients_of:
            raise _refused(
                "That appointment is not one of this caller's appointments. Identify the patient with "
                "identify_patient first and use the appointment ids it returns.",
                "AppointmentNotKnown",
            )

    def _require_offered(self, handle: str) -> None:
        if handle not in self._offered:
            raise _refused(
                f"Slot {handle!r} was not returned by get_availability in this call. "
                "Search with get_availability and offer one of the slots it returns.",
                "SlotNotOffered",
            )

    def _key(self, name: str) -> str:
        return f"{workflow.info().workflow_id}/{name}"

    def _update_key(self) -> str:
        update = workflow.current_update_info()
        assert update is not None, "only Update handlers write keyed changes"
        return self._key(f"update/{update.id}")

    def _done(self, action: str, outcome: str, appointment_id: UUID | None = None) -> None:
        self._actions.append(action)
        self._record_outcome(outcome)
        if appointment_id is not None and appointment_id not in self._appointment_ids:
            self._appointment_ids.append(appointment_id)

    def _record_outcome(self, outcome: str) -> None:
        if outweighs(outcome, self._outcome):
            self._outcome = outcome

    async def _record(self, kind: str, payload: dict[str, str]) -> None:
        self._alive = True
        await self._write(
            record_call_action,
            CallActionInput(self._input.clinic_id, self._input.call_id, kind, self._update_key(), payload),
        )

    async def _write(self, activity: Any, request: Any) -> Any:
        """Run a write as a local activity (the caller is waiting: no task-queue round trip); a
        failure retrying cannot fix comes back as a non-retryable error with its speakable message."""
        try:
            return await workflow.execute_local_activity(
                activity, request, retry_policy=IN_CALL_RETRY, start_to_close_timeout=IN_CALL_TIMEOUT
            )
        except ActivityError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError):
                raise _refused(cause.message, cause.type or "ActionFailed") from None
            raise _refused(
                "That could not be saved just now. Please try again in a moment.", "ActionFailed"
            ) from None
