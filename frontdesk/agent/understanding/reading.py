"""One caller utterance read whole: every intent, and every detail it gives (service, provider,
when, name, date of birth, carrier, urgency), with the caller's own corrections applied.

Callers correct themselves mid-sentence ("an exam Wednesday, sorry, I mean Thursday"; "with Dr.
Patel, no wait, Dr. Chen"). The utterance is cut into segments at sentence ends and correction
words, each segment is read on its own, and a later segment's details replace an earlier one's:
the last correction wins. Intents, yes/no and urgency are read from the whole utterance.
"""

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from frontdesk.agent.clinic_profile import ClinicProfile
from frontdesk.agent.understanding.carriers import carrier_named
from frontdesk.agent.understanding.intents import (
    Intent,
    affirms,
    denies,
    normalize,
    option_index,
    score_intents,
    wants_repeat,
)
from frontdesk.agent.understanding.names import extract_name
from frontdesk.agent.understanding.services import match_provider, match_service
from frontdesk.agent.understanding.urgency import Urgency, read_urgency
from frontdesk.agent.understanding.when import (
    TimePreference,
    clock_time,
    parse_date_of_birth,
    parse_when,
    without_birth_dates,
)


@dataclass(frozen=True)
class ClinicVocabulary:
    """The clinic's own words an utterance is read against."""

    services: dict[str, str] = field(default_factory=dict)  # slug -> name
    providers: dict[str, str] = field(default_factory=dict)  # id -> full name
    accepted_carriers: tuple[str, ...] = ()

    @classmethod
    def of(cls, profile: ClinicProfile) -> "ClinicVocabulary":
        """The vocabulary of a clinic's profile."""
        return cls(
            services={s.slug: s.name for s in profile.services},
            providers={str(p.id): p.name for p in profile.providers},
            accepted_carriers=tuple(profile.accepted_insurance),
        )


# Where a caller starts over: a sentence's end, or a correction word ("sorry", "I mean", "no wait").
# "Dr." and "a.m." are not sentence ends.
_SEGMENT_BREAK = re.compile(
    r"(?<!\bdr)(?<!\bmr)(?<!\bms)(?<!\bmrs)(?<!\bst)\.(?!\d)|[?!;\u2026\u2014]"
    r"|\b(?:sorry|i mean|i meant|actually|no wait|wait|scratch that|make that|or rather|correction|"
    r"change that to|let me rephrase)\b|,\s*no\s*,|\bno no\b"
)
_MERIDIEM_DOTS = re.compile(r"\b([ap])\.\s?m\.")
_WEEKDAY_WORD = re.compile(r"\b(mon|tues|wednes|thurs|fri|satur|sun)day|\b(today|tomorrow)\b")
# "Is Delta okay?", "you take Cigna?": a carrier asked about, not just named.
_ASKS = re.compile(r"\b(is|are|do|does|take|accept|ok|okay|fine|good|covered|network|work with)\b")
# "Dr. Chen, or, no, whoever's free": the provider named is taken back.
_ANY_PROVIDER = re.compile(
    r"\b(whoever|anyone|anybody|any dentist|any doctor|doesn't matter who|don't mind who)\b"
)
_DAY_AFTER = re.compile(r"^\W*(no\W+)?(the )?day after\W*$")
_BIRTH_CUE = re.compile(r"\b(born|birth|birthday|dob)\b")
# "My filling coming up": a visit named that is already booked, asked about, not asked for.
BOOKED_VISIT = re.compile(
    r"\b(coming up|already (booked|scheduled)|i'm booked|i am booked|scheduled for|"
    r"(i've got|i got|i have) an? \w+ (scheduled|schedule|booked))\b"
)
_SAME_TIME = re.compile(r"\b(same time|the same hour|at that time again)\b")
# A piece that is a bare hour, as a correction says it: "make that 2", "no, 3".
_LONE_HOUR = re.compile(r"^\W*(?:no\W+)?(1[0-2]|[1-9])\b(?![:/])(?!\s*(st|nd|rd|th)\b)")
# The intents a question belongs to: answered first, then the task in hand resumes.
QUESTIONS = (
    Intent.services,
    Intent.hours,
    Intent.location,
    Intent.insurance,
    Intent.bot_question,
    Intent.why_question,
    Intent.visit_length,
    Intent.my_appointment,
)
TASKS = (Intent.book, Intent.reschedule, Intent.cancel, Intent.confirm_appointment)
CHANGES = (Intent.reschedule, Intent.cancel, Intent.confirm_appointment)
# "move it to Friday", "for next week", "can we do Thursday instead": what follows is the new time,
# what comes before names the appointment ("my Thursday cleaning").
NEW_TIME = re.compile(
    r"\b(to|for|into|until|instead|can we do|could we do|how about|what about|maybe|sometime|ideally|"
    r"preferably|perhaps)\s+(the\s+)?(next|this|"
    r"following|\d|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday|morning|afternoon|"
    r"evening|early|later|week)"
)
# "I can't make it on Tuesday": the day is the appointment's, not one ruled out.
_CANNOT_COME = re.compile(r"\b(can't|cannot|won't|will not|not) (make it|make|be coming|come|coming)\b")


