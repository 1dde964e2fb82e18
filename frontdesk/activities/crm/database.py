"""The built-in CRM: call records kept in our own database, as `Action` rows of kind crm_record."""

from dataclasses import asdict
from uuid import UUID

from sqlalchemy.engine import Engine

from frontdesk.activities.crm.base import CrmRecord
from frontdesk.domain.call_actions import record_action

RECORD_KIND = "crm_record"


class DatabaseCrm:
    """Records each call once per key in the clinic's Action table (the offline CRM)."""

    provider = "database"

    def __init__(self, engine: Engine, clinic_id: UUID, call_id: UUID) -> None:
        self._engine = engine
        self._clinic_id = clinic_id
        self._call_id = call_id

    def write(self, record: CrmRecord) -> str:
        """Record the call; a repeat of the key returns the first record's id."""
        action = record_action(
            self._engine,
            self._clinic_id,
            kind=RECORD_KIND,
            payload=asdict(record),
            idempotency_key=f"{record.key}/record",
            call_id=self._call_id,
        )
        return str(action.id)
