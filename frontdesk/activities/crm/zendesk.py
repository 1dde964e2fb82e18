"""Zendesk: each call becomes a ticket with a private note (Support API, tickets).

Creation carries the documented `Idempotency-Key` header (a repeat within Zendesk's window
returns the first ticket) and the record's external id as the ticket's `external_id`. Auth is an
agent's email and API token (`{email}/token:{api_token}`, HTTP basic).
"""

from typing import Any, Final

import httpx

from frontdesk.activities.crm.base import (
    REQUEST_TIMEOUT_SECONDS,
    CrmRecord,
    CrmRejected,
    check_response,
    require_credentials,
)

TAGS: Final = ["frontdesk", "phone_call"]


class ZendeskCrm:
    """Creates call tickets through the Zendesk Support API."""

    provider = "zendesk"

    def __init__(self, settings: dict[str, Any], credentials: dict[str, str]) -> None:
        require_credentials(credentials, ("email", "api_token"), self.provider)
        base_url = settings.get("base_url")
        if not base_url:
            if not settings.get("subdomain"):
                raise CrmRejected("the zendesk integration needs a subdomain (or base_url) setting")
            base_url = f"https://{settings['subdomain']}.zendesk.com"
        self._client = httpx.Client(
            base_url=str(base_url),
            auth=(f"{credentials['email']}/token", credentials["api_token"]),
            timeout=REQUEST_TIMEOUT_SECONDS,
        )

    def write(self, record: CrmRecord) -> str:
        """Create the ticket once per key; return the ticket id."""
        ticket = {
            "subject": record.title,
            "comment": {"body": record.body(), "public": False},
            "external_id": record.external_id,
            "tags": TAGS,
        }
        with self._client:
            response = self._client.post(
                "/api/v2/tickets.json",
                json={"ticket": ticket},
                headers={"Idempotency-Key": record.external_id},
            )
            check_response(response, self.provider, "creating a ticket")
            ticket_id = (response.json().get("ticket") or {}).get("id")
        if not ticket_id:
            raise CrmRejected("Zendesk answered without a ticket id")
        return str(ticket_id)
