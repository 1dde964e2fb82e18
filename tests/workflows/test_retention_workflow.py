"""RetentionWorkflow and its daily schedule on the real Temporal dev server: a worker of every
registered workflow runs the clean-up, ensuring the schedule twice leaves the one daily schedule
(an operator's pause kept, this release's action applied), and the schedule's run cleans up."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TypeVar
from uuid import uuid4

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.client import (
    Client,
    ScheduleActionStartWorkflow,
    ScheduleDescription,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from frontdesk.activities.retention import RetentionCounts, RetentionInput
from frontdesk.config import get_settings
from frontdesk.domain.models import AuditEntry, utcnow
from frontdesk.worker import ACTIVITY_THREADS, build_worker
from frontdesk.workflows.retention import RetentionWorkflow
from frontdesk.workflows.schedules import RETENTION_SCHEDULE_ID, ensure_retention_schedule
from tests.activities.test_retention import add_conversation
from tests.domain.factories import make_small_clinic
from tests.temporal_fixtures import temporal_env

__all__ = ["temporal_env"]

T = TypeVar("T")
WAIT_S = 60.0  # generous: a loaded machine


@pytest.fixture
def settings_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The worker's activities on the test database."""
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
async def no_schedule(temporal_env: WorkflowEnvironment) -> AsyncIterator[Client]:
    """The dev server's client, without the retention schedule before the test (another test's
    worker may have ensured it) or after it (so no daily run fires on the shared server)."""

    async def delete() -> None:
        with contextlib.suppress(RPCError):  # not there
            await temporal_env.client.get_schedule_handle(RETENTION_SCHEDULE_ID).delete()

    await delete()
    yield temporal_env.client
    await delete()


@asynccontextmanager
async def worker(client: Client) -> AsyncIterator[str]:
    """The production worker's workflows and activities, on a task queue of its own."""
    task_queue = f"retention-{uuid4().hex}"
    with ThreadPoolExecutor(ACTIVITY_THREADS, thread_name_prefix="activity") as executor:
        async with build_worker(client, task_queue, executor, get_settings()):
            yield task_queue


async def eventually(read: Callable[[], Awaitable[T]], done: Callable[[T], bool], what: str) -> T:
    """What `read` returns once `done` says so (the server's views lag its writes)."""
    deadline = time.monotonic() + WAIT_S
    while not done(value := await read()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {WAIT_S:g}s; last: {value!r}")
        await asyncio.sleep(0.2)
    return value


def audit_entries(engine: Engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEntry)))


async def test_the_workflow_cleans_up_through_a_worker(
    temporal_env: WorkflowEnvironment, engine: Engine, settings_env: None
) -> None:
    clinic = make_small_clinic(engine, "east", "+15550140000")
    add_conversation(engine, clinic.clinic_id, utcnow() - timedelta(days=400))
    add_conversation(engine, clinic.clinic_id, utcnow() - timedelta(days=10))
    client = temporal_env.client

    async with worker(client) as task_queue:
        runs = [
            await client.execute_workflow(
                RetentionWorkflow.run,
                RetentionInput(batch_size=1),
                id=f"retention-{uuid4()}",
                task_queue=task_queue,
            )
            for _ in range(2)
        ]

    assert runs == [RetentionCounts(clinics=1, calls=1, turns=2, messages=1), RetentionCounts()]
    [entry] = audit_entries(engine)
    assert entry.clinic_id == clinic.clinic_id and entry.detail == {"calls": 1, "turns": 2, "messages": 1}


def _start_action(description: ScheduleDescription) -> ScheduleActionStartWorkflow:
    action = description.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    return action


async def test_ensuring_twice_leaves_one_daily_schedule(no_schedule: Client) -> None:
    client = no_schedule
    handle = client.get_schedule_handle(RETENTION_SCHEDULE_ID)

    await ensure_retention_schedule(client, "queue-a")
    await ensure_retention_schedule(client, "queue-a")

    description = await handle.describe()
    assert description.schedule.spec.intervals == [
        ScheduleIntervalSpec(every=timedelta(days=1), offset=timedelta(hours=8))
    ]
    assert not description.schedule.spec.calendars and not description.schedule.spec.cron_expressions
    assert description.schedule.policy.overlap is ScheduleOverlapPolicy.SKIP
    action = _start_action(description)
    assert (action.workflow, action.id, action.task_queue) == ("RetentionWorkflow", "retention", "queue-a")
    listed = await eventually(
        lambda: _listed(client), lambda ids: RETENTION_SCHEDULE_ID in ids, "the schedule listed"
    )
    assert listed.count(RETENTION_SCHEDULE_ID) == 1

    # A new release (here, another task queue) updates the schedule; an operator's pause stays.
    await handle.pause(note="paused by the operator")
    await ensure_retention_schedule(client, "queue-b")

    description = await handle.describe()
    assert _start_action(description).task_queue == "queue-b"
    assert description.schedule.state.paused and description.schedule.state.note == "paused by the operator"


async def _listed(client: Client) -> list[str]:
    return [entry.id async for entry in await client.list_schedules()]


async def test_the_schedules_run_cleans_up(no_schedule: Client, engine: Engine, settings_env: None) -> None:
    client = no_schedule
    clinic = make_small_clinic(engine, "east", "+15550140000")
    add_conversation(engine, clinic.clinic_id, utcnow() - timedelta(days=400))
    handle = client.get_schedule_handle(RETENTION_SCHEDULE_ID)

    async with worker(client) as task_queue:
        await ensure_retention_schedule(client, task_queue)
        await handle.trigger()
        description = await eventually(
            handle.describe, lambda d: bool(d.info.recent_actions), "a run started"
        )
        started = description.info.recent_actions[0].action
        result = await client.get_workflow_handle_for(RetentionWorkflow.run, started.workflow_id).result()

    assert started.workflow_id.startswith("retention-")  # the scheduled time follows: no patient data
    assert result == RetentionCounts(clinics=1, calls=1, turns=2, messages=1)
    assert [entry.detail for entry in audit_entries(engine)] == [{"calls": 1, "turns": 2, "messages": 1}]
