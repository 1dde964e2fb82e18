"""OutboundCallWorkflow: one campaign target, called until reached or out of attempts.

Each attempt: check the target may still be called (not opted out, appointment still active),
wait for the campaign's calling hours in the clinic's time zone, place the call (Twilio, with
answering-machine detection: a machine gets the voicemail), then wait for the call to end. The
status webhook signals `call_ended`; if that signal is lost, the call's row is read every
CALL_CHECK_INTERVAL anyway. Busy, no-answer and failed calls are tried again after the plan's
retry delay; once attempts run out the patient gets the campaign's SMS when the plan says so.

The conversation itself (confirm, reschedule, opt out...) is the call's own CallWorkflow, started
by the voice webhook as for any call; its outcome, on the call's row, becomes the target's status.
The workflow id is one per target (frontdesk.domain.campaigns.outbound_call_workflow_id), so a
target is never called by two workflows.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from uuid import UUID

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from frontdesk.activities.campaigns import (
        CallStateInput,
        OutboundCallState,
        TargetCheck,
        TargetInput,
        TargetStatusInput,
        check_campaign_target,
        outbound_call_state,
        record_target_status,
    )
    from frontdesk.activities.dialing import DialingActivities, PlaceCallInput, PlacedCall
    from frontdesk.activities.messaging import CAMPAIGN_TEMPLATE, MessagingActivities, PatientMessageInput
    from frontdesk.domain.campaign_settings import CampaignPlan, TargetStatus
    from frontdesk.domain.campaigns import CALL_ENDED_SIGNAL

# Reads and bookkeeping: retry through a database outage.
BOOKKEEPING_RETRY: Final = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=30)
)
BOOKKEEPING_TIMEOUT: Final = timedelta(seconds=30)
# Placing a call: a few quick tries (Twilio busy), then the attempt counts as failed.
DIAL_RETRY: Final = RetryPolicy(
    initial_interval=timedelta(seconds=2), backoff_coefficient=2.0, maximum_attempts=4
)
DIAL_TIMEOUT: Final = timedelta(seconds=30)
# How often the call's row is read while waiting for the end-of-call signal, and for how long.
CALL_CHECK_INTERVAL: Final = timedelta(minutes=2)
CALL_GIVE_UP_AFTER: Final = timedelta(hours=2)


@dataclass(frozen=True)
class OutboundCallInput:
    """One target of one campaign, with what the workflow needs of the campaign."""

    clinic_id: UUID
    campaign_id: UUID
    target_id: UUID
    timezone: str
    plan: dict[str, Any]  # CampaignPlan's JSON form
    message: str  # the SMS fallback's words


@dataclass(frozen=True)
class OutboundCallResult:
    """How the target ended, after how many calls; when each call was placed (workflow time)."""

    status: str
    attempts: int
    placed_at: list[datetime]
    sms_sent: bool = False


@workflow.defn(name="OutboundCallWorkflow")
class OutboundCallWorkflow:
    """Calls one campaign target (see the module docstring)."""

    @workflow.init
    def __init__(self, request: OutboundCallInput) -> None:
        self._ended: set[str] = set()

    @workflow.signal(name=CALL_ENDED_SIGNAL)
    def call_ended(self, call_sid: str) -> None:
        """The status webhook saw the call reach a final status."""
        self._ended.add(call_sid)

    @workflow.run
    async def run(self, request: OutboundCallInput) -> OutboundCallResult:
        """Attempt the target until reached or out of attempts; record and return its status."""
        plan = CampaignPlan.stored(request.plan)
        target = TargetInput(request.clinic_id, request.target_id)
        placed_at: list[datetime] = []
        for attempt in range(1, plan.attempts_per_target + 1):
            await self._wait_for_calling_hours(plan, request.timezone)
            # Checked after the wait: the patient may have opted out or cancelled overnight.
            check: TargetCheck = await self._bookkeeping(check_campaign_target, target, f"check-{attempt}")
            if not check.callable:
                status = check.status or TargetStatus.skipped.value
                return await self._finish(request, status, attempt - 1, placed_at, check.detail)
            call_sid = await self._place(request, attempt)
            status = TargetStatus.failed.value
            if call_sid is not None:
                placed_at.append(workflow.now())
                status = await self._wait_for_end(request, call_sid, attempt)
            if status != TargetStatus.failed.value:
                return await self._finish(request, status, attempt, placed_at, "")
            if attempt < plan.attempts_per_target:
                await workflow.sleep(timedelta(minutes=plan.retry_after_minutes))
        sms_sent = False
        if plan.sms_fallback and check.patient_id is not None:
            sms_sent = await self._text(request, check.patient_id)
        detail = f"not reached in {plan.attempts_per_target} attempt(s)" + ("; texted" if sms_sent else "")
        result = await self._finish(request, TargetStatus.failed, plan.attempts_per_target, placed_at, detail)
        return OutboundCallResult(result.status, result.attempts, result.placed_at, sms_sent)

    async def _bookkeeping(self, activity: Any, request: Any, activity_id: str) -> Any:
        return await workflow.execute_activity(
            activity,
            request,
            activity_id=activity_id,
            retry_policy=BOOKKEEPING_RETRY,
            start_to_close_timeout=BOOKKEEPING_TIMEOUT,
        )

    async def _wait_for_calling_hours(self, plan: CampaignPlan, timezone: str) -> None:
        if (closed := plan.calling_hours.wait_from(workflow.now(), timezone)) > timedelta():
            await workflow.sleep(closed)

    async def _place(self, request: OutboundCallInput, attempt: int) -> str | None:
        """The call's sid, or None when it could not be placed."""
        try:
            placed: PlacedCall = await workflow.execute_activity_method(
                DialingActivities.place_outbound_call,
                PlaceCallInput(request.clinic_id, request.target_id, attempt, workflow.now()),
                activity_id=f"dial-{attempt}",
                retry_policy=DIAL_RETRY,
                start_to_close_timeout=DIAL_TIMEOUT,
            )
        except ActivityError as error:
            cause = error.cause
            reason = cause.message if isinstance(cause, ApplicationError) else "the call could not be placed"
            workflow.logger.warning("outbound call not placed: %s", reason)
            return None
        return placed.call_sid

    async def _wait_for_end(self, request: OutboundCallInput, call_sid: str, attempt: int) -> str:
        """The target's status once the call is over; failed for a call that was not answered."""
        checks = 0
        waited = timedelta()
        while waited < CALL_GIVE_UP_AFTER:
            try:
                await workflow.wait_condition(lambda: call_sid in self._ended, timeout=CALL_CHECK_INTERVAL)
            except TimeoutError:
                waited += CALL_CHECK_INTERVAL
            checks += 1
            state: OutboundCallState = await self._bookkeeping(
                outbound_call_state, CallStateInput(request.clinic_id, call_sid), f"call-{attempt}-{checks}"
            )
            if state.final:
                return state.target_status or TargetStatus.failed.value
        return TargetStatus.failed.value

    async def _text(self, request: OutboundCallInput, patient_id: UUID) -> bool:
        try:
            result = await workflow.execute_activity_method(
                MessagingActivities.send_patient_message,
                PatientMessageInput(
                    request.clinic_id, None, None, "sms", CAMPAIGN_TEMPLATE, patient_id, request.message
                ),
                activity_id="sms-fallback",
                retry_policy=BOOKKEEPING_RETRY,
                start_to_close_timeout=BOOKKEEPING_TIMEOUT,
            )
        except ActivityError:
            workflow.logger.warning("campaign SMS fallback failed")
            return False
        return bool(result.delivered)

    async def _finish(
        self, request: OutboundCallInput, status: str, attempts: int, placed_at: list[datetime], detail: str
    ) -> OutboundCallResult:
        await self._bookkeeping(
            record_target_status,
            TargetStatusInput(request.clinic_id, request.target_id, str(status), attempts, detail),
            "record",
        )
        return OutboundCallResult(str(status), attempts, placed_at)
