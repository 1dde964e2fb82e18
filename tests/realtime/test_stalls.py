"""What holds up the media process's event loop: its lag and the collector's passes, recorded."""

import asyncio
import gc
import time

from prometheus_client import REGISTRY

from frontdesk.realtime.stalls import INTERVAL_SECONDS, watch_collector, watch_loop_lag

_NAME = "frontdesk_event_loop_lag_seconds"


def _count(bound: str) -> float:
    return REGISTRY.get_sample_value(f"{_NAME}_bucket", {"le": bound}) or 0.0


async def test_a_loop_held_up_shows_as_lag_of_at_least_that_long() -> None:
    over_80ms_before = _count("+Inf") - _count("0.08")
    watcher = asyncio.create_task(watch_loop_lag())
    try:
        await asyncio.sleep(0)  # the watcher's first sleep begins
        # The loop held up on purpose: the watcher's wake-up comes at least 200 ms late.
        time.sleep(INTERVAL_SECONDS + 0.2)  # noqa: ASYNC251
        wake_ups = _count("+Inf")
        for _ in range(1000):  # until the late wake-up is recorded (a few loop turns; 10 s at most)
            if _count("+Inf") > wake_ups:
                break
            await asyncio.sleep(INTERVAL_SECONDS)
    finally:
        watcher.cancel()
    assert _count("+Inf") - _count("0.08") >= over_80ms_before + 1


def test_each_collector_pass_is_recorded_by_generation() -> None:
    def full_passes() -> float:
        return REGISTRY.get_sample_value("frontdesk_gc_pause_seconds_count", {"generation": "2"}) or 0.0

    before = full_passes()
    with watch_collector():
        gc.collect()
    gc.collect()  # after the context: not recorded
    assert full_passes() == before + 1
