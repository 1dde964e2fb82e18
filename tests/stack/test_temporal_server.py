"""The embedded Temporal server's start-up checks: a failure comes with the server's own words."""

import socket
from pathlib import Path

import pytest

from frontdesk.devstack.ports import free_port
from frontdesk.devstack.processes import stop_children
from frontdesk.devstack.temporal_server import TemporalDevServer, TemporalServerError

pytestmark = pytest.mark.slow


async def test_a_server_that_exits_is_reported_with_its_log_tail(tmp_path: Path) -> None:
    (tmp_path / "temporal.log").write_text("a line from an earlier run\n")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        server = TemporalDevServer(data_dir=tmp_path, host="127.0.0.1", port=taken, ui_port=free_port())
        running = server.start()
        try:
            with pytest.raises(TemporalServerError) as raised:
                await running.wait_until_serving(within=120)
        finally:
            stop_children([running.child], grace=10)

    message = str(raised.value)
    assert "the Temporal dev server exited with code" in message
    assert f"Last lines of {tmp_path / 'temporal.log'}" in message
    assert "address already in use" in message
    assert "a line from an earlier run" not in message


async def test_a_running_server_passes_its_health_check(tmp_path: Path) -> None:
    server = TemporalDevServer(data_dir=tmp_path, host="127.0.0.1", port=free_port(), ui_port=free_port())
    running = server.start()
    try:
        await running.wait_until_serving(within=120)
        assert await running.health_check() is None
    finally:
        stop_children([running.child], grace=10)
    assert running.child.exit_code() == 0
    assert server.db_file.is_file()
    assert await running.health_check() is not None  # nothing answers any more
