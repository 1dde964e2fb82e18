"""Encryption at rest for integration credentials (CRM and practice-system secrets).

A Fernet key is derived from `Settings.secret_key` with HKDF-SHA256, so rotating the secret
makes old tokens unreadable (with a clear error) rather than silently wrong. Credentials are
write-only from the API's point of view: only the adapters that need them decrypt them.
"""

import base64
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from frontdesk.domain.models import Integration

# Domain separation: a key derived for another purpose from the same secret differs.
_HKDF_INFO = b"frontdesk/integration-credentials/v1"
_HKDF_SALT = b"frontdesk"


class CredentialsError(ValueError):
    """Credentials could not be encrypted or decrypted; the message says why."""


def derive_key(secret_key: SecretStr | str, purpose: bytes) -> bytes:
    """32 bytes for one `purpose` (its domain separation, e.g. b"frontdesk/<use>/v1"), derived from
    the secret key with HKDF-SHA256: keys of two purposes share nothing usable."""
    secret = secret_key.get_secret_value() if isinstance(secret_key, SecretStr) else secret_key
    if not secret:
        raise CredentialsError("the secret key is empty; set FRONTDESK_SECRET_KEY")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=purpose).derive(secret.encode())


def _fernet(secret_key: SecretStr | str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derive_key(secret_key, _HKDF_INFO)))


def encrypt_credentials(credentials: dict[str, str], secret_key: SecretStr | str) -> str:
    """Encrypt a mapping of credential names to values into a Fernet token (text)."""
    if not isinstance(credentials, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in credentials.items()
    ):
        raise CredentialsError("credentials must be a mapping of names to string values")
    plaintext = json.dumps(credentials, sort_keys=True).encode()
    return _fernet(secret_key).encrypt(plaintext).decode()


def decrypt_credentials(token: str, secret_key: SecretStr | str) -> dict[str, str]:
    """Decrypt a token made by `encrypt_credentials`; a wrong key or damaged token raises."""
    try:
        plaintext = _fernet(secret_key).decrypt(token.encode())
    except InvalidToken:
        raise CredentialsError(
            "stored credentials cannot be decrypted: the secret key changed or the data is damaged; "
            "re-enter the integration's credentials"
        ) from None
    credentials: dict[str, str] = json.loads(plaintext)
    return credentials


def set_integration_credentials(
    integration: Integration, credentials: dict[str, str], secret_key: SecretStr | str
) -> None:
    """Store credentials on an integration row, encrypted (the plain values are never kept)."""
    integration.credentials_encrypted = encrypt_credentials(credentials, secret_key)


def integration_credentials(integration: Integration, secret_key: SecretStr | str) -> dict[str, str]:
    """The decrypted credentials of an integration ({} when none were stored)."""
    if integration.credentials_encrypted is None:
        return {}
    return decrypt_credentials(integration.credentials_encrypted, secret_key)
