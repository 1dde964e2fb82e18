"""Child processes of `frontdesk dev`: stopped as groups, escalated to SIGKILL, gone with their parent."""

import signal
import subprocess
import sys
import time
from pathlib import Path

from frontdesk.devstack.processes import log_tail, spawn, stop_children
from tests.stack.helpers import is_running

# A child that ignores SIGTERM and says so once it does.
STUBBORN = (
    "import signal, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(300)\n"
)


def _wait_for_line(path: Path, text: str, process: subprocess.Popen[bytes], within: float = 30) -> None:
    deadline = time.monotonic() + within
    while text not in path.read_text(errors="replace"):
        assert process.poll() is None, f"exited with {process.returncode}: {path.read_text()}"
        assert time.monotonic() < deadline, f"{text!r} not written within {within}s: {path.read_text()}"
        time.sleep(0.05)


def test_stop_children_terminates_each_group() -> None:
    children = [spawn(f"sleeper {n}", ["sleep", "300"], env={}) for n in range(2)]

    stop_children(children, grace=30)

    assert [child.exit_code() for child in children] == [-signal.SIGTERM, -signal.SIGTERM]


def test_stop_children_kills_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    out = tmp_path / "stubborn.out"
    with out.open("wb") as output:
        child = spawn("stubborn", [sys.executable, "-c", STUBBORN], env={}, output=output)
    _wait_for_line(out, "ready", child.process)

    stop_children([child], grace=0.5)

    assert child.exit_code() == -signal.SIGKILL


def test_a_child_does_not_outlive_its_killed_parent(tmp_path: Path) -> None:
    out = tmp_path / "parent.out"
    parent_code = (
        "import os, sys, time\n"
        "from frontdesk.devstack.processes import spawn\n"
        "child = spawn('sleeper', ['sleep', '300'], env=os.environ)\n"
        "print('child', child.pid, flush=True)\n"
        "time.sleep(300)\n"
    )
    with out.open("wb") as output:
        parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=output)
    try:
        _wait_for_line(out, "child ", parent)
        child_pid = int(out.read_text().split("child ")[1].split()[0])
        assert is_running(child_pid)

        parent.kill()  # SIGKILL: the parent cannot stop its child itself
        parent.wait()

        # The kernel sends the child SIGTERM (parent-death signal). Nobody reaps the orphan in this
        # sandbox, so "gone" means exited (a zombie at most).
        deadline = time.monotonic() + 30
        while is_running(child_pid):
            assert time.monotonic() < deadline, "the child outlived its parent by 30 s"
            time.sleep(0.05)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_log_tail_reads_only_this_runs_output(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("old run\n")
    start = log.stat().st_size
    with log.open("a") as handle:
        handle.write("".join(f"line {n}\n" for n in range(30)))

    tail = log_tail(log, start, lines=3)

    assert tail == "line 27\nline 28\nline 29"
    assert log_tail(log, log.stat().st_size) == f"({log} has no output from this run)"
    assert log_tail(tmp_path / "missing.log") == f"({tmp_path / 'missing.log'} does not exist)"
