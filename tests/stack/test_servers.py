"""The production split: `frontdesk api` and `frontdesk realtime` each serve on their own port."""

import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from frontdesk.devstack.ports import free_port
from tests.stack.helpers import descendants, is_running
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


def test_two_media_processes_share_the_port_and_stop_together(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """`frontdesk realtime --processes 2`: two media processes listen on one port, the kernel
    hands new connections to both, and SIGTERM stops both and then the parent."""
    port = free_port()
    env = frontdesk_env(
        database_url=f"sqlite:///{tmp_path / 'split.db'}",
        temporal_address=temporal_address(temporal_env),
        realtime_port=str(port),
    )
    log = tmp_path / "realtime.log"
    server = start_frontdesk(["realtime", "--processes", "2"], env, tmp_path, log)
    try:
        wait_for_http_200(f"http://127.0.0.1:{port}/readyz", server, log)
        media = _media_processes(server.pid)
        assert len(media) == 2, output_of(log)
        _wait_until(lambda: all(_listening_on(pid, port) for pid in media), "both to listen", log)
        # Connections from many source ports: the kernel spreads them over the listening sockets.
        connections = [socket.create_connection(("127.0.0.1", port)) for _ in range(24)]
        try:
            _wait_until(
                lambda: sum(_connected_on(pid, port) for pid in media) == len(connections),
                "every connection to be accepted",
                log,
            )
            taken = {pid: _connected_on(pid, port) for pid in media}
        finally:
            for connection in connections:
                connection.close()
        code = stop(server, signal.SIGTERM, log)
    finally:
        kill_session(server)

    assert all(count > 0 for count in taken.values()), taken
    assert code == -signal.SIGTERM
    assert not any(is_running(pid) for pid in media)


def _media_processes(parent: int) -> list[int]:
    """The media processes `frontdesk realtime` started (spawned interpreters, not the tracker)."""
    return sorted(
        pid
        for pid in descendants(parent)
        if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    )


def _socket_inodes(pid: int) -> set[str]:
    fds = Path(f"/proc/{pid}/fd")
    links = (os.readlink(fd) for fd in fds.iterdir() if fd.is_symlink())
    return {link[len("socket:[") : -1] for link in links if link.startswith("socket:[")}


def _tcp_sockets(port: int, state: str) -> set[str]:
    """Inodes of IPv4 TCP sockets whose local port is `port`, in `state` (hex, /proc/net/tcp)."""
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    fields = [line.split() for line in lines]
    return {f[9] for f in fields if int(f[1].split(":")[1], 16) == port and f[3] == state}


def _listening_on(pid: int, port: int) -> bool:
    return bool(_socket_inodes(pid) & _tcp_sockets(port, "0A"))


def _connected_on(pid: int, port: int) -> int:
    return len(_socket_inodes(pid) & _tcp_sockets(port, "01"))


def _wait_until(condition: Callable[[], bool], what: str, log: Path, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {within:g} s for {what}:\n{output_of(log)}")
        time.sleep(0.1)