@dataclass
class Understanding:
    """Everything the deterministic brain takes from one caller utterance."""

    text: str
    intents: dict[Intent, float] = field(default_factory=dict)
    when: TimePreference = field(default_factory=TimePreference)  # the time wished for
    # A change that names its appointment and the new time ("move my Thursday cleaning to Friday"):
    # the appointment's time, and whether a new time was said.
    existing_when: TimePreference = field(default_factory=TimePreference)
    new_time: bool = False
    affirm: bool = False
    deny: bool = False
    wants_repeat: bool = False
    option_index: int | None = None  # "the second one" -> 1; "the last one" -> -1
    date_of_birth: date | None = None
    name: tuple[str, str] | None = None  # (first, last)
    service: str | None = None  # slug
    provider_id: str | None = None
    carrier: str | None = None
    urgency: Urgency = Urgency.none
    same_time: bool = False  # "Friday instead, same time": the moved appointment's time

    @property
    def primary(self) -> Intent | None:
        """What to act on first: safety whenever present (distress over a dental urgency gives way
        to it), then a clinical question, then a clear question (answered before any task), then
        the strongest intent."""
        for urgent in (Intent.emergency, Intent.opt_out, Intent.distress):
            if urgent == Intent.distress and self.urgency == Urgency.dental:
                continue  # upset about a broken tooth: the soonest slot helps most
            if self.intents.get(urgent, 0) >= 3:
                return urgent
        if self.has(Intent.clinical, 4):
            return Intent.clinical  # "do I need to stop my blood thinners before my filling?"
        questions = {i: s for i, s in self.intents.items() if i in QUESTIONS and s >= 3}
        handoffs = [self.intents.get(i, 0) for i in (Intent.billing, Intent.clinical, Intent.human)]
        if questions and max(handoffs, default=0) < max(questions.values()):
            return _strongest(questions)
        best = _strongest(self.intents)
        return best if best is not None and self.intents[best] >= 2 else None

    @property
    def task(self) -> Intent | None:
        """The appointment task the utterance asks for, if any, whatever else it asks."""
        tasks = {i: s for i, s in self.intents.items() if i in TASKS and s >= 2}
        return _strongest(tasks)

    def has(self, intent: Intent, threshold: float = 2) -> bool:
        """Whether an intent is present with at least `threshold` evidence."""
        return self.intents.get(intent, 0) >= threshold


def _strongest(scores: dict[Intent, float]) -> Intent | None:
    order = list(Intent)
    return max(scores, key=lambda i: (scores[i], -order.index(i))) if scores else None


def segments(utterance: str) -> list[str]:
    """The utterance cut where the caller starts over; empty pieces dropped."""
    text = _MERIDIEM_DOTS.sub(r"\1m", utterance.replace("\u2019", "'").lower())
    return [piece for piece in _SEGMENT_BREAK.split(text) if piece and piece.strip(" ,")]


def _a_providers_name(name: tuple[str, str], words: ClinicVocabulary) -> bool:
    said = {part.lower() for part in name}
    return any(said <= set(full.lower().replace(".", "").split()) for full in words.providers.values())


def _last(values: list[str | None]) -> str | None:
    return next((v for v in reversed(values) if v is not None), None)


def understand(
    utterance: str, now: datetime, vocabulary: ClinicVocabulary | None = None, name_asked: bool = False
) -> Understanding:
    """Read one caller utterance whole (see the module's docstring); `name_asked` when it answers
    the agent's "can I have your name?"."""
    words = vocabulary or ClinicVocabulary()
    text = normalize(utterance)
    born = parse_date_of_birth(utterance, now.date())
    name = extract_name(utterance, birth_date_given=born is not None, name_asked=name_asked)
    if name is not None and _a_providers_name(name, words):
        name = None  # "can I see Sarah Kim again": the hygienist, not the caller
    scores = score_intents(_without_name(text, name))
    urgency = read_urgency(text)
    if urgency == Urgency.emergency:
        scores[Intent.emergency] = max(scores.get(Intent.emergency, 0), 5)
    elif urgency == Urgency.dental:
        scores[Intent.dental_urgent] = 4
    pieces = segments(utterance)
    _last_task_wins(scores, pieces)
    when, after_birth_date = TimePreference(), False
    for piece in pieces:
        before = when
        when = _corrected(when, piece, now, born if after_birth_date else None)
        # Until the caller speaks of the visit again, a bare date may still correct the birth date.
        birth = _BIRTH_CUE.search(piece) is not None or parse_date_of_birth(piece, now.date()) is not None
        after_birth_date = birth or (after_birth_date and when == before)
    deny = denies(text)
    heard = Understanding(
        text=text,
        intents=scores,
        when=when,
        affirm=not deny and affirms(utterance),
        deny=deny,
        wants_repeat=wants_repeat(text),
        option_index=option_index(text),
        date_of_birth=born,
        name=name,
        service=_last([match_service(p, words.services) for p in pieces]) if words.services else None,
        provider_id=_provider(pieces, name, words),
        carrier=_last([carrier_named(normalize(p), list(words.accepted_carriers)) for p in pieces])
        if carrier_named(text, list(words.accepted_carriers)) is not None
        else None,
        urgency=urgency,
        same_time=_SAME_TIME.search(text) is not None,
    )
    _implied_intents(heard)
    if any(heard.has(i) for i in CHANGES):
        _split_change(heard, utterance, now)
    return heard


