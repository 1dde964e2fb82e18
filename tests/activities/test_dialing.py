"""The dialler activity against the fake Twilio through the real SDK: a dial whose outcome is
unknown is reconciled before the target is dialled again, so a patient is rung once.

Each test makes the unknown dial the way it happens: the create's answer is lost after (or
before) Twilio acted, so the activity fails with the record pending. The next attempt then runs
under its own key, as the OutboundCallWorkflow would run it.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import parse_qs, urlsplit
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from frontdesk.activities.dialing import PLACE_CALL_KIND, DialingActivities, PlaceCallInput, PlacedCall
from frontdesk.caller.local_carrier import LocalCarrier
from frontdesk.config import Settings, get_settings
from frontdesk.domain.campaign_settings import CampaignAudience, CampaignKind, CampaignPlan
from frontdesk.domain.campaigns import outbound_call_workflow_id
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import Action, ActionStatus, Call, CallStatus, Campaign, CampaignTarget
from frontdesk.telephony.carrier import Carrier, CarrierOutcomeUnknown
from frontdesk.telephony.twilio.outbound import TwilioCarrier
from frontdesk.telephony.twilio.voice_webhooks import CallStatusForm, update_call_status
from tests.domain.factories import make_small_clinic
from tests.realtime.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.realtime.served import serve

CLINIC_NUMBER = "+15550170000"
DIAL_TIMEOUT_SECONDS = 0.5
HANG_SECONDS = 2.0  # past the dial timeout: the create's answer is lost
NEW_YORK = ZoneInfo("America/New_York")  # the clinic's time zone


@dataclass
class Dialler:
    """One campaign target, the fake Twilio, and the activity dialling through it."""

    engine: Engine
    twilio: FakeTwilio
    settings: Settings
    clinic_id: UUID
    target_id: UUID

    async def dial(
        self, attempt: int, carrier: Carrier | None = None, *, requested_at: datetime | None = None
    ) -> PlacedCall:
        """Run attempt `attempt`'s dial activity, as the target's workflow names it, requested
        by the workflow at `requested_at` (default: today at noon in the clinic's zone)."""
        environment = ActivityEnvironment()
        environment.info = replace(
            environment.info,
            workflow_id=outbound_call_workflow_id(self.target_id),
            activity_id=f"dial-{attempt}",
        )
        activities = DialingActivities(carrier or TwilioCarrier(self.settings))
        noon = datetime.now(NEW_YORK).replace(hour=12, minute=0, second=0, microsecond=0)
        request = PlaceCallInput(self.clinic_id, self.target_id, attempt, requested_at or noon)
        placed: PlacedCall = await environment.run(activities.place_outbound_call, request)
        return placed

    async def lose_a_dial(self, *, placed: bool = True) -> None:
        """Attempt 1's create times out, after Twilio placed the call (or before, `placed` False)."""
        if placed:
            self.twilio.hang_creates = 1
        else:
            self.twilio.lose_creates = 1
        with pytest.raises(CarrierOutcomeUnknown):
            await self.dial(1)
        assert self.records()[self.key(1)] == (ActionStatus.pending, None)

    def key(self, attempt: int) -> str:
        return f"{outbound_call_workflow_id(self.target_id)}/dial-{attempt}"

    def records(self) -> dict[str, tuple[ActionStatus, str | None]]:
        """Each dial record of the target: its status and the call sid it names."""
        with session_scope(self.engine) as session:
            actions = session.exec(select(Action).where(Action.kind == PLACE_CALL_KIND)).all()
            return {
                a.idempotency_key: (a.status, a.result["call_sid"] if a.result else None)
                for a in actions
                if a.payload["target_id"] == str(self.target_id)
            }

    def target(self) -> CampaignTarget:
        with session_scope(self.engine) as session:
            return session.exec(select(CampaignTarget).where(CampaignTarget.id == self.target_id)).one()


@pytest.fixture
async def dialler(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Dialler]:
    clinic = make_small_clinic(engine, f"dial-{uuid4().hex[:8]}", CLINIC_NUMBER)
    with session_scope(engine) as session:
        campaign = Campaign(
            clinic_id=clinic.clinic_id,
            name="recall",
            kind=CampaignKind.recall,
            plan=CampaignPlan(),
            audience=CampaignAudience(patient_ids=[clinic.patient_id]),
        )
        session.add(campaign)
        session.flush()
        target = CampaignTarget(
            clinic_id=clinic.clinic_id, campaign_id=campaign.id, patient_id=clinic.patient_id, position=0
        )
        session.add(target)
        session.flush()
        target_id = target.id
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", database_url)  # the activity's database
    get_settings.cache_clear()
    twilio = FakeTwilio(hang_seconds=HANG_SECONDS)
    async with serve(twilio.app) as twilio_url:
        settings = Settings(
            database_url=database_url,
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,  # type: ignore[arg-type]
            twilio_base_url=twilio_url,
            twilio_dial_timeout_seconds=DIAL_TIMEOUT_SECONDS,
            public_base_url="https://frontdesk.example",
        )
        yield Dialler(engine, twilio, settings, clinic.clinic_id, target_id)
    get_settings.cache_clear()


async def test_the_next_attempt_adopts_the_call_a_lost_dial_placed(dialler: Dialler) -> None:
    await dialler.lose_a_dial()
    [call] = dialler.twilio.created_calls

    assert await dialler.dial(2) == PlacedCall(call.sid)

    assert dialler.twilio.created_calls == [call]  # rung once
    assert dialler.records() == {
        dialler.key(1): (ActionStatus.succeeded, call.sid),
        dialler.key(2): (ActionStatus.succeeded, call.sid),
    }
    target = dialler.target()
    assert (target.last_call_sid, target.attempts) == (call.sid, 2)
    assert parse_qs(urlsplit(call.form["StatusCallback"]).query)["attempt"] == [dialler.key(1)]


async def test_a_call_still_queued_is_found_by_asking_for_queued_calls(dialler: Dialler) -> None:
    dialler.twilio.queue_creates = True  # queued calls have no start time: StartTime> misses them
    await dialler.lose_a_dial()
    [call] = dialler.twilio.created_calls

    assert await dialler.dial(2) == PlacedCall(call.sid)

    assert len(dialler.twilio.created_calls) == 1
    assert [f.get("Status") for f in dialler.twilio.listed] == [None, "queued"]


async def test_a_lost_dial_that_placed_nothing_is_cleared_and_dialled_once(
    dialler: Dialler,
) -> None:
    await dialler.lose_a_dial(placed=False)
    assert dialler.twilio.created_calls == []

    placed = await dialler.dial(2)

    [call] = dialler.twilio.created_calls
    assert placed == PlacedCall(call.sid)
    assert dialler.records() == {
        dialler.key(1): (ActionStatus.failed, None),
        dialler.key(2): (ActionStatus.succeeded, call.sid),
    }


async def test_when_twilio_cannot_be_asked_nobody_is_dialled_blind(dialler: Dialler) -> None:
    await dialler.lose_a_dial()
    dialler.twilio.fail_lists = 1

    with pytest.raises(ApplicationError) as refused:
        await dialler.dial(2)

    assert refused.value.type == "CallOutcomeUnknown" and not refused.value.non_retryable
    assert len(dialler.twilio.created_calls) == 1
    assert dialler.records()[dialler.key(1)] == (ActionStatus.pending, None)
    [call] = dialler.twilio.created_calls
    assert await dialler.dial(2) == PlacedCall(call.sid)  # the retry asks again, and adopts
    assert len(dialler.twilio.created_calls) == 1


async def test_a_status_report_ties_the_call_so_the_list_is_not_needed(dialler: Dialler) -> None:
    await dialler.lose_a_dial()
    [call] = dialler.twilio.created_calls
    ringing = CallStatusForm.model_validate(
        {
            "CallSid": call.sid,
            "AccountSid": ACCOUNT_SID,
            "From": call.form["From"],
            "To": call.form["To"],
            "Direction": "outbound-api",
            "CallStatus": "ringing",
        }
    )
    attempt = parse_qs(urlsplit(call.form["StatusCallback"]).query)["attempt"][0]
    row = update_call_status(dialler.engine, ringing, attempt)  # what /twilio/status does
    assert row is not None and row.status is CallStatus.ringing

    assert await dialler.dial(2) == PlacedCall(call.sid)

    assert dialler.twilio.listed == []
    assert len(dialler.twilio.created_calls) == 1
    with session_scope(dialler.engine) as session:
        assert len(session.exec(select(Call).where(Call.call_sid == call.sid)).all()) == 1


async def test_a_carrier_with_no_list_never_dials_after_a_lost_dial(dialler: Dialler) -> None:
    await dialler.lose_a_dial()

    with pytest.raises(ApplicationError) as refused:
        await dialler.dial(2, LocalCarrier(dialler.settings))

    assert refused.value.type == "CallOutcomeUnknown" and refused.value.non_retryable
    assert len(dialler.twilio.created_calls) == 1


async def test_a_dial_requested_outside_the_legal_hours_is_refused(dialler: Dialler) -> None:
    night = datetime.now(NEW_YORK).replace(hour=21, minute=0, second=0, microsecond=0)

    with pytest.raises(ApplicationError) as refused:
        await dialler.dial(1, requested_at=night)

    assert refused.value.type == "OutsideCallingHours" and refused.value.non_retryable
    assert dialler.twilio.created_calls == [] and dialler.records() == {}
