"""The shape of a call's actions: each implementation defines every method of its protocol itself,
with the protocol's signature, and the two change backends inherit nothing. So no change can
fall through to another implementation and bypass the workflow, and a method added to a protocol
fails here until every implementation has it."""

import inspect
from collections.abc import Callable
from typing import Any, Protocol

import pytest

from frontdesk.agent.actions import Actions, CallChanges, CallReads, ChangeBackend
from frontdesk.agent.call_actions import CallActions
from frontdesk.agent.database_actions import DatabaseChanges, DatabaseReads
from frontdesk.realtime.workflow_changes import WorkflowChanges

CHANGE_BACKENDS = [DatabaseChanges, WorkflowChanges]


def methods(protocol: type) -> dict[str, Callable[..., Any]]:
    """The methods a protocol declares, its base protocols' included."""
    return {
        name: member
        for klass in protocol.__mro__
        if Protocol in klass.__bases__
        for name, member in vars(klass).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }


def test_the_changes_are_the_receptionists_changes() -> None:
    assert set(methods(CallChanges)) == {
        "book",
        "reschedule",
        "cancel",
        "confirm",
        "opt_out",
        "send_confirmation",
        "take_message",
        "transfer",
        "end_call",
    }
    assert set(methods(ChangeBackend)) > set(methods(CallChanges))
    assert set(methods(Actions)) == set(methods(CallReads)) | set(methods(CallChanges))


@pytest.mark.parametrize(
    ("protocol", "implementation"),
    [
        *((ChangeBackend, backend) for backend in CHANGE_BACKENDS),
        (CallReads, DatabaseReads),
        (Actions, CallActions),
    ],
    ids=lambda item: item.__name__,
)
def test_every_method_is_implemented_with_the_protocols_signature(
    protocol: type, implementation: type
) -> None:
    for name, declared in methods(protocol).items():
        assert name in vars(implementation), f"{implementation.__name__} does not define {name}"
        defined = vars(implementation)[name]
        assert inspect.iscoroutinefunction(defined) == inspect.iscoroutinefunction(declared), name
        parameters = list(inspect.signature(defined).parameters)
        assert parameters == list(inspect.signature(declared).parameters), name


@pytest.mark.parametrize("backend", CHANGE_BACKENDS, ids=lambda item: item.__name__)
def test_the_change_backends_inherit_nothing(backend: type) -> None:
    assert backend.__bases__ == (object,)
