"""X-Twilio-Signature: signing and checking Twilio's requests, the webhooks and the media socket's upgrade.

Twilio signs the URL it requested (with its query string) followed by the sorted form fields of a
POST; the media WebSocket upgrade is signed over its wss URL with no body. Behind a proxy the URL
our server sees differs from the one Twilio used, so the signed URL is rebuilt from
`settings.public_base_url` and the request's path and query.

Signatures are always checked. Without `twilio_auth_token` (the embedded offline stack) the key is
`twilio_dev_auth_token`, which `frontdesk call` signs with too.
"""

from collections.abc import Mapping, Sequence
from typing import Final
from urllib.parse import parse_qsl

from starlette.datastructures import URL, FormData
from starlette.requests import HTTPConnection
from twilio.request_validator import RequestValidator

from frontdesk.config import Settings
from frontdesk.telephony.public_urls import public_url

SIGNATURE_HEADER: Final = "X-Twilio-Signature"


def twilio_auth_token(settings: Settings) -> str:
    """The key Twilio's signatures are made with: the account's auth token, else the dev token."""
    secret = settings.twilio_auth_token or settings.twilio_dev_auth_token
    return secret.get_secret_value()


def sign(settings: Settings, url: str, params: Mapping[str, str] | None = None) -> str:
    """The X-Twilio-Signature Twilio would send for a request to `url` with these form fields."""
    return RequestValidator(twilio_auth_token(settings)).compute_signature(url, dict(params or {}))


def _signed_url(settings: Settings, connection: HTTPConnection, websocket: bool) -> str:
    url: URL = connection.url
    return public_url(settings, url.path, url.query, websocket=websocket)


def _valid(settings: Settings, url: str, params: FormData | Mapping[str, str], signature: str | None) -> bool:
    if not signature:
        return False
    return bool(RequestValidator(twilio_auth_token(settings)).validate(url, params, signature))


def webhook_signature_valid(settings: Settings, connection: HTTPConnection, form: FormData) -> bool:
    """Whether a webhook POST carries Twilio's signature of its public URL and its form fields."""
    return _valid(
        settings, _signed_url(settings, connection, False), form, connection.headers.get(SIGNATURE_HEADER)
    )


def websocket_signature_valid(settings: Settings, connection: HTTPConnection) -> bool:
    """Whether a WebSocket upgrade carries Twilio's signature of its public wss URL (no body)."""
    return _valid(
        settings, _signed_url(settings, connection, True), {}, connection.headers.get(SIGNATURE_HEADER)
    )


def parse_form(body: bytes) -> FormData:
    """An application/x-www-form-urlencoded body as FormData (repeated fields kept, blanks kept).

    Raises ValueError when the body is not UTF-8 or not form-encoded.
    """
    text = body.decode("utf-8")
    pairs: Sequence[tuple[str, str]] = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    return FormData(pairs)
