"""TwilioCalls: the real twilio SDK against the fake Twilio REST server."""

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from frontdesk.config import Settings
from frontdesk.telephony.twilio.rest import TelephonyError, TwilioCalls, twilio_calls_for
from tests.realtime.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.realtime.served import serve

CALL_SID = "CA" + "7" * 32


@pytest.fixture
async def fake_twilio() -> AsyncIterator[tuple[FakeTwilio, str]]:
    """The fake Twilio REST server with one live call, and its URL."""
    fake = FakeTwilio(live_calls={CALL_SID})
    async with serve(fake.app) as url:
        yield fake, url


def twilio_settings(url: str, token: str = AUTH_TOKEN) -> Settings:
    """Settings with Twilio credentials, the SDK pointed at `url`."""
    return Settings(twilio_account_sid=ACCOUNT_SID, twilio_auth_token=SecretStr(token), twilio_base_url=url)


async def test_transfer_updates_the_call_with_a_dial(fake_twilio: tuple[FakeTwilio, str]) -> None:
    fake, url = fake_twilio
    await TwilioCalls(twilio_settings(url)).transfer(CALL_SID, "+15550100999")

    [update] = fake.updates
    assert (update.account_sid, update.call_sid) == (ACCOUNT_SID, CALL_SID)
    assert (update.username, update.password) == (ACCOUNT_SID, AUTH_TOKEN)
    assert set(update.form) == {"Twiml"}
    twiml = ET.fromstring(update.form["Twiml"])
    assert twiml.tag == "Response" and twiml.findtext("Dial") == "+15550100999"


async def test_hangup_completes_the_call(fake_twilio: tuple[FakeTwilio, str]) -> None:
    fake, url = fake_twilio
    await TwilioCalls(twilio_settings(url)).hangup(CALL_SID)

    [update] = fake.updates
    assert update.form == {"Status": "completed"}
    assert (update.username, update.password) == (ACCOUNT_SID, AUTH_TOKEN)
    assert CALL_SID not in fake.live_calls


async def test_refusals_become_telephony_errors(fake_twilio: tuple[FakeTwilio, str]) -> None:
    _fake, url = fake_twilio
    with pytest.raises(TelephonyError, match=r"hangup of call CA0+ failed"):
        await TwilioCalls(twilio_settings(url)).hangup("CA" + "0" * 32)
    with pytest.raises(TelephonyError, match="transfer"):
        await TwilioCalls(twilio_settings(url, token="wrong")).transfer(CALL_SID, "+15550100999")


async def test_unreachable_twilio_is_a_telephony_error() -> None:
    with pytest.raises(TelephonyError):
        await TwilioCalls(twilio_settings("http://127.0.0.1:9")).hangup(CALL_SID)


async def test_transfer_number_must_be_e164(fake_twilio: tuple[FakeTwilio, str]) -> None:
    fake, url = fake_twilio
    with pytest.raises(ValueError, match=r"E\.164"):
        await TwilioCalls(twilio_settings(url)).transfer(CALL_SID, "call the front desk")
    assert fake.updates == []


def test_no_credentials_means_offline() -> None:
    assert twilio_calls_for(Settings()) is None
    assert isinstance(twilio_calls_for(twilio_settings("http://127.0.0.1:9")), TwilioCalls)
    with pytest.raises(ValueError, match="twilio_account_sid"):
        TwilioCalls(Settings())
