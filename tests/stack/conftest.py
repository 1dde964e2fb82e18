"""Fixtures of the stack tests: a shared Temporal dev server, and `frontdesk dev` on free ports."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack.dev_stack import DevStack
from tests.stack.processes import kill_session
from tests.temporal_fixtures import temporal_env

__all__ = ["temporal_env"]


@pytest.fixture
def stack(tmp_path: Path) -> DevStack:
    """Where a test's `frontdesk dev` keeps its data and listens."""
    return DevStack.on_free_ports(tmp_path)


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; whatever is still running at the end is killed."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        kill_session(process)
