"""Column types and row validation: aware UTC datetimes, enums, settings, phone numbers."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdesk.domain.clinic_settings import BookingRules, OpeningHours
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import (
    ApiKey,
    ApiKeyScope,
    Call,
    CallDirection,
    CallStatus,
    Clinic,
    PhoneNumber,
    Service,
)


def _clinic(engine: Engine, **fields: object) -> Clinic:
    with session_scope(engine) as session:
        clinic = Clinic(slug="types", name="Types", timezone="Europe/Berlin", **fields)
        session.add(clinic)
    return clinic


def test_datetimes_come_back_aware_utc(engine: Engine) -> None:
    clinic = _clinic(engine)
    started = datetime(2030, 3, 31, 2, 30, tzinfo=timezone(timedelta(hours=-5)))
    with session_scope(engine) as session:
        call = Call(
            clinic_id=clinic.id,
            call_sid="CA1",
            direction=CallDirection.inbound,
            from_number="+15550111000",
            to_number="+15550100000",
            started_at=started,
        )
        session.add(call)
    with Session(engine) as session:
        loaded = session.get(Call, call.id)
        assert loaded is not None
        assert loaded.started_at == started
        assert loaded.started_at.tzinfo is UTC
        assert loaded.started_at.hour == 7
        assert loaded.status is CallStatus.queued
        assert loaded.ended_at is None


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    clinic = _clinic(engine)
    call = Call(
        clinic_id=clinic.id,
        call_sid="CA2",
        direction=CallDirection.outbound,
        from_number="+15550100000",
        to_number="+15550111000",
        started_at=datetime(2030, 1, 1, 9, 0),
    )
    with pytest.raises(sa.exc.StatementError, match="has no time zone"), session_scope(engine) as session:
        session.add(call)


def test_enum_values_are_checked(engine: Engine) -> None:
    clinic = _clinic(engine)
    with (
        pytest.raises(sa.exc.StatementError, match="not a valid CallStatus"),
        session_scope(engine) as session,
    ):
        session.add(
            Call(
                clinic_id=clinic.id,
                call_sid="CA3",
                direction=CallDirection.inbound,
                from_number="+1",
                to_number="+2",
                status="ringing-ish",
            )
        )
    # The database itself refuses a value written around the model.
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(sa.text("UPDATE clinics SET end_of_turn_profile = 'sleepy'"))


def test_clinic_settings_are_validated_and_typed(engine: Engine) -> None:
    with pytest.raises(ValueError, match="not an IANA time zone"):
        Clinic(slug="x", name="X", timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="lower-case letters"):
        Clinic(slug="Not A Slug", name="X", timezone="UTC")
    with pytest.raises(ValueError, match="min_lead_minutes"):
        Clinic(slug="x", name="X", timezone="UTC", booking_rules={"min_lead_minutes": -5})
    with pytest.raises(ValueError, match="at least 30"):
        Clinic(slug="x", name="X", timezone="UTC", max_call_seconds=5)
    for days in (29, 3651, "365", True):
        with pytest.raises(
            ValueError, match=f"retention_days must be a whole number of days from 30 to 3650, got {days!r}"
        ):
            Clinic(slug="x", name="X", timezone="UTC", retention_days=days)

    clinic = _clinic(engine, booking_rules=BookingRules(buffer_minutes=20))
    with Session(engine) as session:
        loaded = session.get(Clinic, clinic.id)
        assert loaded is not None
        assert loaded.get_booking_rules().buffer_minutes == 20
        assert loaded.get_opening_hours() == OpeningHours()
        assert loaded.get_escalation().transfer_number is None
        assert loaded.get_insurance().accepted == []
        assert loaded.max_call_seconds == 600
        assert loaded.retention_days == 365
        assert str(loaded.tz) == "Europe/Berlin"


def test_phone_numbers_are_e164_and_unique(engine: Engine) -> None:
    clinic = _clinic(engine)
    with pytest.raises(ValueError, match=r"E\.164"):
        PhoneNumber(clinic_id=clinic.id, e164="555-0100")
    with session_scope(engine) as session:
        session.add(PhoneNumber(clinic_id=clinic.id, e164="+15550100000"))
    with pytest.raises(sa.exc.IntegrityError), session_scope(engine) as session:
        session.add(PhoneNumber(clinic_id=clinic.id, e164="+15550100000"))


def test_service_slug_unique_per_clinic_and_duration_checked(engine: Engine) -> None:
    clinic = _clinic(engine)
    with pytest.raises(ValueError, match="between 1 and 480"):
        Service(clinic_id=clinic.id, slug="exam", name="Exam", duration_minutes=0)
    with session_scope(engine) as session:
        session.add(Service(clinic_id=clinic.id, slug="exam", name="Exam", duration_minutes=30))
    with pytest.raises(sa.exc.IntegrityError), session_scope(engine) as session:
        session.add(Service(clinic_id=clinic.id, slug="exam", name="Exam again", duration_minutes=30))


def test_api_key_scope_must_match_clinic(engine: Engine) -> None:
    clinic = _clinic(engine)
    with session_scope(engine) as session:
        session.add(ApiKey(prefix="op_1", secret_hash="0" * 64, scope=ApiKeyScope.operator, name="ops"))
        session.add(
            ApiKey(
                clinic_id=clinic.id, prefix="ck_1", secret_hash="1" * 64, scope=ApiKeyScope.clinic, name="c"
            )
        )
    with pytest.raises(sa.exc.IntegrityError), session_scope(engine) as session:
        session.add(ApiKey(prefix="ck_2", secret_hash="2" * 64, scope=ApiKeyScope.clinic, name="no clinic"))
