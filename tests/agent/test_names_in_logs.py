"""A call's engine remembers every patient name it learns, so the call's later log lines carry
none of them: a name the caller says, a name a tool is called with, the name on file for the
calling number."""

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from frontdesk.agent.conversation import ToolUseBlock
from frontdesk.agent.text_call import TextCall
from frontdesk.domain.models import Clinic
from frontdesk.log_redaction import known_names
from frontdesk.logs import get_logger
from tests.agent.test_fallback_conversations import converse
from tests.log_capture import configured_logging

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

log = get_logger("frontdesk.realtime.call_session")


@pytest.fixture
def logged(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    with configured_logging("INFO"), known_names():  # as one call in the media process
        yield capsys


async def test_a_name_the_caller_says_is_redacted(
    engine: Engine, demo_clinic: Clinic, logged: pytest.CaptureFixture[str]
) -> None:
    call = TextCall(engine, demo_clinic.id, "+15550199001")
    await converse(call, ["Hi, I'd like to book a teeth cleaning.", "Ana Lopez, March 3rd 1988."])
    log.warning("call part failed", error="no slot for ana lopez (Ana)")
    line = logged.readouterr().err
    assert "call part failed" in line and line.count("[name h:") == 2
    assert "ana" not in line.lower() and "lopez" not in line.lower()


async def test_a_name_a_tool_is_called_with_is_redacted(
    engine: Engine, demo_clinic: Clinic, logged: pytest.CaptureFixture[str]
) -> None:
    """As the Claude brain names the caller: only in its tool call (nobody on file has the name)."""
    call = TextCall(engine, demo_clinic.id, "+15550199001")
    await call.start()
    who = {"first_name": "Zed", "last_name": "Quinlan", "date_of_birth": "1971-01-02"}
    result = await call.receptionist.runner.run(ToolUseBlock(id="t1", name="identify_patient", input=who))
    assert '"found": false' in result.content
    log.warning("call part failed", error="Quinlan, Zed has no chart")
    line = logged.readouterr().err
    assert line.count("[name h:") == 2 and "Zed" not in line and "Quinlan" not in line


async def test_the_name_on_file_for_the_calling_number_is_redacted(
    engine: Engine, demo_clinic: Clinic, logged: pytest.CaptureFixture[str]
) -> None:
    call = TextCall(engine, demo_clinic.id, "+15550199003")  # the demo clinic's Maria Garcia
    await call.start()
    assert call.state.known_caller is not None
    log.warning("call part failed", error="Maria Garcia's chart is locked")
    line = logged.readouterr().err
    assert "[name h:" in line and "Maria" not in line and "Garcia" not in line
