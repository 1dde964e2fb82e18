"""Tools of the worker crash tests: hold a vendor request at a kill point, run and SIGKILL real
`frontdesk worker` processes, and have Temporal give up on the attempt the dead worker held.

- `RequestGate` wraps a vendor fake's ASGI app: the first request to one route is read in full
  (it has reached the vendor) and then held, so the activity is provably in flight while the
  test kills the worker. Released, the vendor either handles it (its answer going to the dead
  worker, i.e. "the vendor did it, we never heard back") or drops it ("it never arrived").
- `start_worker` / `sigkill`: the worker as a subprocess in its own session, killed as a group.
- `expire_orphaned_attempt`: a killed worker never reports its activity attempt, so Temporal
  retries it only when the attempt's start-to-close timeout (PostCallWorkflow's STEP_TIMEOUT,
  2 minutes; no heartbeat timeout) fires. While no worker polls, this shortens that timeout on
  the server (UpdateActivityOptions, what `temporal activity update-options` does), waits for
  the attempt to time out, and restores the workflow's own options before the retry can start.
  The retry is then an ordinary second attempt on the new worker, with the production timeouts.
- `forget_dead_worker`: the workflow's next task would first be offered to the killed worker's
  sticky queue, and reach the new worker only when that offer times out (10 s); this tells the
  server the cached copy is gone, as a worker does when it evicts a workflow from its cache.
"""

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.api.activity.v1 import ActivityOptions
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    ResetStickyTaskQueueRequest,
    UpdateActivityOptionsRequest,
)
from temporalio.client import Client, WorkflowHandle

from tests.stack.processes import output_of, start_frontdesk

# How long the orphaned attempt is given once the test has killed its worker.
EXPIRED_ATTEMPT = timedelta(seconds=1)
POLL_SECONDS = 0.1


@dataclass
class RequestGate:
    """Holds the first `method` request whose path ends with `path` until `release` is called."""

    method: str
    path: str
    held: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    answer_status: int | None = None  # what the vendor answered the held request (None: dropped)
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    _forward: bool = False
    _taken: bool = False

    def wrap(self, make_app: Callable[[str], ASGIApp]) -> Callable[[str], ASGIApp]:
        """An app factory for `serve`: the fake's app behind this gate."""

        def make(url: str) -> ASGIApp:
            inner = make_app(url)

            async def app(scope: Scope, receive: Receive, send: Send) -> None:
                if self._taken or not self._matches(scope):
                    await inner(scope, receive, send)
                    return
                self._taken = True
                await self._hold(inner, scope, receive, send)

            return app

        return make

    def release(self, *, vendor_handles_it: bool) -> None:
        """Let the held request go: to the vendor fake, or nowhere (the first call decides)."""
        if not self._released.is_set():
            self._forward = vendor_handles_it
            self._released.set()

    async def _hold(self, inner: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:  # read the whole request first: after this it has reached the "vendor"
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.held.set()
        await self._released.wait()
        if self._forward:
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if replayed:  # the client is gone: nothing more will come
                    return {"type": "http.disconnect"}
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            async def record_answer(message: Message) -> None:
                # The worker that asked was SIGKILLed: the answer is noted, and goes to a dead socket.
                if message["type"] == "http.response.start":
                    self.answer_status = message["status"]
                await send(message)

            await inner(scope, replay, record_answer)
        else:
            # "Never arrived": the vendor does nothing; the dead socket gets an empty answer.
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b""})
        self.finished.set()

    def _matches(self, scope: Scope) -> bool:
        return (
            scope["type"] == "http" and scope["method"] == self.method and scope["path"].endswith(self.path)
        )


def start_worker(env: dict[str, str], directory: Path, name: str) -> tuple[subprocess.Popen[bytes], Path]:
    """`frontdesk worker` in a session of its own, its output in `<directory>/<name>.log`."""
    log = directory / f"{name}.log"
    return start_frontdesk(["worker"], env, directory, log), log


def sigkill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process's whole group (the worker and any thread or child it has) and reap it."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


