"""Temporal actions per call, from the dev server's `action` counter."""

from collections import Counter

from frontdesk.bench.temporal_actions import action_counts, actions_per_call

# As `temporal server start-dev --metrics-port` serves it (labels abridged to those read).
METRICS = """\
# HELP action action counter
# TYPE action counter
action{action_type="grpc_StartWorkflowExecution",namespace="default",service_name="frontend"} 4
action{action_type="grpc_SignalWorkflowExecution",namespace="default",service_name="frontend"} 10
action{action_type="grpc_StartWorkflowExecution",namespace="temporal_system",service_name="frontend"} 2
# HELP actions_other another family
# TYPE actions_other counter
actions_other{namespace="default"} 99
"""


def test_the_actions_of_one_namespace_are_counted_by_type() -> None:
    assert action_counts(METRICS, "default") == {
        "grpc_StartWorkflowExecution": 4,
        "grpc_SignalWorkflowExecution": 10,
    }
    assert action_counts(METRICS, "nowhere") == {}


def test_a_loads_actions_are_divided_among_its_calls() -> None:
    before = action_counts(METRICS, "default")
    after = before + Counter(grpc_SignalWorkflowExecution=30, grpc_StartWorkflowExecution=4)
    assert actions_per_call(before, after, 2) == {
        "total": 17.0,
        "by_type": {"grpc_SignalWorkflowExecution": 15.0, "grpc_StartWorkflowExecution": 2.0},
    }
    assert actions_per_call(before, after, 0) == {"total": None, "by_type": {}}
