"""Runs the agent's tool calls: validates them, enforces the clinic's rules, calls `Actions`.

The rules that must hold whatever the model writes live here, in code: a booking names a slot
this call's availability search returned, the caller said yes to it (or picked it from an offer
that named it: "the first one", "the 9 AM") in their last turn, a cancellation follows a yes to
its read-back or a cancel asked outright of the one appointment the agent had just named, existing
appointments are only touched after the patient was identified (or, on an outbound call, when it
is the appointment the call is about), a confirmation follows the patient's yes, an opt-out is
for the call's own number, and a transfer goes to the number the clinic configured for its reason.
"""

import json
import re
from collections.abc import Callable
from datetime import datetime, time
from typing import Any

from frontdesk.agent.actions import ActionRefused, Actions, SlotOption, SlotQuery
from frontdesk.agent.call_state import CallState
from frontdesk.agent.clinic_profile import ClinicProfile, speak_date, speak_time
from frontdesk.agent.conversation import Conversation, ToolResultBlock, ToolUseBlock
from frontdesk.agent.tools import (
    BookAppointment,
    CancelAppointment,
    ConfirmAppointment,
    EndCall,
    GetAvailability,
    IdentifyPatient,
    OptOut,
    RescheduleAppointment,
    SendConfirmation,
    TakeMessage,
    ToolArgumentsError,
    TransferReason,
    TransferToHuman,
    VerifyInsurance,
    parse_tool_call,
)
from frontdesk.agent.understanding.intents import Intent
from frontdesk.agent.understanding.numbers import normalize_numbers
from frontdesk.agent.understanding.reading import Understanding, understand
from frontdesk.agent.understanding.services import match_provider, match_service
from frontdesk.agent.understanding.when import MONTHS, PARTS_OF_DAY, WEEKDAYS
from frontdesk.domain.appointment_details import AppointmentRecord
from frontdesk.domain.outcomes import Outcome
from frontdesk.log_redaction import remember_names
from frontdesk.logs import get_logger

log = get_logger(__name__)

MAX_SLOTS_OFFERED = 3
# What a tool that failed (not refused) returns: the brain apologizes and offers a way forward.
TOOL_FAILED = (
    "That could not be done just now: our systems did not answer. Apologize briefly, and offer to "
    "take a message so the team can follow up, or to transfer the caller."
)
# Offered slots of one provider are spread at least this far apart, so three choices differ.
MIN_SPREAD_MINUTES = 60


def describe_slot(slot: SlotOption | AppointmentRecord, profile: ClinicProfile) -> str:
    """A slot as the agent says it: "Tuesday, December 1st at 9 AM with Dr. Patel"."""
    local = slot.start.astimezone(profile.tz)
    provider = profile.provider_by_id(slot.provider_id)
    who = f" with {provider.short_name}" if provider else ""
    return f"{speak_date(local)} at {speak_time(local.time())}{who}"


_DATE_NAMED = re.compile(
    r"\b(" + "|".join(MONTHS) + r"|\d{1,2}(st|nd|rd|th)|today|tomorrow|tonight|next|this)\b"
)


def picked_slot(state: CallState, heard: Understanding, profile: ClinicProfile) -> str | None:
    """The handle of the one slot of the latest offer the caller's words pick: by its place ("the
    first one", "the earliest") or by its time or day ("the 9 AM", "Thursday"); None if none or
    several."""
    offer = state.last_offer
    if heard.option_index is not None:
        return offer[heard.option_index] if -len(offer) <= heard.option_index < len(offer) else None
    when = heard.when
    if when.at is None and when.day is None:
        return None
    # "Yes, 8 AM Thursday" to an offer of Thursday the 1st: a weekday said alone is the offer's.
    weekday_only = when.day is not None and _DATE_NAMED.search(heard.text) is None

    def fits(slot: SlotOption) -> bool:
        local = slot.start.astimezone(profile.tz)
        if when.at is not None and local.time() != when.at:
            return False
        if when.day is None:
            return True
        return local.weekday() == when.day.weekday() if weekday_only else local.date() == when.day

    matching = [handle for handle in offer if fits(state.offered[handle])]
    return matching[0] if len(matching) == 1 else None


# "What happens if I cancel?", "should I cancel it?": asking about cancelling asks for no cancel.
_ABOUT_CANCELLING = re.compile(r"\b(what happens|what if|should i|if i|fee|charge|polic(y|ies))\b|\?\s*$")


