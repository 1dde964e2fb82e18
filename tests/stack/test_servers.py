"""The production split: `frontdesk api` and `frontdesk realtime` each serve on their own port."""

import signal
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from frontdesk.devstack.ports import free_port
from tests.stack.processes import (
    frontdesk_env,
    kill_session,
    output_of,
    start_frontdesk,
    stop,
    wait_for_http_200,
)
from tests.temporal_fixtures import temporal_address

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("command", "port_setting"), [("api", "api_port"), ("realtime", "realtime_port")])
def test_split_process_is_ready_and_stops_gracefully(
    command: str, port_setting: str, temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    port = free_port()
    env = frontdesk_env(
        database_url=f"sqlite:///{tmp_path / 'split.db'}",
        temporal_address=temporal_address(temporal_env),
        **{port_setting: str(port)},
    )
    log = tmp_path / f"{command}.log"
    server = start_frontdesk([command], env, tmp_path, log)
    try:
        wait_for_http_200(f"http://127.0.0.1:{port}/readyz", server, log)
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json()
        code = stop(server, signal.SIGTERM, log)
    finally:
        kill_session(server)

    assert health == {"status": "ok", "database": "ok", "temporal": "ok", "draining": False}
    # uvicorn shuts down gracefully, then re-raises the signal it caught as its exit status.
    assert "Finished server process" in output_of(log)
    assert code == -signal.SIGTERM
