"""Child processes of `frontdesk dev`: each in its own process group, stopped as a group.

A child gets SIGTERM if the supervisor itself dies (Linux parent-death signal), so not even a
`kill -9` of `frontdesk dev` leaves a Temporal server running.
"""

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from frontdesk.logs import get_logger

log = get_logger(__name__)

_PR_SET_PDEATHSIG = 1
# Loaded before any fork: the child only makes the call, it does not look the symbol up.
_prctl = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).prctl if sys.platform == "linux" else None


def _terminate_with_parent() -> None:
    """Runs in the forked child before exec: ask the kernel to SIGTERM it when its parent dies."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    """A named child process, the leader of its own process group."""

    name: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        """The child's pid, which is also its process group id."""
        return self.process.pid

    def exit_code(self) -> int | None:
        """The exit code if the child has exited, else None."""
        return self.process.poll()

    def signal_group(self, sig: signal.Signals) -> None:
        """Send `sig` to every process in the child's group."""
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass  # the whole group is already gone, which is what we want


def spawn(name: str, argv: list[str], *, env: Mapping[str, str], output: IO[bytes] | None = None) -> Child:
    """Start `argv` as a child in a new session; its output goes to `output` or to ours."""
    process = subprocess.Popen(
        argv,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
        start_new_session=True,
        preexec_fn=_terminate_with_parent,
    )
    log.info("child_started", child=name, pid=process.pid)
    return Child(name, process)


def stop_children(children: list[Child], grace: float) -> None:
    """SIGTERM each child's group, wait up to `grace` seconds, then SIGKILL what is left."""
    for child in children:
        if child.exit_code() is None:
            child.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.process.wait(timeout=max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            log.warning("child_killed", child=child.name, pid=child.pid, grace_s=grace)
            child.signal_group(signal.SIGKILL)
            child.process.wait()
        # The leader is gone; anything it left in its group goes too.
        child.signal_group(signal.SIGKILL)
        log.info("child_stopped", child=child.name, exit_code=child.exit_code())


def log_tail(path: Path, start: int = 0, lines: int = 20) -> str:
    """The last `lines` lines written to `path` after byte offset `start`."""
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            text = handle.read().decode(errors="replace")
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(text.splitlines()[-lines:]) or f"({path} has no output from this run)"
