"""HubSpot: each call becomes a note (CRM v3 objects API), attached to the caller's contact.

Idempotency: the note carries the record's external id in a custom note property
(`frontdesk_key`, created once in the portal); before creating, the adapter searches for it.
Auth is a private app's access token (Bearer).
"""

from datetime import UTC, datetime
from typing import Any, Final

import httpx

from frontdesk.activities.crm.base import (
    REQUEST_TIMEOUT_SECONDS,
    CrmRecord,
    CrmRejected,
    check_response,
    require_credentials,
)

DEFAULT_BASE_URL: Final = "https://api.hubapi.com"
KEY_PROPERTY: Final = "frontdesk_key"
NOTE_TO_CONTACT: Final = 202  # HubSpot-defined association type id, note -> contact


class HubSpotCrm:
    """Writes call notes through HubSpot's CRM v3 API."""

    provider = "hubspot"

    def __init__(self, settings: dict[str, Any], credentials: dict[str, str]) -> None:
        require_credentials(credentials, ("access_token",), self.provider)
        self._client = httpx.Client(
            base_url=str(settings.get("base_url") or DEFAULT_BASE_URL),
            headers={"Authorization": f"Bearer {credentials['access_token']}"},
            timeout=REQUEST_TIMEOUT_SECONDS,
        )

    def write(self, record: CrmRecord) -> str:
        """Create the note unless one with this record's key exists; return the note id."""
        with self._client:
            existing = self._search("notes", KEY_PROPERTY, record.external_id)
            if existing is not None:
                return existing
            body: dict[str, Any] = {
                "properties": {
                    "hs_timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "hs_note_body": f"{record.title}\n{record.body()}",
                    KEY_PROPERTY: record.external_id,
                }
            }
            contact = self._search("contacts", "phone", record.caller_number)
            if contact is not None:
                body["associations"] = [
                    {
                        "to": {"id": contact},
                        "types": [
                            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": NOTE_TO_CONTACT}
                        ],
                    }
                ]
            response = self._client.post("/crm/v3/objects/notes", json=body)
            check_response(response, self.provider, "creating a note")
            return _id_of(response.json())

    def _search(self, objects: str, prop: str, value: str) -> str | None:
        query = {"filterGroups": [{"filters": [{"propertyName": prop, "operator": "EQ", "value": value}]}]}
        response = self._client.post(f"/crm/v3/objects/{objects}/search", json=query | {"limit": 1})
        check_response(response, self.provider, f"searching {objects}")
        results = response.json().get("results") or []
        return _id_of(results[0]) if results else None


def _id_of(resource: dict[str, Any]) -> str:
    if not resource.get("id"):
        raise CrmRejected("HubSpot answered without an object id")
    return str(resource["id"])
