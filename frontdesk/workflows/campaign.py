"""CampaignWorkflow: an outbound campaign, pacing one OutboundCallWorkflow child per target.

The campaign's targets are materialized once (prepare_campaign), then read a page at a time in
calling order. A target is started only when the campaign is not paused, fewer than the plan's
`max_concurrent` targets are in progress, 60 / `calls_per_minute` seconds have passed since the
previous start, and the clinic's calling hours are open. Pause, resume and cancel are signals;
`progress` is a query. A cancelled campaign starts nothing more, lets calls in progress finish,
and marks the rest skipped.

Large campaigns continue as new every CONTINUE_AS_NEW_AFTER targets (after the calls in progress
finish), carrying the calling position and the counts, so 10,000 targets keep a small history.
Children are one per target id and never reused, so a target is never called twice.
"""

import asyncio
import contextlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final
from uuid import UUID

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ChildWorkflowError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from frontdesk.activities.campaigns import (
        CampaignOutline,
        CampaignRef,
        CampaignStatusInput,
        TargetPageInput,
        TargetRef,
        campaign_targets_page,
        prepare_campaign,
        set_campaign_status,
        skip_remaining_targets,
    )
    from frontdesk.domain.campaign_settings import CampaignPlan, CampaignStatus, TargetStatus
    from frontdesk.domain.campaigns import outbound_call_workflow_id
    from frontdesk.workflows.outbound_call import OutboundCallInput, OutboundCallResult, OutboundCallWorkflow

PAGE_SIZE: Final = 100
CONTINUE_AS_NEW_AFTER: Final = 500
BOOKKEEPING_RETRY: Final = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=30)
)
BOOKKEEPING_TIMEOUT: Final = timedelta(minutes=1)


def campaign_workflow_id(campaign_id: UUID) -> str:
    """The id of a campaign's workflow."""
    return f"campaign-{campaign_id}"


@dataclass
class CampaignProgress:
    """Counts the `progress` query reports from."""

    total: int = 0
    status: str = CampaignStatus.scheduled.value
    finished: dict[str, int] = field(default_factory=dict)  # final TargetStatus -> count


@dataclass(frozen=True)
class CampaignInput:
    """The campaign, and where a continued run picks up (calling position, counts, pause)."""

    clinic_id: UUID
    campaign_id: UUID
    after_position: int = -1
    finished: dict[str, int] = field(default_factory=dict)
    paused: bool = False
    last_start: datetime | None = None  # the pace carries over a continue-as-new


