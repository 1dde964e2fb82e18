"""Booking, moving, cancelling, confirming and looking up appointments: the agent asks only for
what the task still lacks (service, identity, which appointment, when), searches, offers times,
and changes nothing unless the caller said yes to, or picked, a slot its words named (the offer,
or a read-back)."""

import re
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID

from frontdesk.agent.brains.fallback.dialogue import (
    CHANGES,
    DEFAULT_SEARCH_DAYS,
    MAX_IDENTITY_ASKS,
    URGENT_IDENTITY_ASKS,
    WIDEN_DAYS,
    Awaiting,
    Task,
)
from frontdesk.agent.brains.fallback.escalation import offer_human, urgent_to_clinical_team
from frontdesk.agent.brains.fallback.phrases import ANYTHING_ELSE, spoken_list, spoken_offers
from frontdesk.agent.brains.fallback.reply import Reply
from frontdesk.agent.clinic_profile import speak_date, speak_time
from frontdesk.agent.tool_runner import cancel_asked_outright, picked_slot
from frontdesk.agent.understanding.intents import Intent
from frontdesk.agent.understanding.reading import NEW_TIME, Understanding
from frontdesk.agent.understanding.when import WEEKDAYS, TimePreference, clock_time
from frontdesk.domain.clinic_settings import DentalUrgencyPolicy

NOTHING_SAID = Understanding(text="")
_HOUR_SAID = re.compile(r"\b(1[0-2]|[1-9])\b(?!:|st|nd|rd|th)")
_NONE_UPCOMING = "I don't see any upcoming appointments for you."


def start_task(r: Reply, task: Task) -> None:
    """Begin a task afresh (the details already given stay in the frame)."""
    d = r.dialogue
    d.task, d.offered, d.chosen, d.widened = task, [], None, 0
    d.misunderstood = 0
    r.state.booking_intent = r.state.booking_intent or task == Task.book


def urgent_visit(r: Reply, heard: Understanding) -> None:
    """A dental urgency, per the clinic's rule: the clinical line at once, or the soonest slot
    (for an exam unless the caller named the visit)."""
    d = r.dialogue
    if r.profile.escalation.dental_urgency == DentalUrgencyPolicy.clinical_line:
        urgent_to_clinical_team(r, "I'm sorry, that sounds painful.")
        return
    start_task(r, Task.book)
    d.urgent = True
    d.service = d.service or ("exam" if r.profile.service_by_slug("exam") else None)
    d.when = d.when.merge(TimePreference(earliest=True))
    r.speak("I'm sorry, that sounds painful. Let's get you in as soon as we can.")
    continue_task(r, heard)


def continue_task(r: Reply, heard: Understanding) -> None:
    """Ask for the next missing piece of the current task, or act when nothing is missing."""
    d = r.dialogue
    if d.awaiting == Awaiting.choice and d.offered and choose(r, heard):
        return
    if d.awaiting == Awaiting.which_appointment and _pick_appointment(r, heard):
        return
    if d.task in (*CHANGES, Task.lookup) and not d.identified and d.appointment_id is None:
        identify_or_ask(r)
        return
    if d.task == Task.lookup:
        _tell_upcoming(r)
        return
    if d.task in CHANGES and d.appointment_id is None:
        _ask_which_appointment(r)
        return
    if d.task == Task.cancel:
        agent_said = r.context.conversation.last_exchange()[0]
        if cancel_asked_outright(r.state, r.profile, agent_said, heard, d.appointment_id):
            act_on_confirmation(r, heard)  # "I'll have to cancel that one" said of the one just named
            return
        appointment = _appointment(r, d.appointment_id)
        r.ask(
            Awaiting.confirm,
            f"Just to confirm, you'd like to cancel your {appointment['service'].lower()} on "
            f"{appointment['when']}?",
        )
        return
    if d.task == Task.confirm:
        appointment = _appointment(r, d.appointment_id)
        r.ask(
            Awaiting.confirm,
            f"I have your {appointment['service'].lower()} on {appointment['when']}. Shall I confirm it?",
        )
        return
    if d.task == Task.book and d.service is None:
        names = spoken_list([s.name.lower() for s in r.profile.services])
        r.ask(Awaiting.service, f"What would you like to come in for? We offer {names}.")
        return
    details_given = bool(d.first_name and d.date_of_birth)
    if d.task == Task.book and not d.identified and (not details_given or d.identify_attempts == 0):
        identify_or_ask(r)
        return
    if d.when.is_empty:
        verb = "move it to" if d.task == Task.reschedule else "come in"
        r.ask(Awaiting.when, f"What day and time would you like to {verb}?")
        return
    if d.awaiting == Awaiting.choice and heard.deny:
        search(r, next_options=True)
        return
    search(r)


