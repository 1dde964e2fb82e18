"""The capacity search's view of the cores: how busy a core was while a step ran."""

import os
import subprocess
import sys

from frontdesk.bench.cores import CoreBusy, core_jiffies


def test_a_core_kept_busy_reads_as_busy() -> None:
    core = min(os.sched_getaffinity(0))
    busy = CoreBusy((core,))
    busy.sample()
    # A child pinned to the core spins for half a second of wall time: the core is busy all along,
    # whoever else shares it.
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"import os, time\nos.sched_setaffinity(0, {{{core}}})\n"
            "end = time.monotonic() + 0.5\nwhile time.monotonic() < end: pass\n",
        ],
        check=True,
    )
    busy.sample()

    figures = busy.figures()
    assert figures["mean"] is not None and figures["mean"] >= 0.5
    assert figures["peak"] >= 0.5


def test_only_the_named_cores_are_counted() -> None:
    cores = tuple(sorted(os.sched_getaffinity(0)))
    one_busy, one_total = core_jiffies(cores[:1])
    all_busy, all_total = core_jiffies(cores)
    assert 0 <= one_busy <= one_total
    assert one_total <= all_total and one_busy <= all_busy
    assert core_jiffies(()) == (0, 0)
