"""What a load cost in Temporal actions, as the server counts them.

Temporal Cloud bills per action (a workflow started, a signal, an Update, an activity, a timer,
...). The dev server's Prometheus `action` counter counts them by `action_type`, close to Cloud's
billing since server 1.22.3 (Temporal's own guide to estimating actions before a migration); the
benchmark reads it before and after a load and divides by the calls.
"""

from collections import Counter
from typing import Any, Final

from prometheus_client.parser import text_string_to_metric_families

ACTION_FAMILY: Final = "action"


def action_counts(metrics_text: str, namespace: str) -> Counter[str]:
    """The server's action counters of `namespace`, by action type, from its /metrics text."""
    found: Counter[str] = Counter()
    for family in text_string_to_metric_families(metrics_text):
        if family.name != ACTION_FAMILY:
            continue
        for sample in family.samples:
            if sample.labels.get("namespace") == namespace:
                found[sample.labels.get("action_type", "unknown")] += sample.value
    return found


def actions_per_call(before: Counter[str], after: Counter[str], calls: int) -> dict[str, Any]:
    """The actions a load's `calls` cost, per call: in all and by type (the most frequent first)."""
    if calls <= 0:
        return {"total": None, "by_type": {}}
    spent = after - before
    by_type = {kind: round(count / calls, 1) for kind, count in spent.most_common()}
    return {"total": round(spent.total() / calls, 1), "by_type": by_type}