async def wait_until(
    condition: Callable[[], Awaitable[bool]],
    what: str,
    *,
    worker: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    within: float = 60,
) -> None:
    """Poll `condition` until true; fail naming `what` (with the worker's output) if the worker
    exits first or `within` seconds pass."""
    deadline = time.monotonic() + within
    while not await condition():
        if worker is not None and worker.poll() is not None:
            raise AssertionError(f"the worker exited with {worker.returncode} before {what}:\n{_output(log)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {within}s:\n{_output(log)}")
        await asyncio.sleep(POLL_SECONDS)


def _output(log: Path | None) -> str:
    return output_of(log) if log is not None and log.exists() else ""


def print_worker_logs(directory: Path) -> None:
    """Print the output of every worker `start_worker` ran in `directory` (pytest shows it on failure)."""
    for log in sorted(directory.glob("worker-*.log")):
        print(f"--- {log.name}\n{output_of(log)}")


async def pending_activity(client: Client, workflow_id: str, activity_id: str) -> PendingActivityInfo | None:
    """The workflow's pending activity of that id, if it has one."""
    described = await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
        )
    )
    return next((info for info in described.pending_activities if info.activity_id == activity_id), None)


async def _update_options(
    client: Client, workflow_id: str, activity_id: str, *, start_to_close: timedelta | None
) -> None:
    """Set the activity's start-to-close timeout, or (None) restore the workflow's own options."""
    request = UpdateActivityOptionsRequest(
        namespace=client.namespace,
        execution=WorkflowExecution(workflow_id=workflow_id),
        identity="worker-crash-test",
        id=activity_id,
    )
    if start_to_close is None:
        request.restore_original = True
    else:
        timeout = Duration()
        timeout.FromTimedelta(start_to_close)
        request.activity_options.CopyFrom(ActivityOptions(start_to_close_timeout=timeout))
        request.update_mask.CopyFrom(FieldMask(paths=["start_to_close_timeout"]))
    await client.workflow_service.update_activity_options(request)


async def forget_dead_worker(client: Client, workflow_id: str) -> None:
    """Send the workflow's next workflow task to its task queue rather than to the sticky queue
    of the killed worker (see the module doc)."""
    await client.workflow_service.reset_sticky_task_queue(
        ResetStickyTaskQueueRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
        )
    )


@dataclass(frozen=True)
class Expiry:
    """The killed step as the server saw it: `timed_out` right after the orphaned attempt timed
    out (its failure), `retry` once the workflow's options were restored (what the next attempt
    runs with)."""

    timed_out: PendingActivityInfo
    retry: PendingActivityInfo


async def expire_orphaned_attempt(client: Client, workflow_id: str, activity_id: str) -> Expiry:
    """Time out the attempt a killed worker was running, now rather than after STEP_TIMEOUT, and
    restore the activity's own options for the next attempt.

    Call it while no worker polls the task queue: the retry must not start before the restore.
    """
    info = await pending_activity(client, workflow_id, activity_id)
    assert info is not None and info.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED, info
    first_attempt = info.attempt
    await _update_options(client, workflow_id, activity_id, start_to_close=EXPIRED_ATTEMPT)
    timed_out: PendingActivityInfo | None = None

    async def retry_scheduled() -> bool:
        nonlocal timed_out
        timed_out = await pending_activity(client, workflow_id, activity_id)
        return timed_out is not None and timed_out.attempt > first_attempt

    await wait_until(retry_scheduled, f"the orphaned attempt of {activity_id} timed out", within=30)
    assert timed_out is not None
    await _update_options(client, workflow_id, activity_id, start_to_close=None)
    retry = await pending_activity(client, workflow_id, activity_id)
    assert retry is not None
    return Expiry(timed_out, retry)


async def started_attempt(handle: WorkflowHandle, activity_id: str) -> HistoryEvent:
    """The ActivityTaskStarted event of the activity's final attempt (the attempt that completed
    it, and the identity of the worker that ran it)."""
    scheduled: int | None = None
    async for event in handle.fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes"):
            if event.activity_task_scheduled_event_attributes.activity_id == activity_id:
                scheduled = event.event_id
        elif event.HasField("activity_task_started_event_attributes"):
            if event.activity_task_started_event_attributes.scheduled_event_id == scheduled:
                return event
    raise AssertionError(f"the history has no started attempt of {activity_id}")
