"""The Temporal worker process: runs every workflow and activity of frontdesk.worker_registry."""

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, NoReturn, TypeVar

from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from frontdesk.config import Settings
from frontdesk.logs import get_logger
from frontdesk.telephony.choice import worker_carriers
from frontdesk.temporal_client import connect_settings
from frontdesk.tracing import shutdown_tracing
from frontdesk.worker_registry import WORKFLOWS, activities
from frontdesk.workflows.schedules import RETENTION_SCHEDULE_ID, ensure_retention_schedule

log = get_logger(__name__)

# Temporal may still be starting (embedded stack, compose): wait this long for it.
CONNECT_WITHIN_S = 60.0
# Sync activities (database, vendor SDKs) run on these threads; one slot per thread.
ACTIVITY_THREADS = 16
# On shutdown, running activities get this long to finish before they are cancelled.
GRACEFUL_SHUTDOWN = timedelta(seconds=10)

T = TypeVar("T")


class WorkerStoppedError(RuntimeError):
    """The worker stopped without being asked to."""


async def run_worker(settings: Settings) -> None:
    """Connect to Temporal and poll settings.temporal_task_queue until SIGINT or SIGTERM.

    A signal that arrives while still connecting ends the worker cleanly too.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        client = await _unless_stopped(
            connect_settings(settings, within=CONNECT_WITHIN_S),
            stop,
        )
        if client is None:
            log.info("worker_stopped_before_connecting")
            return
        try:
            await ensure_retention_schedule(client, settings.temporal_task_queue)
        except RPCError as error:
            # Calls matter more than the clean-up: serve the queue anyway; the next start tries again.
            log.error("schedule_not_ensured", schedule_id=RETENTION_SCHEDULE_ID, error=str(error))
        with ThreadPoolExecutor(ACTIVITY_THREADS, thread_name_prefix="activity") as executor:
            await _run_until_stopped(
                build_worker(client, settings.temporal_task_queue, executor, settings), stop
            )
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def build_worker(client: Client, task_queue: str, executor: ThreadPoolExecutor, settings: Settings) -> Worker:
    """A worker of every registered workflow and activity on `task_queue`, sync activities on
    `executor`, calls and texts through the carriers `settings` configure."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=activities(*worker_carriers(settings)),
        activity_executor=executor,
        max_concurrent_activities=ACTIVITY_THREADS,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
    )


async def _unless_stopped(work: Coroutine[Any, Any, T], stop: asyncio.Event) -> T | None:
    """The result of `work`, or None (with `work` cancelled) if `stop` is set first."""
    task = asyncio.create_task(work)
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        stopping.cancel()
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


async def _run_until_stopped(worker: Worker, stop: asyncio.Event) -> None:
    """Run `worker` until `stop` is set, then shut it down; a worker that ends by itself is an error."""
    running = asyncio.create_task(worker.run())
    stopping = asyncio.create_task(stop.wait())
    log.info(
        "worker_started",
        task_queue=worker.task_queue,
        workflows=len(WORKFLOWS),
    )
    await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if running.done():
        stopping.cancel()
        running.result()  # raises the worker's own failure, if it had one
        raise WorkerStoppedError("the Temporal worker stopped without a shutdown signal")
    log.info("worker_stopping")
    await worker.shutdown()
    await running
    log.info("worker_stopped")


def exit_skipping_finalization(code: int) -> NoReturn:
    """End the process with `code` at once, after flushing its output (logs, and spans while tracing).

    Once a worker has shut down nothing is left to clean up, while the Temporal SDK's Rust
    threads can crash an interpreter that is finalizing ("PyGILState_Release: thread state must
    be current", temporalio/sdk-python#300), turning a clean stop into SIGABRT.
    """
    shutdown_tracing()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
