"""RetentionWorkflow: the daily clean-up of the transcripts and message bodies each clinic keeps
no longer (frontdesk.activities.retention), started by the Temporal Schedule every worker ensures
at start-up (frontdesk.workflows.schedules).

One activity does the work, in short batches, heartbeating after each; a worker that dies mid-run
is noticed within the heartbeat timeout and the retry finds only what is left. After its last
retry the run fails, and the next day's run removes what this one did not.
"""

from datetime import timedelta
from typing import Final

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from frontdesk.activities.retention import RetentionCounts, RetentionInput, remove_expired_texts_activity

CLEAN_UP_RETRY: Final = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=10,
)
# Every clinic in one activity: generous, the heartbeats notice a lost worker long before.
CLEAN_UP_TIMEOUT: Final = timedelta(hours=2)
HEARTBEAT_TIMEOUT: Final = timedelta(minutes=2)


@workflow.defn(name="RetentionWorkflow")
class RetentionWorkflow:
    """One daily clean-up of every clinic."""

    @workflow.run
    async def run(self, request: RetentionInput) -> RetentionCounts:
        """Remove what each clinic's retention period has passed; what was removed, counted."""
        return await workflow.execute_activity(
            remove_expired_texts_activity,
            request,
            activity_id="remove-expired-texts",
            start_to_close_timeout=CLEAN_UP_TIMEOUT,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=CLEAN_UP_RETRY,
        )