def resume(r: Reply) -> None:
    """After answering a question, go back to where the task was: the same question again."""
    d = r.dialogue
    if d.awaiting == Awaiting.choice and d.offered:
        r.ask(Awaiting.choice, "As for your appointment,", _offer_question(d.offered))
    elif d.awaiting == Awaiting.confirm and d.chosen:
        r.ask(Awaiting.confirm, f"So, shall I go ahead with {d.chosen['when']}?")
    else:
        continue_task(r, NOTHING_SAID)


def identify_or_ask(r: Reply) -> None:
    """Look the caller up once their name and birth date are known; else ask for what is missing."""
    d = r.dialogue
    if d.first_name and d.last_name and d.date_of_birth:
        d.identify_attempts += 1
        r.use(
            "identify_patient", first_name=d.first_name, last_name=d.last_name, date_of_birth=d.date_of_birth
        )
        return
    d.identity_asks += 1
    if d.urgent and d.identity_asks > URGENT_IDENTITY_ASKS:
        urgent_to_clinical_team(r, "I'm sorry, I'm having trouble getting your details.")
        return
    if d.identity_asks > MAX_IDENTITY_ASKS:
        r.speak("I'm sorry, I'm having trouble getting your details.")
        offer_human(r)
        return
    if d.first_name and d.last_name:
        missing = "your date of birth"
    elif d.date_of_birth:
        missing = "your first and last name"
    else:
        missing = "your first and last name and your date of birth"
    r.ask(Awaiting.identity, f"Can I have {missing}, please?")


def _tell_upcoming(r: Reply) -> None:
    d = r.dialogue
    d.task = None
    if not d.upcoming:
        r.ask(Awaiting.anything_else, _NONE_UPCOMING, "Would you like to book one?")
        return
    listed = spoken_list([f"your {a['service'].lower()} on {a['when']}" for a in d.upcoming])
    r.ask(Awaiting.anything_else, f"You have {listed}.", ANYTHING_ELSE)


def _ask_which_appointment(r: Reply) -> None:
    d = r.dialogue
    if not d.upcoming:
        d.task = None
        r.ask(Awaiting.anything_else, _NONE_UPCOMING, "Would you like to book one?")
        return
    named = [a for a in d.upcoming if slot_fits(a, d.existing_when)]
    if len(d.upcoming) == 1 or (not d.existing_when.is_empty and len(named) == 1):
        appointment = (named if len(named) == 1 else d.upcoming)[0]
        d.appointment_id = appointment["appointment_id"]
        if d.task == Task.reschedule:  # which one is moving, said before the new time is asked
            r.speak(f"I see your {appointment['service'].lower()} on {appointment['when']}.")
        continue_task(r, NOTHING_SAID)
        return
    options = spoken_list([f"your {a['service'].lower()} on {a['when']}" for a in d.upcoming], "or")
    r.ask(Awaiting.which_appointment, f"Which appointment: {options}?")


def _pick_appointment(r: Reply, heard: Understanding) -> bool:
    d = r.dialogue
    for index, appointment in enumerate(d.upcoming):
        said = heard.text
        service = appointment["service"].lower()
        weekday = appointment["when"].split(",")[0].lower()
        if heard.option_index in (index, index - len(d.upcoming)) or service in said or weekday in said:
            d.appointment_id = appointment["appointment_id"]
            if not NEW_TIME.search(said):
                d.when = TimePreference()  # the day named was the appointment's, not a new one
            continue_task(r, NOTHING_SAID)
            return True
    return False


def _appointment(r: Reply, handle: str | None) -> dict[str, str]:
    return next(a for a in r.dialogue.upcoming if a["appointment_id"] == handle)


