"""A media process's live calls: counted while they run, none taken once draining."""

import pytest
from prometheus_client import REGISTRY

from frontdesk.realtime.live_calls import Draining, LiveCalls


def gauge() -> float:
    """The process-wide gauge (other tests' calls move it too)."""
    return REGISTRY.get_sample_value("frontdesk_media_live_calls") or 0.0


def test_calls_are_counted_while_they_run_and_a_draining_process_takes_no_new_one() -> None:
    calls = LiveCalls()
    before = gauge()
    with calls.carrying():
        with pytest.raises(RuntimeError), calls.carrying():
            assert calls.count == 2 and gauge() == before + 2
            raise RuntimeError("a call that failed")
        assert calls.count == 1  # the failed call is no longer counted
        calls.drain()
        with pytest.raises(Draining), calls.carrying():
            pass
        assert calls.count == 1 and calls.draining  # the live call goes on
    assert calls.count == 0 and gauge() == before
