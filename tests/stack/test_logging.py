"""Logging follows sys.stderr: a CLI run inside a harness that swaps stderr and then closes it
(typer's CliRunner, pytest's capture) must not leave later logs writing to a closed file."""

import io
import sys

import pytest

from frontdesk.logs import configure_logging, get_logger


def test_logs_go_to_the_current_stderr_after_the_old_one_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    swapped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", swapped)
    configure_logging("INFO")
    swapped.close()  # as a CLI test runner closes its stream after the command
    now = io.StringIO()
    monkeypatch.setattr(sys, "stderr", now)

    get_logger("tests.logging").info("still heard", detail=1)

    assert "still heard" in now.getvalue()
