"""A whole spoken booking call logged at DEBUG, as the processes log (`configure_logging`): no line
it produced, from the webhook, the media process or the worker's activities, holds the caller's
name, number, date of birth or words."""

import json
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech
from tests.log_capture import configured_logging
from tests.realtime.booking_call import CALLER, booking_steps, workflows_done
from tests.realtime.call_worker import call_worker, temporal_env
from tests.realtime.stored_calls import stored_call
from tests.realtime.test_voice_calls import Stack, call, stack

__all__ = ["call_worker", "stack", "temporal_env"]

pytestmark = [pytest.mark.parametrize("database_url", ["sqlite"], indirect=True), pytest.mark.slow]

# The caller's details in every form a line could carry them.
PATIENT_DATA = re.compile(
    r"""
    \bAnn?a\b | \bLopez\b                                   # the name, as said or as heard
  | 555\D{0,2}019\D?9001                                    # the number, however it is grouped
  | 1988-0?3-0?3 | March\s+3(rd)?,?\s+1988 | 0?3/0?3/(19)?88 # the date of birth
  | My\ name\ is | date\ of\ birth\ is                      # the caller's words
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Where the call's lines come from: the voice webhook; the media process's call (the module that
# runs its turn loop) and its speech-to-text, the caller's words in hand; the worker's activities,
# ours and Temporal's account of them.
SOURCES = {
    "frontdesk.telephony.twilio.voice_webhooks",
    "frontdesk.realtime.call_session",
    "frontdesk.realtime.speech.whisper_stt",
    "frontdesk.activities.summaries",
    "frontdesk.activities.crm",
    "temporalio.activity",
}


@pytest.fixture
def logs(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """Logging at DEBUG as the processes log (JSON, one line a record), captured by `capsys`."""
    with configured_logging("DEBUG", json=True):
        yield capsys


async def test_a_booking_calls_logs_hold_no_patient_data(
    logs: pytest.CaptureFixture[str], stack: Stack, tts: PiperTextToSpeech, engine: Engine
) -> None:
    result = await call(stack, tts, *booking_steps(), caller=CALLER)
    row, turns = await stored_call(engine, result.call_sid)
    assert row.outcome == "booked", "\n".join(f"{t.role.value}: {t.text}" for t in turns)
    # The call's workflow and its post-call work (summary, CRM, confirmation) are done: their
    # activities have logged what they log.
    _, post_call = await workflows_done(stack.worker.client, result.call_sid)
    assert post_call.messages_sent >= 1

    written = logs.readouterr().err.splitlines()
    leaks = [line for line in written if PATIENT_DATA.search(line)]
    assert not leaks, "\n".join(leaks)
    # The scan read the lines of every part of the call, not just of the test's own fixtures.
    loggers = {json.loads(line)["logger"] for line in written if line.startswith("{")}
    assert SOURCES <= loggers, sorted(loggers)
