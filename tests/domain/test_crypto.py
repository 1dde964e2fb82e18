"""Integration credentials are encrypted at rest and need the right key to read."""

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdesk.domain.crypto import (
    CredentialsError,
    decrypt_credentials,
    encrypt_credentials,
    integration_credentials,
    set_integration_credentials,
)
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import Clinic, Integration, IntegrationKind

KEY = SecretStr("test-secret-one")
SECRETS = {"api_key": "hs-live-123", "portal_id": "4455"}


def test_round_trip_and_no_plaintext() -> None:
    token = encrypt_credentials(SECRETS, KEY)
    assert "hs-live-123" not in token
    assert decrypt_credentials(token, KEY) == SECRETS
    assert decrypt_credentials(token, "test-secret-one") == SECRETS  # a plain str key works too
    assert encrypt_credentials(SECRETS, KEY) != token  # fresh IV each time


def test_wrong_key_fails_clearly() -> None:
    token = encrypt_credentials(SECRETS, KEY)
    with pytest.raises(CredentialsError, match="secret key changed"):
        decrypt_credentials(token, SecretStr("another-secret"))
    with pytest.raises(CredentialsError, match="secret key changed"):
        decrypt_credentials(token[:-4] + "AAAA", KEY)


def test_bad_inputs() -> None:
    with pytest.raises(CredentialsError, match="empty"):
        encrypt_credentials(SECRETS, "")
    with pytest.raises(CredentialsError, match="string values"):
        encrypt_credentials({"port": 443}, KEY)  # type: ignore[dict-item]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_integration_row_stores_only_the_token(engine: Engine) -> None:
    with session_scope(engine) as session:
        clinic = Clinic(slug="crypto", name="Crypto", timezone="UTC")
        session.add(clinic)
        session.flush()
        integration = Integration(clinic_id=clinic.id, kind=IntegrationKind.crm, provider="hubspot")
        assert integration_credentials(integration, KEY) == {}
        set_integration_credentials(integration, SECRETS, KEY)
        session.add(integration)
    with Session(engine) as session:
        loaded = session.get(Integration, integration.id)
        assert loaded is not None
        assert loaded.credentials_encrypted is not None
        assert "hs-live-123" not in loaded.credentials_encrypted
        assert integration_credentials(loaded, KEY) == SECRETS
