"""The do-not-contact list (frontdesk.domain.opt_outs): by number, for patients registered
before or after an opt-out, once per idempotency key, and read by the campaign's target check."""

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import ActivityEnvironment

from frontdesk.activities.campaigns import TargetCheck, TargetInput, check_campaign_target
from frontdesk.config import get_settings
from frontdesk.domain.calls import ensure_call
from frontdesk.domain.campaign_settings import CampaignAudience, CampaignKind
from frontdesk.domain.campaigns import create_campaign
from frontdesk.domain.database import session_scope
from frontdesk.domain.errors import IdempotencyKeyReused
from frontdesk.domain.models import CallDirection, CampaignTarget, DoNotContact, OptOutSource, Patient
from frontdesk.domain.opt_outs import (
    NotAPhoneNumber,
    NotThisCallsNumber,
    OptOutChannel,
    block,
    blocks,
    set_opt_out,
)
from frontdesk.domain.repository import ClinicRepository
from tests.domain.factories import SmallClinic, make_small_clinic

STRANGER = "+15550142222"  # no patient of the clinic has this number (yet)


@pytest.fixture
def clinic(engine: Engine) -> SmallClinic:
    return make_small_clinic(engine, "east", "+15550140000")


def entry(engine: Engine, clinic_id: uuid.UUID, phone: str) -> DoNotContact | None:
    with session_scope(engine) as session:
        return ClinicRepository(session, clinic_id).do_not_contact(phone)


def is_blocked(engine: Engine, clinic_id: uuid.UUID, phone: str) -> tuple[bool, bool]:
    """(calls, sms) blocked for the number."""
    with session_scope(engine) as session:
        repo = ClinicRepository(session, clinic_id)
        return blocks(repo, phone, OptOutChannel.calls), blocks(repo, phone, OptOutChannel.sms)


def register(engine: Engine, clinic_id: uuid.UUID, phone: str) -> uuid.UUID:
    with session_scope(engine) as session:
        patient = Patient(clinic_id=clinic_id, phone=phone, first_name="Lee", last_name="Late")
        session.add(patient)
        session.flush()
        return patient.id


def test_a_stop_from_a_number_no_patient_has_holds_for_a_patient_registered_later(
    engine: Engine, clinic: SmallClinic
) -> None:
    patients = set_opt_out(
        engine,
        clinic.clinic_id,
        phone=STRANGER,
        channel=OptOutChannel.sms,
        opted_out=True,
        idempotency_key="sms/SM1",
    )

    assert patients == 0
    assert is_blocked(engine, clinic.clinic_id, STRANGER) == (False, True)
    register(engine, clinic.clinic_id, STRANGER)
    assert is_blocked(engine, clinic.clinic_id, STRANGER) == (False, True)
    stored = entry(engine, clinic.clinic_id, STRANGER)
    assert stored is not None and stored.sms_source is OptOutSource.sms_stop and stored.sms_since is not None


def test_a_replay_changes_nothing_and_a_reused_key_is_refused(engine: Engine, clinic: SmallClinic) -> None:
    def change(opted_out: bool, key: str, channel: OptOutChannel = OptOutChannel.sms) -> int:
        return set_opt_out(
            engine,
            clinic.clinic_id,
            phone=STRANGER,
            channel=channel,
            opted_out=opted_out,
            idempotency_key=key,
        )

    assert change(True, "sms/SM1") == 0
    register(engine, clinic.clinic_id, STRANGER)
    assert change(False, "sms/SM2") == 1  # START: off the list, and the entry goes with it
    assert entry(engine, clinic.clinic_id, STRANGER) is None
    assert change(True, "sms/SM1") == 0  # the STOP retried after the START: the first answer, no change
    assert entry(engine, clinic.clinic_id, STRANGER) is None
    with pytest.raises(IdempotencyKeyReused):
        change(True, "sms/SM1", OptOutChannel.all)
    with pytest.raises(NotAPhoneNumber):
        set_opt_out(
            engine,
            clinic.clinic_id,
            phone="anonymous",
            channel=OptOutChannel.all,
            opted_out=True,
            idempotency_key="k",
        )


def test_an_opt_out_on_a_call_blocks_the_calls_number_only_and_keeps_the_first_source(
    engine: Engine, clinic: SmallClinic
) -> None:
    call_id = ensure_call(
        engine,
        clinic.clinic_id,
        call_sid="CA" + uuid.uuid4().hex,
        direction=CallDirection.inbound,
        from_number=STRANGER,
        to_number="+15550140000",
    )
    with pytest.raises(NotThisCallsNumber):
        set_opt_out(
            engine,
            clinic.clinic_id,
            phone="+15550111000",
            channel=OptOutChannel.calls,
            opted_out=True,
            idempotency_key="call/1",
            call_id=call_id,
        )
    set_opt_out(
        engine,
        clinic.clinic_id,
        phone=STRANGER,
        channel=OptOutChannel.sms,
        opted_out=True,
        idempotency_key="sms/SM1",
    )
    first = entry(engine, clinic.clinic_id, STRANGER)
    set_opt_out(
        engine,
        clinic.clinic_id,
        phone=STRANGER,
        channel=OptOutChannel.all,
        opted_out=True,
        idempotency_key="call/2",
        call_id=call_id,
    )

    after = entry(engine, clinic.clinic_id, STRANGER)
    assert first is not None and after is not None and after.id == first.id
    assert (after.sms_since, after.sms_source) == (first.sms_since, OptOutSource.sms_stop)
    assert after.calls_source is OptOutSource.call and after.calls_since is not None
    assert is_blocked(engine, clinic.clinic_id, STRANGER) == (True, True)


def test_each_clinic_has_its_own_list(engine: Engine, clinic: SmallClinic) -> None:
    other = make_small_clinic(engine, "west", "+15550140001")
    with session_scope(engine) as session:
        block(ClinicRepository(session, other.clinic_id), STRANGER, OptOutChannel.all, OptOutSource.api)
    assert is_blocked(engine, other.clinic_id, STRANGER) == (True, True)
    assert is_blocked(engine, clinic.clinic_id, STRANGER) == (False, False)


@pytest.fixture
def _activities_use_the_test_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("_activities_use_the_test_database")
def test_a_campaign_target_is_checked_by_the_patients_current_number(
    engine: Engine, clinic: SmallClinic
) -> None:
    late = register(engine, clinic.clinic_id, STRANGER)
    campaign = create_campaign(
        engine,
        clinic.clinic_id,
        name="recall",
        kind=CampaignKind.recall,
        audience=CampaignAudience(patient_ids=[late]),
    )
    with session_scope(engine) as session:
        target = CampaignTarget(
            clinic_id=clinic.clinic_id, campaign_id=campaign.id, patient_id=late, position=0
        )
        session.add(target)
        block(ClinicRepository(session, clinic.clinic_id), STRANGER, OptOutChannel.calls, OptOutSource.api)

    def check() -> TargetCheck:
        result: TargetCheck = ActivityEnvironment().run(
            check_campaign_target, TargetInput(clinic.clinic_id, target.id)
        )
        return result

    assert check() == TargetCheck(False, "opted_out", "the number is on the do-not-contact list", late)
    with session_scope(engine) as session:
        patient = session.get(Patient, late)
        assert patient is not None
        patient.phone = "+15550143333"  # the patient has a new number, which may be called
    assert check() == TargetCheck(True, patient_id=late)
