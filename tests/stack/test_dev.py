"""`frontdesk dev` as a user runs it: a subprocess on free ports with its data in a temp dir."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowExecutionStatus

from frontdesk.devstack.demo_clinic import DEMO_ADMIN_EMAIL, find_demo_clinic
from frontdesk.devstack.executables import installed_executable
from frontdesk.devstack.ports import free_port
from frontdesk.domain.database import create_database_engine
from frontdesk.domain.models import Clinic
from frontdesk.domain.seed import DEMO_NUMBER, DEMO_SLUG
from tests.stack.dev_stack import DevStack, banner_password, run_until_ready, sign_in
from tests.stack.helpers import descendants, is_running
from tests.stack.processes import (
    output_of,
    start_frontdesk,
    stop,
    wait_for_output,
)

pytestmark = pytest.mark.slow

# No worker polls this queue, so a workflow started on it stays running: a marker in Temporal's store.
IDLE_QUEUE = "stack-test-idle"
MARKER_WORKFLOW_ID = "stack-test-persistence-marker"


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")


def _demo_clinic_id(stack: DevStack) -> uuid.UUID:
    """The demo clinic's id, after checking it is there with its phone number."""
    engine = create_database_engine(stack.database_url)
    try:
        demo = find_demo_clinic(engine)
        with Session(engine) as session:
            clinic_ids = session.exec(select(Clinic.id).where(Clinic.slug == DEMO_SLUG)).all()
    finally:
        engine.dispose()
    assert demo is not None, "the demo clinic was not seeded"
    assert demo.numbers == [DEMO_NUMBER]
    assert len(clinic_ids) == 1
    return clinic_ids[0]


async def _start_marker_workflow(address: str) -> None:
    client = await Client.connect(address)
    await client.start_workflow("StackTestMarker", id=MARKER_WORKFLOW_ID, task_queue=IDLE_QUEUE)


async def _marker_workflow_status(address: str) -> WorkflowExecutionStatus | None:
    client = await Client.connect(address)
    return (await client.get_workflow_handle(MARKER_WORKFLOW_ID).describe()).status


def _children(dev: subprocess.Popen[bytes]) -> dict[str, int]:
    """The pids of the three children of a running `frontdesk dev`, by role."""
    roles = {
        "temporal": "temporal server start-dev",
        "worker": "frontdesk worker",
        "web": "frontdesk.devstack.embedded_server",
    }
    found = {
        role: pid for pid in descendants(dev.pid) for role, marker in roles.items() if marker in _cmdline(pid)
    }
    assert set(found) == set(roles), f"children of frontdesk dev: {found}"
    return found


def _assert_all_gone(pids: list[int]) -> None:
    survivors = [pid for pid in pids if is_running(pid)]
    assert survivors == [], f"still running after frontdesk dev exited: {survivors}"
    for pid in pids:  # each child led its own process group: the groups are empty too
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)


def _children_stop_with(dev: subprocess.Popen[bytes], sig: signal.Signals, log: Path) -> None:
    """Stop `dev` with `sig`; it must exit 0 and take every descendant with it."""
    children = [*_children(dev).values(), *descendants(dev.pid)]

    assert stop(dev, sig, log) == 0, output_of(log)
    _assert_all_gone(children)


def test_dev_serves_stops_cleanly_and_keeps_its_data(
    stack: DevStack, started: list[subprocess.Popen[bytes]]
) -> None:
    log = stack.home / "dev-1.log"
    dev = run_until_ready(stack, started, log)

    # The Temporal UI, on its own port and as the API serves it (where it can decode payloads).
    for ui_url in (f"http://127.0.0.1:{stack.ui_port}/temporal/", f"{stack.api_url}/temporal/"):
        assert httpx.get(ui_url, timeout=10).status_code == 200, ui_url
    health = httpx.get(f"http://127.0.0.1:{stack.api_port}/healthz", timeout=10).json()
    assert health == {"status": "ok", "database": "ok", "temporal": "ok", "draining": False}
    assert f"http://127.0.0.1:{stack.api_port}/docs" in output_of(log)
    assert DEMO_NUMBER in output_of(log)
    assert f"http://127.0.0.1:{stack.api_port}/app/" in output_of(log)
    password = banner_password(log, DEMO_ADMIN_EMAIL)
    with httpx.Client(base_url=stack.api_url, timeout=10) as client:
        assert sign_in(client, DEMO_ADMIN_EMAIL, password) == f"/app/clinics/{DEMO_SLUG}/calls"
    demo = _demo_clinic_id(stack)
    web_env = Path(f"/proc/{_children(dev)['web']}/environ").read_bytes().split(b"\0")
    assert f"FRONTDESK_PUBLIC_BASE_URL=http://127.0.0.1:{stack.api_port}".encode() in web_env
    # Temporal payloads are encrypted with a key made on the first run, the same for every child.
    keys_file = stack.var_dir / "payload-keys"
    assert f"FRONTDESK_PAYLOAD_KEYS_FILE={keys_file.resolve()}".encode() in web_env
    assert keys_file.stat().st_mode & 0o777 == 0o600
    key = keys_file.read_text()

    asyncio.run(_start_marker_workflow(stack.temporal_address))
    _children_stop_with(dev, signal.SIGINT, log)
    assert (stack.var_dir / "temporal.db").is_file()

    log = stack.home / "dev-2.log"
    dev = run_until_ready(stack, started, log)

    assert "demo_clinic_seeded" not in output_of(log)
    assert _demo_clinic_id(stack) == demo
    assert banner_password(log, DEMO_ADMIN_EMAIL) == password  # the same admin, printed again
    assert keys_file.read_text() == key  # and the same payload key
    assert asyncio.run(_marker_workflow_status(stack.temporal_address)) == WorkflowExecutionStatus.RUNNING
    _children_stop_with(dev, signal.SIGTERM, log)