def cancel_asked_outright(
    state: CallState, profile: ClinicProfile, agent_said: str, heard: Understanding, handle: str
) -> bool:
    """Whether the caller asked outright to cancel the appointment `handle` just after the agent
    named it and no other ("I'm calling about your filling on Tuesday ..." - "I'll have to cancel
    that one"): the request then names what it cancels, as a yes to a read-back does."""
    appointment = state.appointments[handle]
    others = (a for h, a in state.appointments.items() if h != handle and a.status in ("booked", "confirmed"))
    return (
        heard.primary == Intent.cancel
        and not heard.deny
        and _ABOUT_CANCELLING.search(heard.text.lower()) is None
        and _mentions_slot(agent_said, appointment, profile)
        and not any(_mentions_slot(agent_said, other, profile) for other in others)
    )


def appointment_summary(
    handle: str, appointment: AppointmentRecord, profile: ClinicProfile
) -> dict[str, str]:
    """An appointment as tool results name it: its handle, when and with whom, and its service."""
    service = next((s.name for s in profile.services if s.id == appointment.service_id), "appointment")
    return {"appointment_id": handle, "when": describe_slot(appointment, profile), "service": service}


def _mentions_slot(agent_text: str, slot: SlotOption | AppointmentRecord, profile: ClinicProfile) -> bool:
    """Whether the agent's words read the slot back: its day or date, its time and its provider."""
    text = normalize_numbers(agent_text).replace(".", "")
    local = slot.start.astimezone(profile.tz)
    day_named = local.strftime("%A").lower() in text or (
        local.strftime("%B").lower() in text
        and re.search(rf"\b{local.day}(st|nd|rd|th)?\b", text) is not None
    )
    hour12 = local.hour % 12 or 12
    meridiem = "am" if local.hour < 12 else "pm"
    minute = f":{local.minute:02d}" if local.minute else "(:00)?"
    time_named = re.search(rf"\b{hour12}{minute}(?!:?\d)\s*({meridiem}|o'?clock)?\b", text) is not None or (
        (local.hour, local.minute) == (12, 0) and "noon" in text
    )
    provider = profile.provider_by_id(slot.provider_id)
    provider_named = provider is None or any(
        part.lower() in text
        for part in provider.name.replace(".", "").split()
        if part.lower() not in ("dr", "doctor")
    )
    return day_named and time_named and provider_named


