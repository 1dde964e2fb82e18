"""Temporal payloads encrypted with AES-GCM, so workflow histories hold no patient data in the
clear (in the Temporal UI, its database, or Temporal Cloud).

Every Temporal client and worker of ours gets the data converter `data_converter(settings)`. With
payload keys configured (`FRONTDESK_PAYLOAD_KEYS`, or `FRONTDESK_PAYLOAD_KEYS_FILE`), every
payload it writes is encrypted with the first key, and the key's id travels in the payload's
metadata; any configured key decrypts, so a key is rotated by putting the new one first and
keeping the old one until no open workflow needs it. A payload that is not encrypted (written
before encryption was turned on) still reads. Without keys, payloads are written as they are.

Keys are given as `id:base64` pairs separated by commas (a key is 32 random bytes: AES-256);
`new_key_line()` makes one.
"""

import base64
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, PayloadCodec

from frontdesk.config import Settings

ENCODING: Final = b"binary/encrypted"
KEY_ID_METADATA: Final = "encryption-key-id"
KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
PAYLOAD_KEYS_FILE: Final = "payload-keys"  # `frontdesk dev`'s key file, under var/
_KEY_ID: Final = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class PayloadKeyError(ValueError):
    """The configured payload keys are malformed, or a payload names a key we do not have."""


@dataclass(frozen=True)
class PayloadKeys:
    """The keys payloads are encrypted with (the first) and decrypted with (any of them)."""

    keys: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, text: str) -> "PayloadKeys":
        """Keys from `id:base64` pairs separated by commas or new lines; PayloadKeyError naming
        what is wrong (never the key itself)."""
        keys: list[tuple[str, bytes]] = []
        for number, item in enumerate(filter(None, (p.strip() for p in re.split(r"[,\n]", text))), 1):
            key_id, sep, encoded = item.partition(":")
            if not sep or not _KEY_ID.fullmatch(key_id):
                raise PayloadKeyError(
                    f"payload key {number} must read id:base64 (id of letters, digits, _.-)"
                )
            try:
                key = base64.b64decode(encoded.strip(), validate=True)
            except ValueError:
                raise PayloadKeyError(f"payload key {key_id!r} is not base64") from None
            if len(key) != KEY_BYTES:
                raise PayloadKeyError(f"payload key {key_id!r} must be {KEY_BYTES} bytes, not {len(key)}")
            if any(key_id == known for known, _ in keys):
                raise PayloadKeyError(f"payload key id {key_id!r} is given twice")
            keys.append((key_id, key))
        if not keys:
            raise PayloadKeyError("no payload key is given")
        return cls(tuple(keys))

    @property
    def encrypting_id(self) -> str:
        """The id of the key new payloads are encrypted with."""
        return self.keys[0][0]


def new_key_line(key_id: str) -> str:
    """A new random key as `id:base64`."""
    if not _KEY_ID.fullmatch(key_id):
        raise PayloadKeyError(f"payload key id {key_id!r} may hold only letters, digits and _.-")
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


class EncryptionCodec(PayloadCodec):
    """AES-GCM over each whole payload (its metadata included); the key id in the clear."""

    def __init__(self, keys: PayloadKeys) -> None:
        self._encrypting_id = keys.encrypting_id
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Each payload encrypted with the first key."""
        cipher = self._ciphers[self._encrypting_id]
        encoded = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            encoded.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID_METADATA: self._encrypting_id.encode()},
                    data=nonce + cipher.encrypt(nonce, payload.SerializeToString(), None),
                )
            )
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Each encrypted payload decrypted with the key it names; others as they are."""
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                decoded.append(payload)
                continue
            key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode()
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise PayloadKeyError(f"a payload was encrypted with key {key_id!r}, which is not configured")
            try:
                plain = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], None)
            except InvalidTag:
                raise PayloadKeyError(f"a payload does not decrypt with key {key_id!r}") from None
            decoded.append(Payload.FromString(plain))
        return decoded


def ensure_keys_file(path: Path) -> Path:
    """`path`, holding a new random key (readable by this user only) unless it exists already."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(new_key_line("dev-1") + "\n")
    return path.resolve()


def payload_keys(keys: SecretStr | None, keys_file: Path | None) -> PayloadKeys | None:
    """The configured keys (inline, else from the file), or None when encryption is off."""
    if keys is not None:
        return PayloadKeys.parse(keys.get_secret_value())
    if keys_file is not None:
        try:
            return PayloadKeys.parse(keys_file.read_text())
        except OSError as exc:
            raise PayloadKeyError(f"cannot read the payload keys file {keys_file}: {exc.strerror}") from None
    return None


def data_converter(keys: PayloadKeys | None) -> DataConverter:
    """Temporal's default converter, with payloads encrypted under `keys` (None: in the clear)."""
    if keys is None:
        return DataConverter.default
    return replace(DataConverter.default, payload_codec=EncryptionCodec(keys))


def converter_for(settings: Settings) -> DataConverter:
    """The data converter every Temporal client and worker of `settings` uses."""
    return data_converter(payload_keys(settings.payload_keys, settings.payload_keys_file))
