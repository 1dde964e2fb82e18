"""The capacity search's split of the machine: the media server on a core of its own, everything
else (the benchmark's callers and vendor fakes, Temporal, the worker, the API) on the others, so
the calls held measure one media process on one core, not what the machine's load left it.

Affinity is per thread on Linux: each process is pinned thread by thread, and a thread started
later inherits the affinity of the thread that starts it. Resident memory is read the same way,
from /proc.
"""

import asyncio
import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Self

from frontdesk.bench.cpu import children, descendants, main_thread_seconds, role, tree_seconds

_PROC: Final = Path("/proc")
_BYTES_PER_KB: Final = 1024  # /proc/<pid>/status gives VmRSS in kB (kibibytes)


@dataclass(frozen=True)
class CoreSplit:
    """Which cores run what, and the media server's processes."""

    media_core: int | None  # None: a single core, nothing pinned
    rest_cores: tuple[int, ...]
    media_pids: tuple[int, ...]  # the media server's processes (the roots of its trees)

    def media_cpu_seconds(self) -> float:
        """CPU seconds the media server's processes and their children have used so far."""
        return sum(tree_seconds(pid) for pid in self.media_pids)

    def media_loop_seconds(self) -> float:
        """CPU seconds the main threads of the media server's processes (their event loops, which
        carry every call's frames) have used so far; the rest is worker threads (models, database)."""
        return sum(main_thread_seconds(pid) for pid in self.media_pids)

    def media_rss_bytes(self) -> int:
        """Resident memory of the media server's processes and their children now."""
        return sum(rss_bytes(pid) for root in self.media_pids for pid in descendants(root))


def rss_bytes(pid: int) -> int:
    """A process's resident memory now; 0 when it has ended."""
    try:
        status = (_PROC / str(pid) / "status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * _BYTES_PER_KB
    return 0  # a kernel thread or a zombie has no VmRSS


def pin_process(pid: int, cores: set[int]) -> None:
    """Pin every thread of `pid` to `cores`; threads that ended meanwhile are skipped."""
    for task in (_PROC / str(pid) / "task").glob("*"):
        try:
            os.sched_setaffinity(int(task.name), cores)
        except (ProcessLookupError, FileNotFoundError):
            continue


def split_cores(supervisor_pid: int, bench_pid: int) -> CoreSplit:
    """Pin the stack's media server to the first core this process may use and everything else
    (the benchmark process, the supervisor and its other children) to the rest. On a machine that
    gives this process a single core there is nothing to split: nothing is pinned.

    Raises LookupError when the stack runs no media server apart (`dev_media_processes` is 0)."""
    media = tuple(child for child in children(supervisor_pid) if role(child) == "media")
    if not media:
        raise LookupError("the stack has no media server apart from the API to pin")
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return CoreSplit(None, tuple(available), media)
    media_core, rest = available[0], tuple(available[1:])
    media_tree = {pid for root in media for pid in descendants(root)}
    for pid in media_tree:
        pin_process(pid, {media_core})
    for pid in [bench_pid, *(pid for pid in descendants(supervisor_pid) if pid not in media_tree)]:
        pin_process(pid, set(rest))
    return CoreSplit(media_core, rest, media)


class MemoryPeak:
    """The media server's highest resident memory while a load runs, sampled every `every_s`.

    `async with MemoryPeak(split) as peak:` ... `peak.bytes`."""

    def __init__(self, split: CoreSplit, every_s: float = 0.25) -> None:
        self._split = split
        self._every_s = every_s
        self.bytes = 0
        self._sampler: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._sampler = asyncio.create_task(self._sample(), name="media-rss-sampler")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._sampler is not None:
            self._sampler.cancel()
            # A sampler that failed raises its error here; its cancellation is ours.
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
        self.bytes = max(self.bytes, self._split.media_rss_bytes())

    async def _sample(self) -> None:
        while True:
            self.bytes = max(self.bytes, self._split.media_rss_bytes())
            await asyncio.sleep(self._every_s)