def search(r: Reply, next_options: bool = False) -> None:
    """Ask get_availability for the caller's preference (widened when nothing fit)."""
    d = r.dialogue
    today = r.local_now().date()
    moving = r.state.appointments.get(d.appointment_id or "") if d.task == Task.reschedule else None
    pref = d.when
    if d.same_time and moving is not None and pref.at is None:
        pref = replace(pref, at=moving.start.astimezone(r.profile.tz).time())
    start = max(pref.date_from or today, today)
    end = pref.date_to or start + timedelta(days=DEFAULT_SEARCH_DAYS)
    if pref.earliest and pref.date_from is None:
        start, end = today, today + timedelta(days=DEFAULT_SEARCH_DAYS)
    windowed = pref.part_of_day or pref.after or pref.before or pref.at
    after, before = pref.time_window() if windowed else (None, None)
    # "Around 11" or "at noon": that time itself first, then the hours around it, then any time.
    near = pref.around or pref.at
    widen = d.widened - 1 if near is not None else d.widened
    if near is not None and d.widened == 0:
        after, before = TimePreference(at=near).time_window()
    elif near is not None and d.widened == 1:
        after, before = _hours_around(near)
    if widen >= 1:
        after = before = None  # the caller's time of day did not fit: any time those days
    if widen >= 2:
        end = end + timedelta(days=WIDEN_DAYS * (widen - 1))
    arguments: dict[str, Any] = {
        "service": d.service or _current_service(r),
        "date_from": start.isoformat(),
        "date_to": end.isoformat(),
    }
    provider_id = d.provider_id
    if provider_id is None and moving is not None and d.widened < 2:
        provider_id = str(moving.provider_id)  # a moved appointment stays with its provider at first
    if provider_id:
        provider = r.profile.provider_by_id(UUID(provider_id))
        arguments["provider"] = provider.name if provider else None
    if after is not None and before is not None:
        arguments["after"] = after.strftime("%H:%M")
        arguments["before"] = before.strftime("%H:%M")
    if pref.weekdays:
        arguments["weekdays"] = [WEEKDAYS[i] for i in sorted(pref.weekdays)]
    if not next_options and d.widened == 0:
        r.speak("Let me check.")
    r.use("get_availability", **{k: v for k, v in arguments.items() if v is not None})


def offer(r: Reply, slots: list[dict[str, str]]) -> None:
    """Offer the slots found and wait for the caller's pick."""
    r.dialogue.offered = slots
    r.ask(Awaiting.choice, _offer_question(slots))


def _offer_question(slots: list[dict[str, str]]) -> str:
    question = "Would that work?" if len(slots) == 1 else "Which would you prefer?"
    return f"{spoken_offers([s['when'] for s in slots])} {question}"


def _current_service(r: Reply) -> str:
    d = r.dialogue
    if d.appointment_id:
        return _appointment(r, d.appointment_id)["service"]
    return r.profile.services[0].slug


def choose(r: Reply, heard: Understanding) -> bool:
    """Pick the slot the caller chose among those offered; False when they chose none."""
    d = r.dialogue
    chosen: dict[str, str] | None = None
    # Picked by its place, time or day: as sure as a yes, by the tool runner's own reading of a pick.
    picked = picked_slot(r.state, heard, r.profile)
    if picked is not None:
        chosen = next((s for s in d.offered if s["slot_id"] == picked), None)
    elif heard.option_index is not None and -len(d.offered) <= heard.option_index < len(d.offered):
        chosen = d.offered[heard.option_index]
    elif heard.when.at is not None or heard.when.date_from is not None:
        matches = [s for s in d.offered if slot_fits(s, heard.when)]
        chosen = matches[0] if len(matches) == 1 else None
    elif hour := _HOUR_SAID.search(heard.text):
        said = clock_time(int(hour.group(1)))
        at_hour = [s for s in d.offered if _in_hour(s, said)]
        if not at_hour:
            # "Three's perfect, yes" to 8 AM: no yes to the offer, a wish for 3 o'clock.
            d.when, d.widened = replace(d.when, at=None, around=said, after=None, before=None), 0
            return False
        chosen = at_hour[0]  # "eleven, yes": the one in the 11 o'clock hour
    elif heard.affirm:
        # "Yes" to several times: the first (the earliest); the booking's words then name it.
        chosen = d.offered[0]
    if chosen is None:
        return False
    d.chosen = chosen
    if heard.affirm or picked == chosen["slot_id"]:
        # The offer named the slot (day, date, time, provider): a yes to it, or picking it by its
        # place or time, is the caller's confirmation, as the tool runner checks, so the change is
        # made now. "Eleven" for an 11:15 slot is read back first.
        act_on_confirmation(r, heard)
        return True
    verb = "move your appointment to" if d.task == Task.reschedule else "book"
    service = r.profile.service_by_slug(d.service or "")
    name = service.name.lower() if service else "visit"
    what = "" if d.task == Task.reschedule else f"{'an' if name[0] in 'aeiou' else 'a'} {name} on "
    r.ask(Awaiting.confirm, f"Just to confirm, I'll {verb} {what}{chosen['when']}. Is that right?")
    return True


def act_on_confirmation(r: Reply, heard: Understanding) -> None:
    """The caller said yes to the read-back: make the change (and, on "yes, that's all, thanks",
    say goodbye once the tool's result is in)."""
    d = r.dialogue
    d.goodbye_after_action = heard.has(Intent.goodbye)
    if d.task == Task.cancel:
        r.use("cancel_appointment", appointment_id=d.appointment_id)
    elif d.task == Task.confirm:
        r.use("confirm_appointment", appointment_id=d.appointment_id)
    elif d.task == Task.reschedule and d.chosen:
        r.use("reschedule_appointment", appointment_id=d.appointment_id, slot_id=d.chosen["slot_id"])
    elif d.task == Task.book and d.chosen:
        patient = {"first_name": d.first_name, "last_name": d.last_name, "date_of_birth": d.date_of_birth}
        r.use("book_appointment", slot_id=d.chosen["slot_id"], patient=patient)
    else:
        r.ask(Awaiting.anything_else, "Okay.", ANYTHING_ELSE)


