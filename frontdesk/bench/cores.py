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


def core_jiffies(cores: tuple[int, ...]) -> tuple[int, int]:
    """Busy and total clock ticks of `cores` since boot, from /proc/stat (idle and iowait are not
    busy; interrupts and the kernel's network work on the core are)."""
    busy = total = 0
    for line in (_PROC / "stat").read_text().splitlines():
        name, *fields = line.split()
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cores:
            ticks = [int(field) for field in fields[:8]]  # user nice system idle iowait irq softirq steal
            total += sum(ticks)
            busy += sum(ticks) - ticks[3] - ticks[4]
    return busy, total


@dataclass
class CoreBusy:
    """How busy a group of cores was over a step: on average, and in its busiest sampling interval."""

    cores: tuple[int, ...]
    start: tuple[int, int] = (0, 0)
    last: tuple[int, int] = (0, 0)
    peak: float = 0.0

    def sample(self) -> None:
        now = core_jiffies(self.cores)
        if self.start == (0, 0):
            self.start = now
        elif now[1] > self.last[1]:
            self.peak = max(self.peak, _share(self.last, now))
        self.last = now

    def figures(self) -> dict[str, float | None]:
        return {"mean": _share(self.start, self.last), "peak": round(self.peak, 3)}


def _share(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    total = after[1] - before[1]
    return round((after[0] - before[0]) / total, 3) if total > 0 else None


class StepWatch:
    """What a load cost the machine while it ran, sampled every `every_s`: the media server's
    highest resident memory, and how busy its core and the other cores were (a step whose other
    cores were saturated measured the machine, not the media server).

    `async with StepWatch(split) as watch:` ... `watch.peak_rss`, `watch.media_core`."""

    def __init__(self, split: CoreSplit, every_s: float = 0.5) -> None:
        self._split = split
        self._every_s = every_s
        self.peak_rss = 0
        self.media_core = CoreBusy(() if split.media_core is None else (split.media_core,))
        self.other_cores = CoreBusy(split.rest_cores)
        self._sampler: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._sample()
        self._sampler = asyncio.create_task(self._sample_every(), name="step-watch")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._sampler is not None:
            self._sampler.cancel()
            # A sampler that failed raises its error here; its cancellation is ours.
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
        self._sample()

    def cores_figures(self) -> dict[str, dict[str, float | None]]:
        """Busy share of the media core and of the other cores: the mean and the busiest interval."""
        return {"media_core_busy": self.media_core.figures(), "other_cores_busy": self.other_cores.figures()}

    def _sample(self) -> None:
        self.peak_rss = max(self.peak_rss, self._split.media_rss_bytes())
        self.media_core.sample()
        self.other_cores.sample()

    async def _sample_every(self) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            self._sample()