def _split_change(heard: Understanding, utterance: str, now: datetime) -> None:
    """For a change, the appointment named (before "to Friday") apart from the new time (after)."""
    normalized = normalize(_MERIDIEM_DOTS.sub(r"\1m", utterance.lower()))
    boundary = NEW_TIME.search(normalized)
    if boundary is None:
        if _CANNOT_COME.search(heard.text):  # "I can't make it on Tuesday": Tuesday is the appointment
            heard.existing_when = parse_when(_CANNOT_COME.sub(" ", heard.text), now)
            heard.when = TimePreference()
        return
    before, after = normalized[: boundary.start()], normalized[boundary.start() :]
    heard.existing_when = parse_when(_CANNOT_COME.sub(" ", before), now)
    heard.when = parse_when(after, now)
    heard.new_time = True


def _corrected(earlier: TimePreference, piece: str, now: datetime, born: date | None) -> TimePreference:
    """The wish for a time once `piece` is said after `earlier`. A piece right after a birth date
    (`born` given) that only corrects it ("May 5th, 1991... no, the 15th") says nothing about the
    visit; a lone hour ("at 10, make that 2") replaces the time given before it."""
    wish = parse_when(without_birth_dates(piece), now)
    day = wish.date_from
    only_a_day = (
        day is not None
        and day == wish.date_to
        and wish.weekdays is None
        and wish.at is None
        and wish.part_of_day is None
        and not _WEEKDAY_WORD.search(piece)
    )
    if (
        born is not None
        and only_a_day
        and day is not None
        and (day.day == born.day or day.month == born.month)
    ):
        return earlier
    if wish.is_empty and earlier.date_from is not None and _DAY_AFTER.search(piece):
        later = earlier.date_from + timedelta(days=1)
        return replace(earlier, date_from=later, date_to=later)
    if wish.is_empty and earlier.at is not None and (m := _LONE_HOUR.search(piece)):
        return replace(earlier, at=clock_time(int(m.group(1))))
    return earlier.merge(wish)


def _provider(pieces: list[str], name: tuple[str, str] | None, words: ClinicVocabulary) -> str | None:
    """The provider the last piece that speaks of one names; "whoever's free" takes it back. The
    caller's own name names no provider ("Ravi Patel, born ...")."""
    if not words.providers:
        return None
    for piece in reversed(pieces):
        if (named := match_provider(_without_name(normalize(piece), name), words.providers)) is not None:
            return named
        if _ANY_PROVIDER.search(normalize(piece)):
            return None
    return None


def _without_name(text: str, name: tuple[str, str] | None) -> str:
    """The text with the caller's name taken out: "Yolanda Price" asks nothing about prices."""
    if name is None:
        return text
    return re.sub(r"\b(" + "|".join(re.escape(part.lower()) for part in name) + r")\b", " ", text)


def _last_task_wins(scores: dict[Intent, float], pieces: list[str]) -> None:
    """ "Cancel it, actually, can I move it instead?": the task of the last piece that names one."""
    named = [
        _strongest({i: s for i, s in score_intents(normalize(p)).items() if i in TASKS and s >= 3})
        for p in pieces
    ]
    tasks = [task for task in named if task is not None]
    if len(set(tasks)) > 1:
        scores[tasks[-1]] = max(scores.values()) + 1


def _implied_intents(heard: Understanding) -> None:
    """What the caller plainly wants without saying the verb: "Dr. Chen, Saturday morning, a
    filling" is a booking, "Is Delta okay?" an insurance question."""
    scores = heard.intents
    # "Is Delta okay?" asks; a bare "Delta." only answers a question.
    if heard.carrier is not None and _ASKS.search(heard.text) is not None:
        scores[Intent.insurance] = max(scores.get(Intent.insurance, 0), 3)
    details = (heard.provider_id, heard.name, heard.date_of_birth)
    if (
        heard.service is not None
        and not BOOKED_VISIT.search(heard.text)
        and (any(d is not None for d in details) or not heard.when.is_empty)
        and not any(scores.get(i, 0) >= 2 for i in TASKS)
        # "It's John Smith, when is my cleaning?" asks about a visit booked, not for one.
        and not any(scores.get(i, 0) >= 3 for i in (Intent.my_appointment, Intent.visit_length))
    ):
        scores[Intent.book] = max(scores.get(Intent.book, 0), 3)
