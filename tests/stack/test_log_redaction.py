"""Patient data is redacted by value from log lines, whichever way a line came: a structlog
logger's message or fields, a standard-library record (Temporal's, uvicorn's, a vendor SDK's),
an exception's text, a stack; names only once the call has learned them."""

import asyncio
import hashlib
import logging
import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException

from frontdesk import log_redaction
from frontdesk.log_redaction import fingerprint, known_names, redact_values, remember_names
from frontdesk.logs import get_logger, redact_sensitive
from frontdesk.telephony.twilio.rest import TelephonyError
from tests.log_capture import configured_logging

CALLER = "+15550199001"


def phone() -> str:
    """The caller's number as a redacted line shows it (under the fingerprint key of the moment:
    any test that configures logging sets the deployment's)."""
    return f"[phone {fingerprint(CALLER)}]"


# The caller's number however it is written, and their email, date of birth and name.
PATIENT_DATA = re.compile(
    r"555\D{0,3}019\D?9001|ana\.lopez|1988-03-03|March 3rd, 1988|\bAna\b|\bLopez\b", re.IGNORECASE
)
SID = "CA0123456789abcdef0123456789abcdef"
TWILIO_CALLS = (
    f"https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/{SID}.json"
)

Read = Callable[[], str]


def redacted(line: str) -> str:
    """A line's message as the processor leaves it."""
    return str(redact_values(None, "info", {"event": line})["event"])


@pytest.fixture(params=[False, True], ids=["console", "json"])
def logged(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]) -> Iterator[Read]:
    """Logging as the processes set it up (at DEBUG, each renderer); reads what it wrote."""
    with configured_logging("DEBUG", json=request.param):
        yield lambda: capsys.readouterr().err


@pytest.mark.parametrize(
    "written",
    [
        CALLER,
        "%2B15550199001",
        "15550199001",
        "5550199001",
        "(555) 019-9001",
        "555-019-9001",
        "555.019.9001",
        "555 019 9001",
        "1-555-019-9001",
        "+1 (555) 019-9001",
        "+1 555 019 9001",
    ],
)
def test_a_number_however_written_is_one_fingerprint(written: str) -> None:
    assert redacted(f"no patient for {written}.") == f"no patient for {phone()}."


def test_a_number_in_a_line_hashes_as_a_phone_field_does() -> None:
    """So the lines about one caller correlate, whichever way they carry the number."""
    assert phone() == f"[phone {redact_sensitive(None, 'info', {'phone': CALLER})['phone']}]"


def _twilio_error() -> TwilioRestException:
    message = f"Unable to create record: The 'To' number {CALLER} is not a valid phone number."
    return TwilioRestException(400, TWILIO_CALLS, msg=message, code=21211, method="POST")


def _httpx_error() -> httpx.HTTPStatusError:
    url = "https://api.hubapi.com/crm/v3/objects/contacts/search?phone=%2B15550199001&email=ana.lopez%40example.com"
    response = httpx.Response(404, request=httpx.Request("GET", url))
    try:
        response.raise_for_status()
    except httpx.HTTPStatusError as error:
        return error
    raise AssertionError("a 404 raises")


@pytest.mark.parametrize(
    ("line", "kinds"),
    [
        (str(_twilio_error()), ["[phone h:"]),  # Twilio's REST error body, naming the To number
        ("GET https://api.twilio.com/2010-04-01/Accounts/AC01/Calls.json?To=%2B15550199001", ["[phone h:"]),
        (repr(_httpx_error()), ["[phone h:", "[email h:"]),  # a CRM search's URL
        ("(550, b'5.1.1 <ana.lopez@example.com>: Recipient address rejected: User unknown')", ["[email h:"]),
        (
            '{"status":"error","message":"Contact exists","properties":{"phone":"555-019-9001"}}',
            ["[phone h:"],
        ),
        ("caller said their date of birth is March 3rd, 1988", ["[date h:"]),
        ("identify_patient(date_of_birth=1988-03-03) found nobody", ["[date h:"]),
        ("dob 03/03/1988 does not match 3 March 1988 or 3/3/88", ["[date h:"] * 3),
        ("forwarded to +44 20 7946 0958", ["[phone h:"]),
    ],
)
def test_patient_data_in_a_line_is_replaced_by_its_kind_and_fingerprint(line: str, kinds: list[str]) -> None:
    out = redacted(line)
    assert not PATIENT_DATA.search(out) and "7946" not in out, out
    for kind in set(kinds):
        assert out.count(kind) == kinds.count(kind), out


