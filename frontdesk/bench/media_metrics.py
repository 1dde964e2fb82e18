"""What the media server's own /metrics say about a load: frames sent and sent late, how late its
event loop ran and how long the collector held it (realtime/stalls.py). Read before and after a
load; the figures are the difference."""

import math
from dataclasses import dataclass
from typing import Any, Final

from prometheus_client.parser import text_string_to_metric_families

FRAMES_SENT: Final = "frontdesk_media_frames_sent"  # counters' family names drop "_total"
FRAMES_LATE: Final = "frontdesk_media_frames_late"
LOOP_LAG: Final = "frontdesk_event_loop_lag_seconds"
GC_PAUSE: Final = "frontdesk_gc_pause_seconds"
FULL_PASS: Final = "2"  # the collector's oldest generation
_QUANTILES: Final = (0.5, 0.99)

Buckets = dict[float, float]  # upper bound (s) -> observations at most that long, +inf included


@dataclass(frozen=True)
class MediaCounters:
    """The media server's counters at one moment."""

    frames_sent: float
    frames_late: float
    lag: Buckets
    gc_pauses: Buckets  # every generation's passes together
    full_passes: float

    @classmethod
    def parse(cls, metrics_text: str) -> "MediaCounters":
        """The counters in a /metrics page's text (zero for any the page lacks)."""
        values = {FRAMES_SENT: 0.0, FRAMES_LATE: 0.0}
        histograms: dict[str, Buckets] = {LOOP_LAG: {}, GC_PAUSE: {}}
        full_passes = 0.0
        for family in text_string_to_metric_families(metrics_text):
            for sample in family.samples:
                if family.name in values and sample.name.endswith("_total"):
                    values[family.name] = sample.value
                elif family.name in histograms and sample.name.endswith("_bucket"):
                    buckets, bound = histograms[family.name], float(sample.labels["le"])
                    buckets[bound] = buckets.get(bound, 0.0) + sample.value
                elif sample.name == f"{GC_PAUSE}_count" and sample.labels.get("generation") == FULL_PASS:
                    full_passes += sample.value
        sent, late = values[FRAMES_SENT], values[FRAMES_LATE]
        return cls(sent, late, histograms[LOOP_LAG], histograms[GC_PAUSE], full_passes)

    def figures_since(self, before: "MediaCounters") -> dict[str, Any]:
        """Between `before` and now: the frames sent and late; the event loop's wake-ups and the
        collector's passes, each with how many took more than 20 and 80 ms and the bucket bound
        its quantiles lie within."""
        sent = self.frames_sent - before.frames_sent
        late = self.frames_late - before.frames_late
        late_share = round(late / sent, 5) if sent else None
        return {
            "frames": {"sent": round(sent), "late": round(late), "late_share": late_share},
            "event_loop_lag": _stalls(_since(self.lag, before.lag), "wake_ups"),
            "collector": _stalls(_since(self.gc_pauses, before.gc_pauses), "passes")
            | {"full_passes": round(self.full_passes - before.full_passes)},
        }


def _since(now: Buckets, before: Buckets) -> Buckets:
    return {bound: count - before.get(bound, 0.0) for bound, count in now.items()}


def _stalls(buckets: Buckets, counted: str) -> dict[str, Any]:
    total = buckets.get(math.inf, 0.0)
    quantiles = {f"p{round(q * 100)}_ms_at_most": _bound_ms(buckets, q * total) for q in _QUANTILES}
    return {
        counted: round(total),
        "over_20ms": round(total - buckets.get(0.02, total)),
        "over_80ms": round(total - buckets.get(0.08, total)),
        **quantiles,
    }


def _bound_ms(buckets: Buckets, rank: float) -> float | None:
    """The upper bound (ms) of the first bucket holding `rank` observations; None past the last
    bound or without observations."""
    if not buckets.get(math.inf):
        return None
    for bound in sorted(buckets):
        if buckets[bound] >= rank:
            return None if math.isinf(bound) else round(bound * 1000, 1)
    return None