def test_a_closed_terminal_stops_every_child(stack: DevStack, started: list[subprocess.Popen[bytes]]) -> None:
    log = stack.home / "dev.log"
    dev = run_until_ready(stack, started, log)

    _children_stop_with(dev, signal.SIGHUP, log)


def test_a_second_dev_on_the_same_data_folder_says_so_and_exits(
    stack: DevStack, started: list[subprocess.Popen[bytes]]
) -> None:
    first = run_until_ready(stack, started, stack.home / "dev-1.log")
    # Other ports, the same folder: only the folder can stop it.
    other_ports = {
        "FRONTDESK_API_PORT": str(free_port()),
        "FRONTDESK_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "FRONTDESK_TEMPORAL_UI_PORT": str(free_port()),
        "FRONTDESK_TEMPORAL_METRICS_PORT": str(free_port()),
    }
    log = stack.home / "dev-2.log"
    second = start_frontdesk(["dev"], {**stack.env(), **other_ports}, stack.home, log)
    started.append(second)

    code = second.wait(timeout=60)

    assert code == 1, output_of(log)
    output = " ".join(output_of(log).split())  # rich wraps the message to the terminal's width
    assert f"another frontdesk dev (pid {first.pid}) is running on the data folder" in output
    assert "FRONTDESK_VAR_DIR" in output
    assert httpx.get(f"http://127.0.0.1:{stack.api_port}/readyz", timeout=10).status_code == 200
    _children_stop_with(first, signal.SIGTERM, stack.home / "dev-1.log")


def test_dev_serves_calls_from_media_processes_apart_from_the_api(
    stack: DevStack, started: list[subprocess.Popen[bytes]]
) -> None:
    """`frontdesk dev --media-processes 2`: the API alone on its port, `frontdesk realtime
    --processes 2` on the realtime port, the TwiML streaming there, and the two processes'
    metrics added up on either."""
    media_port = free_port()
    env = {**stack.env(), "FRONTDESK_REALTIME_PORT": str(media_port)}
    log = stack.home / "dev.log"
    dev = start_frontdesk(["dev", "--media-processes", "2"], env, stack.home, log)
    started.append(dev)
    wait_for_output("Press Ctrl-C to stop everything.", dev, log)
    media_url = f"http://127.0.0.1:{media_port}"
    assert f"{media_url} (2 processes)" in output_of(log)
    commands = [_cmdline(pid) for pid in descendants(dev.pid)]
    assert sum("frontdesk realtime --processes 2" in command for command in commands) == 1, commands
    assert sum("spawn_main" in command for command in commands) == 2, commands
    assert not any("embedded_server" in command for command in commands), commands

    call = subprocess.run(
        [
            str(installed_executable("frontdesk", "frontdesk")),
            "call",
            "--json",
            "--say",
            "What are your opening hours?",
        ],
        env={**env, "FRONTDESK_PUBLIC_BASE_URL": f"http://127.0.0.1:{stack.api_port}"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert call.returncode == 0, call.stderr
    result = json.loads(call.stdout)
    assert result["outcome"] == "completed" and result["turns"], result
    metrics = httpx.get(f"{media_url}/metrics", timeout=10).text
    assert 'frontdesk_media_calls_total{end="' in metrics, metrics[-2000:]
    frames = [line for line in metrics.splitlines() if line.startswith("frontdesk_media_frames_sent_total ")]
    assert frames and float(frames[0].split()[1]) > 0, frames
    assert httpx.get(f"http://127.0.0.1:{stack.api_port}/readyz", timeout=10).status_code == 200

    assert stop(dev, signal.SIGTERM, log) == 0, output_of(log)


def test_a_taken_port_is_named_with_the_setting_to_change(
    stack: DevStack, started: list[subprocess.Popen[bytes]]
) -> None:
    log = stack.home / "dev.log"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", stack.api_port))
        holder.listen()
        dev = start_frontdesk(["dev"], stack.env(), stack.home, log)
        started.append(dev)
        code = dev.wait(timeout=60)

    output = output_of(log)
    assert code != 0, output
    assert f"port {stack.api_port} on 127.0.0.1 is already in use" in output
    assert "FRONTDESK_API_PORT" in output
    assert not stack.var_dir.exists(), "nothing may start before the ports are checked"


def test_a_dying_child_is_named_and_stops_the_rest(
    stack: DevStack, started: list[subprocess.Popen[bytes]]
) -> None:
    log = stack.home / "dev.log"
    dev = run_until_ready(stack, started, log)
    children = _children(dev)

    os.kill(children["worker"], signal.SIGKILL)
    code = dev.wait(timeout=90)

    assert code != 0
    assert "the worker exited unexpectedly" in output_of(log)
    _assert_all_gone(list(children.values()))
