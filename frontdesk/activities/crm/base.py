"""The CRM adapter interface: one structured record per call, written once per idempotency key.

Every adapter dedupes on its own side (a local ledger is not enough: a crash between the
vendor's answer and our commit would otherwise write twice), using `CrmRecord.external_id`,
which is derived from the activity's idempotency key and is safe in a URL.
"""

import hashlib
from dataclasses import dataclass
from typing import Final, Protocol

import httpx

REQUEST_TIMEOUT_SECONDS: Final = 15.0
_ERROR_DETAIL_CHARS: Final = 200


class CrmRejected(Exception):
    """The CRM refused the write for a reason retrying cannot fix (credentials, validation)."""


class CrmUnavailable(Exception):
    """The CRM is down, throttling or answered with a server error: worth retrying."""


@dataclass(frozen=True)
class CrmRecord:
    """A call as a CRM sees it: who called, why, what came of it, and the summary."""

    key: str
    call_sid: str
    caller_number: str
    patient_name: str | None
    intent: str
    outcome: str
    booking: str
    summary: str

    @property
    def external_id(self) -> str:
        """A short URL-safe id derived from the idempotency key (the CRMs' external id)."""
        return "frontdesk-" + hashlib.sha256(self.key.encode()).hexdigest()[:32]

    @property
    def title(self) -> str:
        """A one-line subject."""
        return f"Phone call: {self.intent} ({self.outcome})"

    def body(self) -> str:
        """The record's text: the facts, then the summary."""
        return "\n".join(
            [
                f"Caller: {self.caller_number}",
                f"Patient: {self.patient_name or 'not identified'}",
                f"Intent: {self.intent}",
                f"Outcome: {self.outcome}",
                f"Booking: {self.booking}",
                f"Call: {self.call_sid}",
                "",
                self.summary,
            ]
        )


class CrmAdapter(Protocol):
    """Writes call records to one CRM."""

    provider: str

    def write(self, record: CrmRecord) -> str:
        """Write the record (once per `record.key`, whatever the retries); return its id in the CRM."""
        ...


def check_response(response: httpx.Response, provider: str, what: str) -> None:
    """Raise CrmUnavailable (retry) or CrmRejected (final) unless the response is a success."""
    if response.is_success:
        return
    detail = response.text[:_ERROR_DETAIL_CHARS].strip()
    message = f"{provider} {what} failed with HTTP {response.status_code}: {detail}"
    if response.status_code in (408, 409, 423, 429) or response.status_code >= 500:
        raise CrmUnavailable(message)
    raise CrmRejected(message)


def require_credentials(credentials: dict[str, str], names: tuple[str, ...], provider: str) -> None:
    """Raise CrmRejected naming the missing credentials."""
    missing = [name for name in names if not credentials.get(name)]
    if missing:
        raise CrmRejected(f"the {provider} integration lacks credentials: {', '.join(missing)}")
