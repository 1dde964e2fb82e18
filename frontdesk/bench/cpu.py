"""CPU time from /proc (Linux), read before and after a load: user + system seconds of each child
of the stack's supervisor (its own children included), and of one process alone (the benchmark's,
whose children are the stack)."""

import os
from pathlib import Path
from typing import Final

_TICKS_PER_SECOND: Final = os.sysconf("SC_CLK_TCK")
_PROC: Final = Path("/proc")


def children(pid: int) -> list[int]:
    children: list[int] = []
    for task in (_PROC / str(pid) / "task").glob("*"):
        try:
            children.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue  # the thread ended while we looked
    return children


def process_seconds(pid: int) -> float:
    """CPU seconds used so far by `pid` itself (all its threads), without its children."""
    return _stat_seconds(_PROC / str(pid) / "stat")


def main_thread_seconds(pid: int) -> float:
    """CPU seconds used so far by the main thread of `pid` alone (its event loop, in a server)."""
    return _stat_seconds(_PROC / str(pid) / "task" / str(pid) / "stat")


def _stat_seconds(stat_file: Path) -> float:
    try:
        stat = stat_file.read_text()
    except OSError:
        return 0.0  # the process ended: its time is gone with it
    # Fields after the command (which may hold spaces) start at state; utime and stime are 14 and 15.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND


def descendants(pid: int) -> list[int]:
    """`pid` and every process under it alive now."""
    found = [pid]
    for child in children(pid):
        found.extend(descendants(child))
    return found


def tree_seconds(pid: int) -> float:
    """CPU seconds used so far by `pid` and every descendant alive now."""
    return sum(process_seconds(process) for process in descendants(pid))


def role(pid: int) -> str:
    """What a stack child is, from its command line: temporal, worker, web (the API, with the
    media socket when embedded) or media (`frontdesk realtime`)."""
    try:
        command = (_PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone"
    if "temporal" in command and "server" in command:
        return "temporal"
    if command.rstrip().endswith(" worker"):
        return "worker"
    if "embedded_server" in command or command.rstrip().endswith(" api"):
        return "web"
    if " realtime" in command:
        return "media"
    return Path(command.split(" ", 1)[0]).name or "other"


def stack_cpu_seconds(supervisor_pid: int) -> dict[str, float]:
    """CPU seconds so far of the stack's processes by role (web, media, worker, temporal), the supervisor's
    own time under `supervisor`."""
    seconds = {"supervisor": process_seconds(supervisor_pid)}
    for child in children(supervisor_pid):
        kind = role(child)
        seconds[kind] = seconds.get(kind, 0.0) + tree_seconds(child)
    return seconds