@workflow.defn(name="CampaignWorkflow")
class CampaignWorkflow:
    """Runs one campaign (see the module docstring)."""

    @workflow.init
    def __init__(self, request: CampaignInput) -> None:
        self._paused = request.paused
        self._cancelled = False
        self._running: set[UUID] = set()
        self._progress = CampaignProgress(finished=dict(request.finished))
        self._last_start: datetime | None = request.last_start
        self._recorded = CampaignStatus.running.value  # the status last written to the campaign row

    @workflow.signal
    def pause(self) -> None:
        """Start no new calls until resumed (calls in progress finish)."""
        self._paused = True

    @workflow.signal
    def resume(self) -> None:
        """Start calls again."""
        self._paused = False

    @workflow.signal
    def cancel(self) -> None:
        """Start no new calls; calls in progress finish, the rest are skipped."""
        self._cancelled = True

    @workflow.query
    def progress(self) -> dict[str, Any]:
        """Counts by status: total, pending, in_progress and each final status; and the campaign's status."""
        progress = self._progress
        counts = {s.value: progress.finished.get(s.value, 0) for s in TargetStatus if s.is_final}
        in_progress = len(self._running)
        return {
            "status": self._status(),
            "total": progress.total,
            "pending": progress.total - in_progress - sum(progress.finished.values()),
            "in_progress": in_progress,
            **counts,
        }

    @workflow.run
    async def run(self, request: CampaignInput) -> dict[str, Any]:
        """Call every target; the final progress."""
        ref = CampaignRef(request.clinic_id, request.campaign_id)
        outline: CampaignOutline = await self._bookkeeping(prepare_campaign, ref)
        self._progress.total = outline.total
        plan = CampaignPlan.stored(outline.plan)
        if (wait := outline.start_at - workflow.now()) > timedelta():
            with contextlib.suppress(TimeoutError):  # a cancel before the start time ends the wait
                await workflow.wait_condition(lambda: self._cancelled, timeout=wait)
        recorder = asyncio.create_task(self._record_status_changes(ref))
        after = request.after_position
        started_in_run = 0
        children: set[asyncio.Task[None]] = set()
        while not self._cancelled:
            page: list[TargetRef] = await self._bookkeeping(
                campaign_targets_page, TargetPageInput(ref.clinic_id, ref.campaign_id, after, PAGE_SIZE)
            )
            if not page:
                break
            for target in page:
                if not await self._wait_for_turn(plan, outline.timezone):
                    break
                task = asyncio.create_task(self._call(outline, ref, target.target_id))
                children.add(task)
                task.add_done_callback(children.discard)
                after = target.position
                started_in_run += 1
            if started_in_run >= CONTINUE_AS_NEW_AFTER and not self._cancelled:
                await workflow.wait_condition(lambda: not children)
                recorder.cancel()
                workflow.continue_as_new(
                    replace(
                        request,
                        after_position=after,
                        finished=dict(self._progress.finished),
                        paused=self._paused,
                        last_start=self._last_start,
                    )
                )
        await workflow.wait_condition(lambda: not children)
        if self._cancelled:
            skipped = await self._bookkeeping(skip_remaining_targets, ref)
            self._count(TargetStatus.skipped.value, skipped)
        final = CampaignStatus.cancelled if self._cancelled else CampaignStatus.completed
        recorder.cancel()
        await self._bookkeeping(
            set_campaign_status, CampaignStatusInput(ref.clinic_id, ref.campaign_id, final.value)
        )
        self._progress.status = final.value
        return self.progress()

    def _status(self) -> str:
        if self._progress.status in (CampaignStatus.completed.value, CampaignStatus.cancelled.value):
            return self._progress.status
        if self._cancelled:
            return CampaignStatus.cancelled.value
        return CampaignStatus.paused.value if self._paused else CampaignStatus.running.value

    async def _record_status_changes(self, ref: CampaignRef) -> None:
        """Keep the campaign row's status (running/paused) in step with the signals."""
        while True:
            await workflow.wait_condition(lambda: self._status() != self._recorded)
            recorded = self._recorded = self._status()
            if recorded in (CampaignStatus.completed.value, CampaignStatus.cancelled.value):
                return  # the run records the final status itself
            await self._bookkeeping(
                set_campaign_status, CampaignStatusInput(ref.clinic_id, ref.campaign_id, recorded)
            )

    async def _wait_for_turn(self, plan: CampaignPlan, timezone: str) -> bool:
        """Wait until a call may start (not paused, a free slot, the pace, calling hours);
        False if the campaign was cancelled meanwhile."""
        while True:
            await workflow.wait_condition(
                lambda: self._cancelled or (not self._paused and len(self._running) < plan.max_concurrent)
            )
            if self._cancelled:
                return False
            pace = timedelta(seconds=60 / plan.calls_per_minute)
            if (
                self._last_start is not None
                and (wait := self._last_start + pace - workflow.now()) > timedelta()
            ):
                await workflow.sleep(wait)
            if (closed := plan.calling_hours.wait_from(workflow.now(), timezone)) > timedelta():
                await workflow.sleep(closed)
            # Signals may have arrived during the sleeps: check again before starting.
            if self._cancelled or self._paused or len(self._running) >= plan.max_concurrent:
                continue
            self._last_start = workflow.now()
            return True

    async def _call(self, outline: CampaignOutline, ref: CampaignRef, target_id: UUID) -> None:
        """Run one target's OutboundCallWorkflow and count how it ended."""
        self._running.add(target_id)
        try:
            result: OutboundCallResult = await workflow.execute_child_workflow(
                OutboundCallWorkflow.run,
                OutboundCallInput(
                    ref.clinic_id, ref.campaign_id, target_id, outline.timezone, outline.plan, outline.message
                ),
                id=outbound_call_workflow_id(target_id),
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
            status = result.status
        except WorkflowAlreadyStartedError:
            status = TargetStatus.skipped.value  # called by an earlier run of this campaign
        except ChildWorkflowError:
            workflow.logger.warning("a campaign target's workflow failed")
            status = TargetStatus.failed.value
        finally:
            self._running.discard(target_id)
        self._count(status, 1)

    def _count(self, status: str, how_many: int) -> None:
        self._progress.finished[status] = self._progress.finished.get(status, 0) + how_many

    async def _bookkeeping(self, activity: Any, request: Any) -> Any:
        return await workflow.execute_activity(
            activity, request, retry_policy=BOOKKEEPING_RETRY, start_to_close_timeout=BOOKKEEPING_TIMEOUT
        )
