"""PostCallWorkflow: what happens after a call hangs up, each step an activity with retries.

load the call's facts -> summary -> CRM sync -> confirmations (SMS and email per appointment
booked or rescheduled; the channel asked for, per confirmation the caller asked for of another
appointment) -> practice-management write-back per appointment booked or rescheduled; a
write-back the practice system rejects (or that keeps failing past its retries) becomes a staff
task and a "we'll call you to confirm" message to the patient.

Every activity gets an explicit activity id (naming the step and, where there are several, the
appointment and channel), so its idempotency key (workflow id + activity id) is the same on a
retry and on a rerun of the workflow under the same id: nothing is written or sent twice.
A CRM failure is reported in the result rather than failing the workflow, so it never keeps
the patient from their confirmation.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final
from uuid import UUID

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from frontdesk.activities.crm import CRM_ACTIVITIES, CrmSyncInput, sync_crm
    from frontdesk.activities.messaging import MessagingActivities, PatientMessageInput, PatientMessageResult
    from frontdesk.activities.practice import (
        PRACTICE_ACTIVITIES,
        StaffTaskInput,
        WriteBackInput,
        record_staff_task,
        write_back_appointment,
    )
    from frontdesk.activities.summaries import (
        SUMMARY_ACTIVITIES,
        AppointmentChange,
        SummaryInput,
        load_call_facts,
        summarize_call,
    )
    from frontdesk.workflows.inputs import PostCallInput

# Our database: short outages heal quickly.
DATABASE_RETRY: Final = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=30)
)
# Vendors (Claude, CRMs, Twilio, SMTP): back off further, give up after a bounded number of tries.
VENDOR_RETRY: Final = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=10,
)
# The practice system: a few tries, then staff take over.
WRITE_BACK_RETRY: Final = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=5,
)
STEP_TIMEOUT: Final = timedelta(minutes=2)
CHANNELS: Final = ("sms", "email")
SCHEDULED_TEMPLATE: Final = "scheduled"  # a confirmation asked for of an appointment the call did not change
WRITE_BACK_COMMITTED: Final = "committed"
WRITE_BACK_STAFF_TASK: Final = "staff_task"


@dataclass(frozen=True)
class WriteBackOutcome:
    """How one appointment's write-back ended: committed, or handed to staff (`detail` says why)."""

    appointment_id: str
    status: str
    detail: str


@dataclass(frozen=True)
class PostCallResult:
    """What the follow-up did."""

    summary_length: int
    summary_source: str
    crm_provider: str | None
    crm_record_id: str | None
    crm_error: str | None
    messages_sent: int
    write_backs: list[WriteBackOutcome] = field(default_factory=list)


def _failure(error: ActivityError) -> str:
    """The root cause's message of a failed activity (our ApplicationErrors say what went wrong)."""
    cause: BaseException = error
    while cause.__cause__ is not None:
        cause = cause.__cause__
    return str(cause)


@workflow.defn(name="PostCallWorkflow")
class PostCallWorkflow:
    """The follow-up of one call (started by CallWorkflow as a child)."""

    @workflow.run
    async def run(self, request: PostCallInput) -> PostCallResult:
        """Summary, CRM, confirmations and write-back for the call, in that order."""
        facts = await self._step(load_call_facts, request, "load-call", DATABASE_RETRY)
        summary = await self._step(
            summarize_call, SummaryInput(request.clinic_id, request.call_id), "summary", VENDOR_RETRY
        )
        crm_provider = crm_record_id = crm_error = None
        try:
            crm = await self._step(
                sync_crm, CrmSyncInput(request.clinic_id, request.call_id), "crm-sync", VENDOR_RETRY
            )
            crm_provider, crm_record_id = crm.provider, crm.record_id
        except ActivityError as error:
            crm_error = _failure(error)
            workflow.logger.warning("CRM sync failed: %s", crm_error)
        sent = 0
        for change in facts.changes:
            sent += await self._message_patient(request, change.appointment_id, change.change, "confirm")
        for asked in facts.confirmations:
            sent += await self._message_patient(
                request, asked.appointment_id, SCHEDULED_TEMPLATE, "confirm", (asked.channel,)
            )
        write_backs = []
        for change in facts.changes:
            outcome = await self._write_back(request, change)
            if outcome.status == WRITE_BACK_STAFF_TASK:
                sent += await self._message_patient(
                    request, change.appointment_id, "unconfirmed", "unconfirmed"
                )
            write_backs.append(outcome)
        return PostCallResult(
            summary_length=summary.length,
            summary_source=summary.source,
            crm_provider=crm_provider,
            crm_record_id=crm_record_id,
            crm_error=crm_error,
            messages_sent=sent,
            write_backs=write_backs,
        )

    async def _step(self, activity: Any, argument: Any, activity_id: str, retry: RetryPolicy) -> Any:
        return await workflow.execute_activity(
            activity,
            argument,
            activity_id=activity_id,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=retry,
        )

    async def _message_patient(
        self,
        request: PostCallInput,
        appointment_id: UUID,
        template: str,
        step: str,
        channels: tuple[str, ...] = CHANNELS,
    ) -> int:
        """Send the message about the appointment on each channel; how many went out. Its activity
        id (step, channel, appointment) sends it once. A channel that failed for good (or whose
        outcome a crash left unknown) becomes a staff task, so the patient is never left
        unconfirmed without anyone knowing; the other channel and the write-back still run."""
        sent = 0
        for channel in channels:
            message = PatientMessageInput(
                request.clinic_id, request.call_id, appointment_id, channel, template
            )
            activity_id = f"{step}-{channel}/{appointment_id}"
            try:
                result: PatientMessageResult = await self._step(
                    MessagingActivities.send_patient_message, message, activity_id, VENDOR_RETRY
                )
            except ActivityError as error:
                workflow.logger.warning("patient %s failed: %s", channel, _failure(error))
                reason = f"the {channel} to the patient may not have been sent: {_failure(error)}"
                await self._step(
                    record_staff_task,
                    StaffTaskInput(request.clinic_id, request.call_id, appointment_id, reason),
                    f"staff-task/{activity_id}",
                    DATABASE_RETRY,
                )
                continue
            sent += int(result.delivered)
        return sent

    async def _write_back(self, request: PostCallInput, change: AppointmentChange) -> WriteBackOutcome:
        appointment_id = change.appointment_id
        try:
            result = await self._step(
                write_back_appointment,
                WriteBackInput(request.clinic_id, request.call_id, appointment_id),
                f"write-back/{appointment_id}",
                WRITE_BACK_RETRY,
            )
        except ActivityError as error:
            reason = f"confirm the appointment with the patient by phone: {_failure(error)}"
            await self._step(
                record_staff_task,
                StaffTaskInput(request.clinic_id, request.call_id, appointment_id, reason),
                f"staff-task/{appointment_id}",
                DATABASE_RETRY,
            )
            return WriteBackOutcome(str(appointment_id), WRITE_BACK_STAFF_TASK, reason)
        return WriteBackOutcome(str(appointment_id), WRITE_BACK_COMMITTED, result.external_id)


def post_call_activities(messaging: MessagingActivities) -> list[Any]:
    """Every activity PostCallWorkflow runs (the worker registers them), messages sent by `messaging`."""
    return [*SUMMARY_ACTIVITIES, *CRM_ACTIVITIES, messaging.send_patient_message, *PRACTICE_ACTIVITIES]
