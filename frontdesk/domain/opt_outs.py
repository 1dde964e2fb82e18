"""Patients' consent to be contacted: opting out of (and back into) calls and text messages.

An opt-out names a phone number, as a carrier's STOP does: every patient of the clinic with
that number is opted out (a family sharing a phone shares its answer). The change and an
`Action` row (kind opt_out or opt_in, keyed by the idempotency key) are written in one
transaction, so a retried webhook or Update changes nothing twice and the clinic keeps a record
of when consent was withdrawn or given back. The record holds the channel and how many patients
changed, never the number.
"""

import uuid
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from frontdesk.domain.call_actions import succeeded_action
from frontdesk.domain.database import session_scope, write_scope
from frontdesk.domain.errors import DomainError, IdempotencyKeyReused
from frontdesk.domain.models import E164_PATTERN, Action, Call
from frontdesk.domain.repository import ClinicRepository


class OptOutChannel(StrEnum):
    """What a patient stops (or resumes) receiving."""

    calls = "calls"
    sms = "sms"
    all = "all"


class NotAPhoneNumber(DomainError):
    """The number to opt out is withheld or not an E.164 number."""

    code = "not_a_phone_number"

    def __init__(self) -> None:
        super().__init__(
            "There is no phone number to take off the list: the number is withheld or not a phone "
            "number. Take a message so the staff can update the patient's preferences."
        )


class NotThisCallsNumber(DomainError):
    """An opt-out made on a call names a number that is not one of the call's."""

    code = "not_this_calls_number"

    def __init__(self) -> None:
        super().__init__("Only the number on this call can be taken off the list during the call.")


def set_opt_out(
    engine: Engine,
    clinic_id: uuid.UUID,
    *,
    phone: str,
    channel: OptOutChannel,
    opted_out: bool,
    idempotency_key: str,
    call_id: uuid.UUID | None = None,
) -> int:
    """Opt the clinic's patients with `phone` out of `channel` (or back in when `opted_out` is
    False); returns how many patients have that number (0 is not an error: nobody is then called).

    Raises NotAPhoneNumber, NotThisCallsNumber (when `call_id` is given and the number is not the
    call's), NotFound (the call), IdempotencyKeyReused (the key was used for another change).
    """
    if not isinstance(phone, str) or not E164_PATTERN.fullmatch(phone):
        raise NotAPhoneNumber()
    kind = "opt_out" if opted_out else "opt_in"
    payload = {"channel": channel.value}
    try:
        with write_scope(engine) as session:
            repo = ClinicRepository(session, clinic_id)
            if (previous := repo.action_by_key(idempotency_key)) is not None:
                return _replay(previous, kind, payload)
            if call_id is not None:
                call = repo.require(Call, call_id)
                if phone not in (call.from_number, call.to_number):
                    raise NotThisCallsNumber()
            patients = repo.patients_by_phone(phone)
            for patient in patients:
                if channel in (OptOutChannel.calls, OptOutChannel.all):
                    patient.call_opt_out = opted_out
                if channel in (OptOutChannel.sms, OptOutChannel.all):
                    patient.sms_opt_out = opted_out
            repo.add(
                succeeded_action(
                    clinic_id,
                    kind=kind,
                    payload=payload,
                    idempotency_key=idempotency_key,
                    result={"patients": len(patients)},
                    call_id=call_id,
                )
            )
            return len(patients)
    except sa.exc.IntegrityError:
        # A concurrent twin with the same key (a webhook retried while the first was running)
        # committed first: its change is ours.
        with session_scope(engine) as session:
            previous = ClinicRepository(session, clinic_id).action_by_key(idempotency_key)
            if previous is None:
                raise
            return _replay(previous, kind, payload)


def _replay(previous: Action, kind: str, payload: dict[str, Any]) -> int:
    if previous.kind != kind or previous.payload != payload or not previous.result:
        raise IdempotencyKeyReused(previous.idempotency_key, kind.replace("_", " "))
    return int(previous.result["patients"])
