"""CPU accounting: one process alone, or with its children (the benchmark's stack is its child)."""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from frontdesk.bench.cpu import main_thread_seconds, process_seconds, tree_seconds

# The child burns this much CPU, says so, then waits to be told to exit.
_BURN = (
    "import sys, time\nwhile time.process_time() < 0.5: pass\nprint('burnt', flush=True)\nsys.stdin.read()\n"
)


@contextmanager
def _burnt(code: str) -> Iterator[int]:
    """Run `code` in a child until it says it has burnt its CPU; yield its pid while it waits."""
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "burnt\n"
        yield child.pid
    finally:
        child.communicate("")


def test_a_process_alone_leaves_out_what_its_children_used() -> None:
    with _burnt(_BURN) as child:
        alone, with_children = process_seconds(os.getpid()), tree_seconds(os.getpid())
        # The child's half second (clock ticks round it down by at most 10 ms) is in the tree only.
        assert with_children - alone >= 0.45
        assert process_seconds(child) >= 0.45


# The child burns half a second on a thread of its own, says so, then waits.
_BURN_ON_A_THREAD = (
    "import sys, threading, time\n"
    "def burn():\n"
    "    start = time.thread_time()\n"
    "    while time.thread_time() - start < 0.5: pass\n"
    "worker = threading.Thread(target=burn)\nworker.start()\nworker.join()\n"
    "print('burnt', flush=True)\nsys.stdin.read()\n"
)


def test_a_processs_main_thread_is_counted_apart_from_its_other_threads() -> None:
    with _burnt(_BURN_ON_A_THREAD) as child:
        assert process_seconds(child) >= 0.45
        # The interpreter's start-up is the main thread's; the burn is not.
        assert main_thread_seconds(child) <= process_seconds(child) - 0.45
