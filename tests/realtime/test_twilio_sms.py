"""POST /twilio/sms through the real API app: STOP and START from patients, signatures, bad input.

Unknown numbers: a keyword sent to a number no clinic owns gets 404 (so the misconfigured
number shows in Twilio's debugger); any other message is ignored with 204 whatever the number.
"""

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from frontdesk.api.app import create_app
from frontdesk.config import Settings
from frontdesk.domain.models import Action, Clinic, Patient
from frontdesk.domain.opt_outs import OptOutChannel, blocks
from frontdesk.domain.repository import ClinicRepository
from frontdesk.domain.seed import DEMO_NUMBER
from frontdesk.telephony.twilio.signatures import SIGNATURE_HEADER, sign

PUBLIC = "https://frontdesk.example.com"
SMS_PATH = "/twilio/sms"
JOHN = "+15550199002"  # John Smith of the demo clinic
UNREACHABLE_TEMPORAL = "127.0.0.1:1"  # the SMS webhook never needs Temporal


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Offline settings (no Twilio token: the dev token signs), served at a public https address."""
    return Settings(database_url=database_url, public_base_url=PUBLIC, temporal_address=UNREACHABLE_TEMPORAL)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the real API app, behind a proxy (its own address is not the public one)."""
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.7:8000") as http:
        yield http


def sms_form(body: str, sender: str = JOHN, to: str = DEMO_NUMBER, sid: str | None = None) -> dict[str, str]:
    """The fields Twilio posts for an incoming message."""
    return {
        "MessageSid": sid or "SM" + uuid4().hex,
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": "0",
    }


async def post_signed(
    client: httpx.AsyncClient, settings: Settings, form: dict[str, str], signature: str | None = None
) -> httpx.Response:
    """POST the form to /twilio/sms, signed as Twilio signs the public URL (or with `signature`)."""
    header = signature if signature is not None else sign(settings, PUBLIC + SMS_PATH, form)
    return await client.post(SMS_PATH, data=form, headers={SIGNATURE_HEADER: header})


def sms_opt_outs(engine: Engine) -> dict[str, bool]:
    """Whether each patient's number is on the do-not-contact list for texts, by first name."""
    with Session(engine) as session:
        return {
            p.first_name: blocks(ClinicRepository(session, p.clinic_id), p.phone, OptOutChannel.sms)
            for p in session.exec(select(Patient))
        }


def opt_actions(engine: Engine) -> list[Action]:
    with Session(engine) as session:
        return list(session.exec(select(Action).where(col(Action.kind).in_(["opt_out", "opt_in"]))))


@pytest.mark.parametrize("body", ["STOP", "  stop  ", "Unsubscribe", "STOPALL", "cancel", "End", "quit"])
async def test_a_stop_keyword_opts_the_sender_out_of_texts_and_calls(
    client: httpx.AsyncClient, settings: Settings, engine: Engine, demo_clinic: Clinic, body: str
) -> None:
    response = await post_signed(client, settings, sms_form(body))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.text)
    assert root.tag == "Response" and list(root) == []  # Twilio's Advanced Opt-Out replies
    opted = sms_opt_outs(engine)
    assert opted.pop("John") is True and not any(opted.values())
    with Session(engine) as session:
        john = session.exec(select(Patient).where(Patient.first_name == "John")).one()
        assert blocks(ClinicRepository(session, john.clinic_id), JOHN, OptOutChannel.calls)
    [action] = opt_actions(engine)
    assert (action.kind, action.payload, action.result) == ("opt_out", {"channel": "all"}, {"patients": 1})


async def test_start_opts_back_in_and_a_retried_webhook_changes_nothing_twice(
    client: httpx.AsyncClient, settings: Settings, engine: Engine, demo_clinic: Clinic
) -> None:
    stop = sms_form("STOP")
    assert (await post_signed(client, settings, stop)).status_code == 200
    assert sms_opt_outs(engine)["John"] is True
    start = sms_form("start")
    assert (await post_signed(client, settings, start)).status_code == 200
    assert sms_opt_outs(engine)["John"] is False
    with Session(engine) as session:
        john = session.exec(select(Patient).where(Patient.first_name == "John")).one()
        assert blocks(ClinicRepository(session, john.clinic_id), JOHN, OptOutChannel.calls)  # texts only
    # Twilio retries the STOP webhook after the START: same MessageSid, nothing changes.
    assert (await post_signed(client, settings, stop)).status_code == 200
    assert sms_opt_outs(engine)["John"] is False
    assert sorted(a.kind for a in opt_actions(engine)) == ["opt_in", "opt_out"]


async def test_other_messages_are_ignored(
    client: httpx.AsyncClient, settings: Settings, engine: Engine, demo_clinic: Clinic
) -> None:
    for body in ["Stop calling me please", "Can I move my appointment?", ""]:
        response = await post_signed(client, settings, sms_form(body))
        assert response.status_code == 204
    unknown = await post_signed(client, settings, sms_form("hello", to="+15550100999"))
    assert unknown.status_code == 204
    assert not any(sms_opt_outs(engine).values()) and opt_actions(engine) == []


async def test_a_keyword_to_a_number_no_clinic_owns_gets_404(
    client: httpx.AsyncClient, settings: Settings, engine: Engine, demo_clinic: Clinic
) -> None:
    response = await post_signed(client, settings, sms_form("STOP", to="+15550100999"))
    assert response.status_code == 404
    assert not any(sms_opt_outs(engine).values())


async def test_a_sender_who_is_no_patient_yet_goes_on_the_list_all_the_same(
    client: httpx.AsyncClient, settings: Settings, engine: Engine, demo_clinic: Clinic
) -> None:
    response = await post_signed(client, settings, sms_form("STOP", sender="+15550142222"))
    assert response.status_code == 200
    assert not any(sms_opt_outs(engine).values())
    with Session(engine) as session:  # whoever registers with the number later is not texted
        assert blocks(ClinicRepository(session, demo_clinic.id), "+15550142222", OptOutChannel.sms)
    [action] = opt_actions(engine)
    assert action.result == {"patients": 0}


@pytest.mark.parametrize("signature", ["", "AAAA", "forged-by-the-wrong-key", "signed-over-another-body"])
async def test_a_forged_signature_gets_403_and_changes_nothing(
    client: httpx.AsyncClient, settings: Settings, engine: Engine, demo_clinic: Clinic, signature: str
) -> None:
    form = sms_form("STOP")
    if signature == "forged-by-the-wrong-key":
        other = settings.model_copy(update={"twilio_dev_auth_token": settings.secret_key})
        signature = sign(other, PUBLIC + SMS_PATH, form)
    if signature == "signed-over-another-body":
        signature = sign(settings, PUBLIC + SMS_PATH, form | {"Body": "hello"})
    response = await post_signed(client, settings, form, signature=signature)
    assert response.status_code == 403
    assert not any(sms_opt_outs(engine).values()) and opt_actions(engine) == []


async def test_bad_fields_get_400_naming_them(
    client: httpx.AsyncClient, settings: Settings, engine: Engine, demo_clinic: Clinic
) -> None:
    form = sms_form("STOP", sender="not-a-number", sid="XX123")
    response = await post_signed(client, settings, form)
    assert response.status_code == 400
    assert "From" in response.text and "MessageSid" in response.text
    assert not any(sms_opt_outs(engine).values())
