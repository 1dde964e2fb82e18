"""`frontdesk bench`: progress on stderr, one JSON object with every figure on stdout."""

import asyncio
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import uvloop
from rich.console import Console
from rich.progress import Progress, TaskID

from frontdesk.bench.load import CallRun
from frontdesk.bench.run import BenchOptions, find_capacity, run_bench
from frontdesk.devstack.errors import DevStackError


@contextmanager
def _progress(console: Console) -> Iterator[Callable[[str, int], Callable[[CallRun], None]]]:
    with Progress(console=console) as bar:

        def start(label: str, calls: int) -> Callable[[CallRun], None]:
            task: TaskID = bar.add_task(label, total=calls)
            return lambda run: bar.advance(task)

        yield start


def run_bench_command(options: BenchOptions, capacity: bool) -> int:
    """Run the benchmark and print its figures as JSON; the exit status (2 when the stack or the
    fakes cannot start)."""
    console = Console(stderr=True)
    # Hundreds of webhook requests: their one-line logs would bury the progress bar.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        with _progress(console) as progress:
            runner = find_capacity if capacity else run_bench
            # uvloop, as the servers under test run: the callers and fakes share a core with the
            # rest of the stack in a capacity step, and the stdlib loop costs them about a third more.
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as loop:
                figures = loop.run(runner(options, progress))
    except (DevStackError, OSError, httpx.HTTPError) as exc:
        console.print(f"[red]error:[/red] {type(exc).__name__}: {exc}")
        return 2
    json.dump(figures, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def run_end_of_turn_command() -> int:
    """Measure the end-of-turn rules on the labelled set and print the figures as JSON."""
    from frontdesk.bench.end_of_turn import measure_end_of_turn

    with Console(stderr=True).status("end of turn: rendering the labelled set and measuring each rule"):
        figures = asyncio.run(measure_end_of_turn())
    json.dump(figures, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0