def reconsider(r: Reply, heard: Understanding) -> None:
    """The caller said no to the read-back, or named another time."""
    d = r.dialogue
    if d.task in (Task.cancel, Task.confirm):
        d.task = None
        r.ask(Awaiting.anything_else, "No problem, I'll leave it as it is.", ANYTHING_ELSE)
        return
    d.chosen = None
    if heard.when.is_empty and heard.service is None and heard.provider_id is None:
        r.ask(Awaiting.when, "No problem. What day or time would work better?")
        return
    d.widened = 0
    search(r)


# "Later that same day", "keep it on Thursday but in the afternoon": the moved appointment's own day.
SAME_DAY_AS_APPOINTMENT = re.compile(
    r"\b(same day|that day)\b|"
    r"\b(keep|leave) it on (the same day|that day|(mon|tues|wednes|thurs|fri|satur|sun)day)\b"
)
# "The Thursday that same week", "the week after": weeks counted from the appointment being moved.
_WEEK_OF_APPOINTMENT = re.compile(
    r"\b(that|the) same week\b|\b(later|earlier) (in )?that week\b|\b(the )?(week after|following week)\b|"
    r"\b(push|move|put|bump) it (back |out )?(by )?(a|one) week\b|\ba week later\b"
)
_ONE_WEEK_ON = re.compile(r"\b(a|one) week\b|\bweek later\b")


def week_of_moved_appointment(r: Reply, heard: Understanding) -> None:
    """On a move, a week named from the appointment ("that same week", "the week after") is the
    appointment's week or the next, and a weekday said with it falls in that week; "later that
    same day" is the appointment's day."""
    d = r.dialogue
    moving_asked = Task.reschedule in (d.task, _task_of(heard))  # "instead of cancelling, move it"
    moving = r.state.appointments.get(d.appointment_id or "") if moving_asked else None
    if moving is None:
        return
    day = moving.start.astimezone(r.profile.tz).date()
    named = _WEEK_OF_APPOINTMENT.search(heard.text)
    if named is None:
        if SAME_DAY_AS_APPOINTMENT.search(heard.text):
            d.when = replace(d.when, date_from=day, date_to=day, weekdays=None)
        return
    if _ONE_WEEK_ON.search(named.group(0)):  # "push it back a week": the same weekday, a week on
        d.when = replace(
            d.when, date_from=day + timedelta(days=7), date_to=day + timedelta(days=7), weekdays=None
        )
        return
    monday = day - timedelta(days=day.weekday())
    if "after" in named.group(0) or "following" in named.group(0):
        monday += timedelta(days=7)
    wish = heard.when
    weekdays = sorted(wish.weekdays) if wish.weekdays else []
    weekday = wish.day.weekday() if wish.day else (weekdays[0] if len(weekdays) == 1 else None)
    if weekday is not None:
        start = end = monday + timedelta(days=weekday)
    else:
        start, end = monday, monday + timedelta(days=6)
    d.when = replace(d.when, date_from=start, date_to=end, weekdays=None)


def _hours_around(clock: time) -> tuple[time, time]:
    """The window from an hour and a half before `clock` to an hour and a half after it."""
    start = datetime.combine(datetime.min.date(), clock)
    early = max(start - timedelta(minutes=90), start.replace(hour=0, minute=0))
    return early.time(), min(start + timedelta(minutes=91), start.replace(hour=23, minute=59)).time()


def _task_of(heard: Understanding) -> Task | None:
    return Task(heard.task.value) if heard.task is not None else None


def _in_hour(slot: dict[str, str], hour: time) -> bool:
    """Whether a spoken slot starts within that clock hour ("at 11 AM", "at 11:15 AM", "at noon")."""
    number, meridiem = hour.hour % 12 or 12, "AM" if hour.hour < 12 else "PM"
    noon = "|noon" if hour.hour == 12 else ""
    return re.search(rf"\bat ({number}(:\d\d)? {meridiem}{noon})\b", slot["when"]) is not None


def slot_fits(slot: dict[str, str], when: TimePreference) -> bool:
    """Whether a spoken slot description ("Tuesday, December 1st at 9 AM with ...") fits a preference."""
    text = slot["when"].lower()
    if when.at is not None and f"at {speak_time(when.at).lower()}" not in text:
        return False
    if when.day is not None:
        return speak_date(datetime.combine(when.day, datetime.min.time())).lower() in text
    return True