class ToolRunner:
    """Executes tool calls for one call against `Actions`, keeping `CallState` up to date."""

    def __init__(
        self,
        profile: ClinicProfile,
        actions: Actions,
        state: CallState,
        conversation: Conversation,
        now: Callable[[], datetime],
    ) -> None:
        self.profile = profile
        self.actions = actions
        self.state = state
        self.conversation = conversation
        self.now = now

    async def run(self, call: ToolUseBlock) -> ToolResultBlock:
        """Run one tool call. It never raises: refusals and bad arguments come back as error
        results, and so does a failure (the database or Temporal down), so every tool call has its
        result and the brain can speak around it."""
        try:
            args = parse_tool_call(call.name, call.input)
            result = await self._dispatch(args)
        except (ToolArgumentsError, ActionRefused) as refusal:
            log.info("tool refused", tool=call.name, reason=type(refusal).__name__)
            return ToolResultBlock(tool_use_id=call.id, content=str(refusal), is_error=True)
        except Exception as failure:
            # The type only: a message could quote the caller's details.
            log.error("tool failed", tool=call.name, error_type=type(failure).__name__)
            return ToolResultBlock(tool_use_id=call.id, content=TOOL_FAILED, is_error=True)
        return ToolResultBlock(tool_use_id=call.id, content=json.dumps(result))

    async def _dispatch(self, args: Any) -> dict[str, Any]:
        match args:
            case GetAvailability():
                return await self._get_availability(args)
            case IdentifyPatient():
                return await self._identify(args)
            case BookAppointment():
                return await self._book(args)
            case RescheduleAppointment():
                return await self._reschedule(args)
            case CancelAppointment():
                return await self._cancel(args)
            case ConfirmAppointment():
                return await self._confirm(args)
            case OptOut():
                await self.actions.opt_out(args.channel, self.state.caller_number)
                self.state.record_outcome(Outcome.opted_out)
                return {
                    "opted_out": True,
                    "channel": args.channel.value,
                    "note": "Acknowledge it; unless they need something else, say goodbye and end_call.",
                }
            case VerifyInsurance():
                check = await self.actions.verify_insurance(args.carrier, args.member_id)
                return check.model_dump()
            case SendConfirmation():
                appointment = self._appointment(args.appointment_id)
                where = await self.actions.send_confirmation(appointment.id, args.channel)
                return {"sent": True, "to": where}
            case TakeMessage():
                await self.actions.take_message(args.reason, args.callback_number or self.state.caller_number)
                self.state.record_outcome(Outcome.message_taken)
                return {"message_taken": True}
            case TransferToHuman():
                return await self._transfer(args.reason)
            case EndCall():
                self.state.record_outcome(Outcome.answered)
                self.state.ended = True
                await self.actions.end_call(self.state.outcome or Outcome.answered)
                return {"ended": True}
        raise ToolArgumentsError(f"no handler for {type(args).__name__}")

    async def _get_availability(self, args: GetAvailability) -> dict[str, Any]:
        self.state.booking_intent = True
        services = {s.slug: s.name for s in self.profile.services}
        slug = args.service if args.service in services else match_service(args.service, services)
        service = self.profile.service_by_slug(slug) if slug else None
        if service is None:
            raise ActionRefused(
                f"Unknown service {args.service!r}. Services offered: {', '.join(services.values())}."
            )
        provider_id = None
        if args.provider:
            named = match_provider(args.provider, {str(p.id): p.name for p in self.profile.providers})
            if named is None:
                names = ", ".join(p.short_name for p in self.profile.providers)
                raise ActionRefused(f"No provider named {args.provider!r}. Providers: {names}.")
            provider_id = next(p.id for p in self.profile.providers if str(p.id) == named)
        if args.date_to < args.date_from:
            raise ActionRefused("date_to is before date_from; search a range that moves forward in time.")
        after, before = _window(args)
        query = SlotQuery(
            service_id=service.id,
            provider_id=provider_id,
            date_from=args.date_from,
            date_to=args.date_to,
            after=after,
            before=before,
        )
        options = await self.actions.find_slots(query)
        # The same search again asks for other times; a new one ("around 9:30") may offer them again.
        search = repr((query, args.weekdays))
        already = list(self.state.offered.values()) if search == self.state.last_search else []
        self.state.last_search = search
        days = {WEEKDAYS.index(d) for d in args.weekdays} if args.weekdays else None
        fresh = [
            o
            for o in options
            if o not in already and (days is None or o.start.astimezone(self.profile.tz).weekday() in days)
        ]
        chosen = _spread(fresh, already)
        slots = [
            {
                "slot_id": self.state.offer(slot),
                "when": describe_slot(slot, self.profile),
                "service": service.name,
            }
            for slot in chosen
        ]
        self.state.last_offer = [s["slot_id"] for s in slots]
        result: dict[str, Any] = {"slots": slots, "more_available": len(fresh) > len(chosen)}
        if not slots:
            result["note"] = "No openings match. Offer to search other days or times."
        return result

    async def _identify(self, args: IdentifyPatient) -> dict[str, Any]:
        remember_names(args.first_name, args.last_name)  # the caller's words: never in the call's logs
        patient = await self.actions.identify_patient(args.first_name, args.last_name, args.date_of_birth)
        self.state.patient = patient  # whoever was identified before, this is who is spoken of now
        if patient is None:
            return {"found": False, "note": "No patient matches that name and date of birth."}
        upcoming = await self.actions.upcoming_appointments(patient.id)
        return {
            "found": True,
            "patient": f"{patient.first_name} {patient.last_name}",
            "upcoming": [self._appointment_summary(a) for a in upcoming],
        }

    def _appointment_summary(self, appointment: AppointmentRecord) -> dict[str, str]:
        return appointment_summary(self.state.remember_appointment(appointment), appointment, self.profile)

    def _offered(self, slot_id: str) -> SlotOption:
        slot = self.state.offered.get(slot_id)
        if slot is None:
            raise ActionRefused(
                f"Slot {slot_id!r} was not returned by get_availability in this call. "
                "Search with get_availability and offer one of the slots it returns."
            )
        return slot

    def _appointment(self, appointment_id: str) -> AppointmentRecord:
        appointment = self.state.appointments.get(appointment_id)
        if appointment is None:
            raise ActionRefused(
                f"Appointment {appointment_id!r} is not one of this caller's appointments. "
                "Identify the patient with identify_patient first and use the appointment ids it returns."
            )
        return appointment

    def _require_confirmation(
        self, slot: SlotOption | AppointmentRecord, what: str, handle: str | None = None
    ) -> None:
        """The agent's last words named the slot, and the caller said yes to it or (for an offered
        slot, `handle`) picked it among those offered."""
        agent_said, caller_said = self.conversation.last_exchange()
        heard = understand(caller_said, self.now())
        picked = handle is not None and picked_slot(self.state, heard, self.profile) == handle
        agreed = heard.affirm or (picked and not heard.deny)
        if not _mentions_slot(agent_said, slot, self.profile) or not agreed:
            raise ActionRefused(
                f"Not {what} yet: first read back the day, date, time and provider "
                f"({describe_slot(slot, self.profile)}) and get a clear yes from the caller."
            )

    async def _book(self, args: BookAppointment) -> dict[str, Any]:
        remember_names(args.patient.first_name, args.patient.last_name)  # never in the call's logs
        slot = self._offered(args.slot_id)
        self._require_confirmation(slot, "booked", args.slot_id)
        patient = self.state.patient
        details = args.patient
        if details.phone is None:
            details = details.model_copy(update={"phone": self.state.caller_number})
        appointment = await self.actions.book(slot, details, patient.id if patient else None)
        self.state.record_outcome(Outcome.booked)
        summary = self._appointment_summary(appointment)
        self.state.booked_here.add(summary["appointment_id"])
        return {"booked": True, **summary}

    async def _reschedule(self, args: RescheduleAppointment) -> dict[str, Any]:
        current = self._appointment(args.appointment_id)
        slot = self._offered(args.slot_id)
        self._require_confirmation(slot, "rescheduled", args.slot_id)
        moved = await self.actions.reschedule(current.id, slot)
        # A booking this call made and then moved ("oh wait, I meant Thursday") is still a booking.
        booked_here = args.appointment_id in self.state.booked_here
        self.state.record_outcome(Outcome.booked if booked_here else Outcome.rescheduled)
        return {"rescheduled": True, **self._appointment_summary(moved)}

    async def _cancel(self, args: CancelAppointment) -> dict[str, Any]:
        current = self._appointment(args.appointment_id)
        agent_said, caller_said = self.conversation.last_exchange()
        heard = understand(caller_said, self.now())
        if not cancel_asked_outright(self.state, self.profile, agent_said, heard, args.appointment_id):
            self._require_confirmation(current, "cancelled")
        cancelled = await self.actions.cancel(current.id)
        self.state.record_outcome(Outcome.cancelled)
        return {"cancelled": True, **self._appointment_summary(cancelled)}

    async def _confirm(self, args: ConfirmAppointment) -> dict[str, Any]:
        current = self._appointment(args.appointment_id)
        caller_said = understand(self.conversation.last_exchange()[1], self.now())
        if not (caller_said.affirm or caller_said.has(Intent.confirm_appointment)) or caller_said.deny:
            raise ActionRefused(
                "Not confirmed yet: ask whether they will come to the appointment "
                f"({describe_slot(current, self.profile)}) and confirm only after a clear yes."
            )
        confirmed = await self.actions.confirm(current.id)
        self.state.record_outcome(Outcome.confirmed)
        return {"confirmed": True, **self._appointment_summary(confirmed)}

    async def _transfer(self, reason: TransferReason) -> dict[str, Any]:
        rules = self.profile.escalation
        number = {
            TransferReason.billing: rules.billing_number,
            TransferReason.clinical: rules.clinical_number,
        }.get(reason) or rules.transfer_number
        closed = not self.profile.is_open(self.now())
        if closed and rules.after_hours_policy == "take_message" and reason != TransferReason.distress:
            raise ActionRefused(
                "The clinic is closed now, so no one can take the call. Take a message with take_message "
                "and promise a callback when the clinic opens."
            )
        if number is None:
            raise ActionRefused("No transfer number is configured. Take a message with take_message instead.")
        await self.actions.transfer(reason, number)
        self.state.transfer_reason = reason
        self.state.record_outcome(Outcome.transferred)
        self.state.ended = True
        return {"transferred": True}


def _window(args: GetAvailability) -> tuple[time | None, time | None]:
    """The start-time window from part_of_day and after/before, intersected."""
    after = time.fromisoformat(args.after) if args.after else None
    before = time.fromisoformat(args.before) if args.before else None
    if args.part_of_day:
        low, high = PARTS_OF_DAY[args.part_of_day]
        after = max(after, low) if after else low
        before = min(before, high) if before else high
    return after, before


def _spread(options: list[SlotOption], already_offered: list[SlotOption]) -> list[SlotOption]:
    """Up to three new slots, soonest first, at different times, a provider's picks at least an hour
    from each other and from what was offered before (after "none of those work", the next offers
    really differ)."""
    chosen: list[SlotOption] = []
    for option in options:
        close = any(
            c.start == option.start
            or (
                c.provider_id == option.provider_id
                and abs((c.start - option.start).total_seconds()) < MIN_SPREAD_MINUTES * 60
            )
            for c in [*chosen, *already_offered]
        )
        if not close:
            chosen.append(option)
        if len(chosen) == MAX_SLOTS_OFFERED:
            break
    return chosen
