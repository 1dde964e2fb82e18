"""The whole worker (every workflow and activity, as `frontdesk worker` registers them) on the
real Temporal dev server, for tests that run spoken calls end to end.

Import both fixtures into the test module: `from tests.realtime.call_worker import call_worker,
temporal_env`.
"""

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from uuid import uuid4

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from frontdesk.config import get_settings
from frontdesk.worker import build_worker
from tests.temporal_fixtures import temporal_address, temporal_env

__all__ = ["CallWorker", "call_worker", "temporal_env"]

# A port nothing listens on: a stack pointed here runs its calls without Temporal.
UNREACHABLE_TEMPORAL = "127.0.0.1:1"


@dataclass(frozen=True)
class CallWorker:
    """Where the worker polls: the stack's temporal_address and temporal_task_queue settings."""

    client: Client
    address: str
    task_queue: str


@pytest.fixture
async def call_worker(
    temporal_env: WorkflowEnvironment, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[CallWorker]:
    """A worker on a task queue of its own; its activities write to the test database."""
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", database_url)  # activities read the settings
    get_settings.cache_clear()
    task_queue = f"calls-{uuid4().hex}"
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="activity") as executor:
        async with build_worker(temporal_env.client, task_queue, executor, get_settings()):
            yield CallWorker(temporal_env.client, temporal_address(temporal_env), task_queue)
    get_settings.cache_clear()
