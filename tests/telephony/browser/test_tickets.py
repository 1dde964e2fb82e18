"""Web call tickets: what a valid one names, and each way one is refused."""

import base64
import json
import uuid

import pytest
from pydantic import SecretStr

from frontdesk.telephony.browser.tickets import (
    TICKET_TTL_SECONDS,
    Ticket,
    TicketRefused,
    issue_ticket,
    redeem_ticket,
)

SECRET = SecretStr("a secret for tests")
NOW = 1_700_000_000.0
CALL_ID = uuid.uuid4()
CLINIC_ID = uuid.uuid4()


def ticket(secret: SecretStr = SECRET, now: float = NOW) -> str:
    return issue_ticket(
        secret,
        call_id=CALL_ID,
        call_sid="WEB" + "a" * 32,
        clinic_id=CLINIC_ID,
        caller="+10001234567",
        called="+15550100000",
        now=now,
    )


def refusal(token: str, secret: SecretStr = SECRET, now: float = NOW) -> str:
    with pytest.raises(TicketRefused) as refused:
        redeem_ticket(secret, token, now=now)
    assert str(refused.value) == f"ticket refused: {refused.value.reason}"
    return refused.value.reason


def test_a_valid_ticket_names_its_call_until_it_expires() -> None:
    token = ticket()
    expected = Ticket(
        call_id=CALL_ID,
        call_sid="WEB" + "a" * 32,
        clinic_id=CLINIC_ID,
        caller="+10001234567",
        called="+15550100000",
        expires_at=NOW + TICKET_TTL_SECONDS,
    )
    assert redeem_ticket(SECRET, token, now=NOW) == expected
    assert redeem_ticket(SECRET.get_secret_value(), token, now=NOW + TICKET_TTL_SECONDS - 1) == expected
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")  # url-safe


def test_an_expired_ticket_is_refused() -> None:
    assert refusal(ticket(), now=NOW + TICKET_TTL_SECONDS) == "expired"
    assert refusal(ticket(now=NOW - 3600)) == "expired"


def test_a_ticket_signed_with_another_secret_is_refused() -> None:
    assert refusal(ticket(SecretStr("another secret"))) == "bad signature"


def test_a_tampered_ticket_is_refused() -> None:
    payload, signature = ticket().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    for changed in ({"clinic_id": str(uuid.uuid4())}, {"exp": NOW + 86_400}):
        forged = base64.urlsafe_b64encode(json.dumps(claims | changed).encode()).rstrip(b"=").decode()
        assert refusal(f"{forged}.{signature}") == "bad signature"
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert refusal(f"{payload}.{flipped}") == "bad signature"
    assert refusal(f"{payload}.{signature[:-3]}") == "bad signature"  # a shorter MAC


@pytest.mark.parametrize("token", ["", "no-dot", "a.b.c", "é.x", "x" * 2000, "abc.%%%"])
def test_a_malformed_ticket_is_refused(token: str) -> None:
    assert refusal(token) == "malformed"
