"""The media server's /metrics read before and after a load: frames, and the event loop's lag."""

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from frontdesk.bench.media_metrics import MediaCounters
from frontdesk.realtime.stalls import STALL_BUCKETS


def _page(sent: int, late: int, lags_s: list[float], gc_s: dict[str, list[float]] | None = None) -> str:
    """A /metrics page as the media server writes it, from metrics defined as it defines them."""
    registry = CollectorRegistry()
    Counter("frontdesk_media_frames_sent_total", "sent", registry=registry).inc(sent)
    Counter("frontdesk_media_frames_late_total", "late", registry=registry).inc(late)
    lag = Histogram("frontdesk_event_loop_lag_seconds", "lag", buckets=STALL_BUCKETS, registry=registry)
    for seconds in lags_s:
        lag.observe(seconds)
    pause = Histogram(
        "frontdesk_gc_pause_seconds", "gc", ["generation"], buckets=STALL_BUCKETS, registry=registry
    )
    for generation, pauses in (gc_s or {}).items():
        for seconds in pauses:
            pause.labels(generation=generation).observe(seconds)
    return generate_latest(registry).decode()


def test_the_figures_are_what_happened_between_the_two_reads() -> None:
    before = MediaCounters.parse(_page(1000, 2, [0.001] * 50 + [0.03]))
    quiet = [0.001] * 97
    after = MediaCounters.parse(_page(3000, 5, [0.001] * 50 + [0.03] + quiet + [0.03, 0.1, 0.5]))

    figures = after.figures_since(before)

    assert figures["frames"] == {"sent": 2000, "late": 3, "late_share": 0.0015}
    assert figures["event_loop_lag"] == {
        "wake_ups": 100,
        "over_20ms": 3,
        "over_80ms": 2,
        "p50_ms_at_most": 5.0,
        "p99_ms_at_most": 160.0,
    }


def test_a_page_without_the_media_metrics_reads_as_nothing_happened() -> None:
    empty = MediaCounters.parse("")

    figures = empty.figures_since(empty)

    assert figures["frames"] == {"sent": 0, "late": 0, "late_share": None}
    assert figures["event_loop_lag"]["wake_ups"] == 0
    assert figures["event_loop_lag"]["p99_ms_at_most"] is None
    assert figures["collector"] == {
        "passes": 0,
        "over_20ms": 0,
        "over_80ms": 0,
        "p50_ms_at_most": None,
        "p99_ms_at_most": None,
        "full_passes": 0,
    }


def test_the_collectors_passes_of_every_generation_count_and_full_passes_apart() -> None:
    before = MediaCounters.parse(_page(0, 0, [], {"0": [0.001] * 10, "2": [0.03]}))
    after = MediaCounters.parse(
        _page(0, 0, [], {"0": [0.001] * 30, "1": [0.004] * 5, "2": [0.03, 0.03, 0.09]})
    )

    collector = after.figures_since(before)["collector"]

    assert collector["passes"] == 27
    assert collector["over_20ms"] == 2
    assert collector["over_80ms"] == 1
    assert collector["full_passes"] == 2
    assert collector["p50_ms_at_most"] == 5.0
