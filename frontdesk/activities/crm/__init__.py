"""CRM sync: the call's structured record written to the clinic's CRM (PostCallWorkflow).

The clinic's enabled `Integration` of kind crm decides the adapter (hubspot, salesforce,
zendesk), its credentials decrypted here and nowhere else; without one, the built-in database
CRM keeps the record. A local ledger (`Action` kind crm_sync under the activity's key) lets a
rerun skip the vendor; the adapters also dedupe on the vendor's side, which covers a crash
between the vendor's answer and our commit.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from frontdesk.activities.crm.base import CrmAdapter, CrmRecord, CrmRejected
from frontdesk.activities.crm.database import DatabaseCrm
from frontdesk.activities.crm.hubspot import HubSpotCrm
from frontdesk.activities.crm.salesforce import SalesforceCrm
from frontdesk.activities.crm.zendesk import ZendeskCrm
from frontdesk.activities.summaries import activity_key, database_engine, describe_call, structured_summary
from frontdesk.config import get_settings
from frontdesk.domain.call_actions import record_action
from frontdesk.domain.crypto import CredentialsError, integration_credentials
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import Integration, IntegrationKind
from frontdesk.domain.repository import ClinicRepository
from frontdesk.logs import get_logger

log = get_logger(__name__)

SYNC_KIND: Final = "crm_sync"
VENDOR_ADAPTERS: Final[dict[str, Callable[[dict[str, Any], dict[str, str]], CrmAdapter]]] = {
    "hubspot": HubSpotCrm,
    "salesforce": SalesforceCrm,
    "zendesk": ZendeskCrm,
}


@dataclass(frozen=True)
class CrmSyncInput:
    """Sync one call to its clinic's CRM."""

    clinic_id: UUID
    call_id: UUID


@dataclass(frozen=True)
class CrmSyncResult:
    """Which CRM holds the record, and the record's id there."""

    provider: str
    record_id: str


def crm_adapter_for(engine: Engine, clinic_id: UUID, call_id: UUID) -> CrmAdapter:
    """The adapter of the clinic's enabled CRM integration, else the database CRM."""
    with session_scope(engine) as session:
        statement = select(Integration).where(
            Integration.clinic_id == clinic_id,
            Integration.kind == IntegrationKind.crm,
            col(Integration.enabled).is_(True),
        )
        integration = session.exec(statement.order_by(col(Integration.created_at))).first()
    if integration is None:
        return DatabaseCrm(engine, clinic_id, call_id)
    make = VENDOR_ADAPTERS.get(integration.provider)
    if make is None:
        raise CrmRejected(
            f"CRM provider {integration.provider!r} is not supported; use one of {sorted(VENDOR_ADAPTERS)}"
        )
    credentials = integration_credentials(integration, get_settings().secret_key)
    return make(dict(integration.settings), credentials)


@activity.defn(name="sync_crm")
def sync_crm(request: CrmSyncInput) -> CrmSyncResult:
    """Write the call's record to the clinic's CRM once; a rerun returns the first record."""
    key = activity_key()
    engine = database_engine()
    with session_scope(engine) as session:
        repo = ClinicRepository(session, request.clinic_id)
        previous = repo.action_by_key(key)
        if previous is not None:
            return CrmSyncResult(previous.payload["provider"], previous.payload["record_id"])
        description = describe_call(repo, request.call_id)
    record = CrmRecord(
        key=key,
        call_sid=description.call_sid,
        caller_number=description.caller_number,
        patient_name=description.patient_name,
        intent=description.intent,
        outcome=description.outcome,
        booking="; ".join(details.line() for details in description.appointments) or "none",
        summary=description.summary or structured_summary(description),
    )
    try:
        adapter = crm_adapter_for(engine, request.clinic_id, request.call_id)
        record_id = adapter.write(record)
    except (CrmRejected, CredentialsError) as exc:
        raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from exc
    except httpx.TransportError as exc:
        # The CRM cannot be reached: say so briefly and let Temporal retry.
        reason = f"the CRM is unreachable: {type(exc).__name__}"
        raise ApplicationError(reason, type="CrmUnavailable") from exc
    record_action(
        engine,
        request.clinic_id,
        kind=SYNC_KIND,
        payload={"provider": adapter.provider, "record_id": record_id},
        idempotency_key=key,
        call_id=request.call_id,
    )
    log.info("crm synced", call_id=str(request.call_id), provider=adapter.provider, record_id=record_id)
    return CrmSyncResult(adapter.provider, record_id)


CRM_ACTIVITIES: Final = [sync_crm]
