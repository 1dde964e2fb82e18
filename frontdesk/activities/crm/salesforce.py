"""Salesforce: each call becomes a completed Task, upserted by external id (REST sobjects API).

`PATCH /services/data/vXX.X/sobjects/Task/{field}/{value}` creates the Task or updates the one
with that external id, so a retried write never makes a second Task. The external id field
(default `Frontdesk_Key__c`) is a custom field marked External ID on Task. Auth: an OAuth access
token and the org's instance URL.
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

DEFAULT_API_VERSION: Final = "v61.0"
DEFAULT_EXTERNAL_ID_FIELD: Final = "Frontdesk_Key__c"
SUBJECT_MAX: Final = 255


class SalesforceCrm:
    """Upserts call Tasks through the Salesforce REST API."""

    provider = "salesforce"

    def __init__(self, settings: dict[str, Any], credentials: dict[str, str]) -> None:
        require_credentials(credentials, ("instance_url", "access_token"), self.provider)
        version = str(settings.get("api_version") or DEFAULT_API_VERSION)
        self._field = str(settings.get("external_id_field") or DEFAULT_EXTERNAL_ID_FIELD)
        self._client = httpx.Client(
            base_url=f"{credentials['instance_url'].rstrip('/')}/services/data/{version}",
            headers={"Authorization": f"Bearer {credentials['access_token']}"},
            timeout=REQUEST_TIMEOUT_SECONDS,
        )

    def write(self, record: CrmRecord) -> str:
        """Upsert the Task keyed by the record's external id; return the Task id."""
        task = {
            "Subject": record.title[:SUBJECT_MAX],
            "Description": record.body(),
            "Status": "Completed",
            "TaskSubtype": "Call",
        }
        with self._client:
            response = self._client.patch(f"/sobjects/Task/{self._field}/{record.external_id}", json=task)
            check_response(response, self.provider, "upserting a Task")
            task_id = response.json().get("id")
        if not task_id:
            raise CrmRejected("Salesforce answered the upsert without a Task id")
        return str(task_id)
