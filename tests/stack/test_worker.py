"""`frontdesk worker` against a real Temporal dev server: it ensures the daily retention schedule,
polls its task queue and stops cleanly."""

import asyncio
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from frontdesk.workflows.schedules import RETENTION_SCHEDULE_ID
from tests.stack.processes import frontdesk_env, kill_session, output_of, start_frontdesk, stop
from tests.temporal_fixtures import temporal_address

pytestmark = pytest.mark.slow


async def _pollers(client: Client, queue: str) -> int:
    """How many pollers, of workflow and activity tasks together, the server sees on `queue`."""
    total = 0
    for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
        response = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace, task_queue=TaskQueue(name=queue), task_queue_type=kind
            )
        )
        total += len(response.pollers)
    return total


async def _wait_for_pollers(
    client: Client, queue: str, worker: subprocess.Popen[bytes], log: Path, within: float = 120
) -> None:
    deadline = time.monotonic() + within
    while await _pollers(client, queue) == 0:
        if worker.poll() is not None:
            raise AssertionError(f"the worker exited with {worker.returncode}:\n{output_of(log)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no poller on {queue} within {within}s:\n{output_of(log)}")
        await asyncio.sleep(0.3)


async def test_worker_polls_its_queue_and_stops_on_sigterm(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    queue = f"stack-worker-{uuid.uuid4().hex}"
    env = frontdesk_env(
        temporal_address=temporal_address(temporal_env),
        temporal_task_queue=queue,
        database_url=f"sqlite:///{tmp_path / 'worker.db'}",
    )
    log = tmp_path / "worker.log"
    worker = start_frontdesk(["worker"], env, tmp_path, log)
    try:
        await _wait_for_pollers(temporal_env.client, queue, worker, log)
        schedule = temporal_env.client.get_schedule_handle(RETENTION_SCHEDULE_ID)
        action = (await schedule.describe()).schedule.action  # ensured before the worker polls
        assert isinstance(action, ScheduleActionStartWorkflow) and action.task_queue == queue
        await schedule.delete()  # no daily run on the shared server
        code = await asyncio.to_thread(stop, worker, signal.SIGTERM, log)
    finally:
        kill_session(worker)

    assert code == 0, output_of(log)
    assert "worker_stopped" in output_of(log)