@pytest.mark.parametrize(
    "line",
    [
        f"twilio.rest_done call_sid={SID} action=update",
        "call_id=5b1e9f1c-2c1d-4c7a-9a52-555019900111 patient_id=ebeda150-6915-499d-837e-53b52d755f66",
        "2024-06-01T12:34:56.789012Z and 2024-06-01 12:34:56,123 and 2026-12-15T13:00:00+00:00",
        "latency_ms=1234.5 audio_s=2.62 confidence=0.851 took 00:02.620",
        "Uvicorn running on http://127.0.0.1:8000, media at ws://127.0.0.1:54321/media",
        f"POST {TWILIO_CALLS}",
        "expires at 1718000000 (1718000000123 ms)",
        "You're all set for Tuesday, December 15th at 8 AM with Sarah Kim.",
        "date: Mon, 07 Dec 2026 14:47:55 GMT",
        "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7 version 1.2.3",
        "message_sid=SM5550199001abcdef5550199001abcd phone=h:5550199001",
        "Ana and Lopez are words like any other before a call learns them",
    ],
)
def test_lines_without_patient_data_pass_unchanged(line: str) -> None:
    assert redacted(line) == line


def test_numbers_and_unrelated_objects_keep_their_types() -> None:
    event = {"event": "media.stopped", "frames_sent": 5550199001, "ratio": 0.5, "ok": True, "who": None}
    assert redact_values(None, "info", dict(event)) == event


def test_an_exception_carrying_a_phone_number_is_logged_redacted(logged: Read) -> None:
    log = get_logger("frontdesk.telephony.twilio.rest")
    try:
        try:
            raise _twilio_error()
        except TwilioRestException as exc:  # as rest.py wraps it
            raise TelephonyError(f"Twilio update of call {SID} failed: {exc}") from exc
    except TelephonyError as exc:
        log.exception("twilio.rest_failed", error=str(exc), cause=exc.__cause__)
    out = logged()
    assert "Traceback" in out and "TwilioRestException" in out and "TelephonyError" in out
    assert SID in out and out.count("[phone h:") >= 4  # message, error, cause, both exceptions' text
    assert not PATIENT_DATA.search(out), out


def test_a_standard_library_record_is_redacted_with_its_exception_and_stack(logged: Read) -> None:
    try:
        raise _httpx_error()
    except httpx.HTTPStatusError:
        # How Temporal reports an activity that raised, on its own logger.
        logging.getLogger("temporalio.activity").warning("Completing activity as failed", exc_info=True)
    # The stack shows this line of source, the number in it.
    logging.getLogger("twilio.rest").info("dialling %s", "+1 (555) 019-9001", stack_info=True)
    out = logged()
    assert "HTTPStatusError" in out and "Stack (most recent call last)" in out and "dialling [phone h:" in out
    assert "temporalio.activity" in out and "twilio.rest" in out  # each line names its logger
    assert not PATIENT_DATA.search(out), out


async def test_names_the_call_learns_are_redacted_from_its_later_lines(logged: Read) -> None:
    log = get_logger("frontdesk.agent.tool_runner")
    with known_names():
        log.info("before the call learns them", detail="Ana Lopez")

        async def turn() -> None:  # one task of the call learns the name, in a worker thread
            await asyncio.to_thread(remember_names, "Ana", "Lopez")

        await asyncio.create_task(turn())
        workflow_logger = logging.getLogger("temporalio.workflow")
        workflow_logger.warning("patient %s failed: %s", "sms", "no number for ANA  lopez")
        await asyncio.to_thread(log.error, "tool failed", detail="Lopez's booking")
    log.info("another call", detail="Ana")
    events = ["learns them", "sms failed", "tool failed", "another call"]
    lines = {event: line for line in logged().splitlines() for event in events if event in line}
    assert "Ana Lopez" in lines["learns them"]  # a name no call has learned is a word like any other
    assert "no number for [name h:" in lines["sms failed"] and "[name h:" in lines["tool failed"]
    assert not PATIENT_DATA.search(lines["sms failed"] + lines["tool failed"])
    assert "Ana" in lines["another call"]  # the next call has not learned it


def test_fingerprints_are_keyed_by_the_deployments_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bare hash of a number is undone by hashing every number; a keyed one is not, and every
    process keyed with the same secret still hashes alike."""
    monkeypatch.setattr(log_redaction, "_fingerprint_key", b"")  # restored after the test
    log_redaction.set_fingerprint_key("secret-one")
    first = fingerprint(CALLER)
    log_redaction.set_fingerprint_key("secret-one")  # another process of the same deployment
    assert fingerprint(CALLER) == first
    assert first != "h:" + hashlib.sha256(CALLER.encode()).hexdigest()[:10]
    log_redaction.set_fingerprint_key("secret-two")
    assert fingerprint(CALLER) != first
