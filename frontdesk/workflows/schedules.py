"""The Temporal Schedule of the daily retention clean-up (RetentionWorkflow), ensured by every
worker when it starts (frontdesk.worker.run_worker), so production and `make run` both have it.

Ensuring creates the schedule, or brings an existing one up to date with this release (its
action, time and policy; a schedule an operator paused stays paused). Workers starting together
may each do it: the last update wins, and they all write the same thing. The schedule id and
the workflow ids it starts (`retention-` and the scheduled time) name no clinic or patient.
"""

from dataclasses import replace
from datetime import timedelta
from typing import Final

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from frontdesk.activities.retention import RetentionInput
from frontdesk.logs import get_logger
from frontdesk.workflows.retention import RetentionWorkflow

log = get_logger(__name__)

RETENTION_SCHEDULE_ID: Final = "frontdesk-retention"
RETENTION_WORKFLOW_ID: Final = "retention"  # Temporal appends each run's scheduled time
# Daily at 08:00 UTC: the middle of the night for clinics in the Americas.
RETENTION_EVERY: Final = timedelta(days=1)
RETENTION_AT: Final = timedelta(hours=8)
# A run missed while Temporal was down still happens if it is back within the day; a run still
# going (or retrying) when the next is due makes that one skip.
RETENTION_POLICY: Final = SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1))


def retention_schedule(task_queue: str) -> Schedule:
    """The schedule that starts a RetentionWorkflow on `task_queue` every day."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            RetentionWorkflow.run, RetentionInput(), id=RETENTION_WORKFLOW_ID, task_queue=task_queue
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=RETENTION_EVERY, offset=RETENTION_AT)]),
        policy=RETENTION_POLICY,
    )


async def ensure_retention_schedule(client: Client, task_queue: str) -> None:
    """Create the retention schedule, or update the one that exists (see the module doc)."""
    schedule = retention_schedule(task_queue)
    try:
        await client.create_schedule(RETENTION_SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:

        def keeping_state(current: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(replace(schedule, state=current.description.schedule.state))

        await client.get_schedule_handle(RETENTION_SCHEDULE_ID).update(keeping_state)
        log.info("schedule_updated", schedule_id=RETENTION_SCHEDULE_ID, task_queue=task_queue)
    else:
        log.info("schedule_created", schedule_id=RETENTION_SCHEDULE_ID, task_queue=task_queue)
