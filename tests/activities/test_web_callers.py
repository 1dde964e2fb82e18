"""A web call's placeholder caller number: no phone has it, so nothing rings it back."""

from collections.abc import Iterator
from uuid import uuid4

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from temporalio.testing import ActivityEnvironment

from frontdesk.activities.calls import DroppedCallInput, close_dropped_call
from frontdesk.config import get_settings
from frontdesk.domain.calls import ensure_call
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import Action, Call, CallDirection
from frontdesk.domain.web_callers import is_web_caller_number, web_caller_number
from tests.domain.factories import make_small_clinic


@pytest.fixture
def database_settings(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", database_url)  # activities read the settings
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_each_web_call_has_its_own_placeholder_and_real_numbers_are_not_one() -> None:
    first, second = web_caller_number("WEB" + uuid4().hex), web_caller_number("WEB" + uuid4().hex)
    assert first != second and first.startswith("+1000") and len(first) == 12
    assert is_web_caller_number(first) and is_web_caller_number(second)
    for real in ("+15550199001", "+10005551234567", "+1000555"):
        assert not is_web_caller_number(real)


@pytest.mark.usefixtures("database_settings")
def test_a_dropped_web_call_asks_for_no_callback(engine: Engine) -> None:
    clinic = make_small_clinic(engine, "east", "+15550140000")  # its rules ask for callbacks
    call_sid = "WEB" + uuid4().hex
    call_id = ensure_call(
        engine,
        clinic.clinic_id,
        call_sid=call_sid,
        direction=CallDirection.web,
        from_number=web_caller_number(call_sid),
        to_number="+15550140000",
    )

    result = ActivityEnvironment().run(
        close_dropped_call, DroppedCallInput(clinic.clinic_id, call_id, f"{call_sid}:dropped")
    )

    assert result.callback_action_id is None
    with session_scope(engine) as session:
        call = session.get(Call, call_id)
        assert call is not None and call.outcome == "dropped"
        assert session.exec(select(Action).where(Action.call_id == call_id)).all() == []
