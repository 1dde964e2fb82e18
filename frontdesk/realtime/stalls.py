"""What holds up the media process's event loop: how late it runs, and the collector's pauses.

Every call's frames go through the one event loop of its process. When the loop falls behind
(too many calls for the core, a long collector pass, a worker thread holding the GIL), every
call's audio is late by as much at once. `watch_loop_lag` sleeps `INTERVAL_SECONDS` again and
again and records by how much each wake-up came after it was due
(`frontdesk_event_loop_lag_seconds`); a stall of D seconds shows as a wake-up between D minus the
interval and D late. `watch_collector` records each garbage-collector pass by generation
(`frontdesk_gc_pause_seconds`), the one stall Python adds on its own. An operator sees a
process's headroom before callers hear it, and the benchmark reads both per capacity step.
"""

import asyncio
import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from prometheus_client import Histogram

INTERVAL_SECONDS: Final = 0.01
# A frame is 20 ms: a lag under 5 ms is noise, 20 ms makes a frame late, 80 ms (the audio the
# carrier holds, LEAD_SECONDS) is a gap the caller hears.
STALL_BUCKETS: Final = (0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32)

EVENT_LOOP_LAG = Histogram(
    "frontdesk_event_loop_lag_seconds",
    f"How long after it was due the media process's event loop woke a {INTERVAL_SECONDS * 1000:g} ms timer.",
    buckets=STALL_BUCKETS,
)
GC_PAUSE = Histogram(
    "frontdesk_gc_pause_seconds",
    "Garbage-collector passes in the media process, by generation (2: a full pass).",
    ["generation"],
    buckets=STALL_BUCKETS,
)
# One child per generation, made once: the callback below runs on every collector pass.
_GC_PAUSE_BY_GENERATION: Final = tuple(
    GC_PAUSE.labels(generation=str(g)) for g in range(len(gc.get_threshold()))
)


async def watch_loop_lag() -> None:
    """Record the loop's lag every `INTERVAL_SECONDS`, until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + INTERVAL_SECONDS
        await asyncio.sleep(INTERVAL_SECONDS)
        EVENT_LOOP_LAG.observe(max(loop.time() - due, 0.0))


@contextmanager
def watch_collector() -> Iterator[None]:
    """Record every collector pass's duration while the context is open."""
    started: list[float] = []  # the running pass's start (the collector does not nest)

    def on_pass(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started:
            _GC_PAUSE_BY_GENERATION[info["generation"]].observe(time.perf_counter() - started.pop())

    gc.callbacks.append(on_pass)
    try:
        yield
    finally:
        gc.callbacks.remove(on_pass)
