"""The clinic's do-not-contact list: the numbers it must not call, text, or either.

The list is the one record of consent, and it is kept by phone number, as a carrier's STOP is:
an opt-out holds for every patient with the number, registered before it or after (a family
sharing a phone shares its answer), and a STOP from a number no patient has yet is kept all the
same. Every sender asks `blocks` before it calls or texts (the campaign dialler's target check,
the patient-message activity).

Patients change it themselves, by a text's STOP or START or by asking on a call: `set_opt_out`
writes the change and an `Action` row (kind opt_out or opt_in, keyed by the idempotency key) in
one transaction, so a retried webhook or Update changes nothing twice and the clinic keeps a
record of when consent was withdrawn or given back. The record holds the channel and how many
patients have the number, never the number. Staff change the list through the admin API with
`block` and `unblock`, in the request's transaction (which writes its audit entry).
"""

import uuid
from enum import StrEnum
from functools import partial
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from frontdesk.domain.call_actions import succeeded_action
from frontdesk.domain.database import write_scope
from frontdesk.domain.errors import DomainError, IdempotencyKeyReused
from frontdesk.domain.models import E164_PATTERN, Action, Call, DoNotContact, OptOutSource, utcnow
from frontdesk.domain.repository import ClinicRepository


class OptOutChannel(StrEnum):
    """What a number stops (or resumes) receiving."""

    calls = "calls"
    sms = "sms"
    all = "all"


# The channels a number is blocked for one by one; `all` in a change means both.
BlockedChannel = Literal[OptOutChannel.calls, OptOutChannel.sms]


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


def blocks(repo: ClinicRepository, phone: str, channel: BlockedChannel) -> bool:
    """Whether the clinic's list forbids calling (`calls`) or texting (`sms`) the number `phone`."""
    if channel is OptOutChannel.all:
        raise ValueError("ask whether calls or sms are blocked, one at a time")
    entry = repo.do_not_contact(phone)
    if entry is None:
        return False
    return entry.blocks_calls if channel is OptOutChannel.calls else entry.blocks_sms


def block(repo: ClinicRepository, phone: str, channel: OptOutChannel, source: OptOutSource) -> DoNotContact:
    """Put `phone` on the list for `channel` (both for `all`); returns its entry.

    A channel already blocked keeps the moment and source of its first opt-out: that is when
    consent was withdrawn. A number that is not E.164 is a ValueError (the model's check).
    """
    entry = repo.do_not_contact(phone) or repo.add(DoNotContact(clinic_id=repo.clinic_id, phone=phone))
    now = utcnow()
    if channel in (OptOutChannel.calls, OptOutChannel.all) and entry.calls_since is None:
        entry.calls_since, entry.calls_source = now, source
    if channel in (OptOutChannel.sms, OptOutChannel.all) and entry.sms_since is None:
        entry.sms_since, entry.sms_source = now, source
    entry.updated_at = now
    return entry


def unblock(repo: ClinicRepository, phone: str, channel: OptOutChannel) -> DoNotContact | None:
    """Take `phone` off the list for `channel` (both for `all`); returns the entry left, or None
    when the number is off the list altogether (an entry that blocks nothing is deleted)."""
    entry = repo.do_not_contact(phone)
    if entry is None:
        return None
    if channel in (OptOutChannel.calls, OptOutChannel.all):
        entry.calls_since = entry.calls_source = None
    if channel in (OptOutChannel.sms, OptOutChannel.all):
        entry.sms_since = entry.sms_source = None
    if not (entry.blocks_calls or entry.blocks_sms):
        repo.session.delete(entry)
        return None
    entry.updated_at = utcnow()
    return entry


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
    """Put `phone` on the clinic's list for `channel` (take it off when `opted_out` is False), as
    its owner asked: on the call `call_id` (source call), else by text (source sms_stop). Returns
    how many patients have the number (0 is not an error: the list holds it for whoever registers
    with it later).

    Raises NotAPhoneNumber, NotThisCallsNumber (when `call_id` is given and the number is not the
    call's), NotFound (the call), IdempotencyKeyReused (the key was used for another change).
    """
    if not isinstance(phone, str) or not E164_PATTERN.fullmatch(phone):
        raise NotAPhoneNumber()
    change = partial(_change, engine, clinic_id, phone, channel, opted_out, idempotency_key, call_id)
    try:
        return change()
    except sa.exc.IntegrityError:
        # A concurrent twin with the same key (a webhook retried while the first was running), or
        # another change that added this number's entry, committed first. Done again, the first
        # finds the twin's record and the second changes the entry now there.
        return change()


def _change(
    engine: Engine,
    clinic_id: uuid.UUID,
    phone: str,
    channel: OptOutChannel,
    opted_out: bool,
    idempotency_key: str,
    call_id: uuid.UUID | None,
) -> int:
    kind = "opt_out" if opted_out else "opt_in"
    payload = {"channel": channel.value}
    with write_scope(engine) as session:
        repo = ClinicRepository(session, clinic_id)
        if (previous := repo.action_by_key(idempotency_key)) is not None:
            return _replay(previous, kind, payload)
        if call_id is not None:
            call = repo.require(Call, call_id)
            if phone not in (call.from_number, call.to_number):
                raise NotThisCallsNumber()
        if opted_out:
            block(repo, phone, channel, OptOutSource.call if call_id is not None else OptOutSource.sms_stop)
        else:
            unblock(repo, phone, channel)
        patients = len(repo.patients_by_phone(phone))
        repo.add(
            succeeded_action(
                clinic_id,
                kind=kind,
                payload=payload,
                idempotency_key=idempotency_key,
                result={"patients": patients},
                call_id=call_id,
            )
        )
        return patients


def _replay(previous: Action, kind: str, payload: dict[str, Any]) -> int:
    if previous.kind != kind or previous.payload != payload or not previous.result:
        raise IdempotencyKeyReused(previous.idempotency_key, kind.replace("_", " "))
    return int(previous.result["patients"])
