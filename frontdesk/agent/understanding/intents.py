"""What a caller wants, for the deterministic brain: intents and the details that come with them.

Each intent is recognised from cue words and patterns scored together rather than from whole
phrases, so unseen wordings still land; key words are matched fuzzily to absorb
speech-to-text errors ("reschedual", "cleening"). Negations ("I don't want to cancel") suppress
the cue that follows them.
"""

import difflib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from frontdesk.agent.understanding.numbers import normalize_numbers
from frontdesk.agent.understanding.when import (
    MONTHS,
    WEEKDAYS,
    TimePreference,
    parse_date_of_birth,
    parse_when,
)


class Intent(StrEnum):
    """The reasons a caller speaks, as the fallback brain routes them."""

    book = "book"
    reschedule = "reschedule"
    cancel = "cancel"
    confirm_appointment = "confirm_appointment"
    hours = "hours"
    location = "location"
    insurance = "insurance"
    billing = "billing"
    clinical = "clinical"
    emergency = "emergency"
    distress = "distress"
    human = "human"
    opt_out = "opt_out"
    goodbye = "goodbye"
    wrong_number = "wrong_number"


# Cue patterns per intent, with weights. Patterns are regular expressions over the normalized
# utterance; a word in KEYWORDS below is also recognised when misheard.
CUES: dict[Intent, list[tuple[str, float]]] = {
    Intent.book: [
        (
            r"\b(book|booking|schedule|make|set up|get|need|want|like) (an? |me |in |my )?(new )?appointment",
            3,
        ),
        (r"\b(book|schedule)\b", 2),
        (r"\b(come in|get in|be seen|see (the|a|dr|doctor)|fit me in|squeeze me in)\b", 2),
        (
            r"\b(do you have|have you got|is there|are there)\b.{0,20}"
            r"\b(anything|openings?|availability|slots?)\b",
            2,
        ),
        (r"\b(teeth|tooth) (cleaned|cleaning|checked|looked at|fixed|filled)\b", 3),
        # "I need a cleaning", "can I get a checkup", "set up a consultation": a visit asked for by
        # name (but not "I need to cancel my cleaning").
        (
            r"\b(get|need|want|like|set up|due for)\b(?:(?!canc|reschedul|mov|chang|push)[^.?!]){0,20}"
            r"\b(cleaning|check-?up|exam|examination|consultation|consult|filling|whitening)\b",
            3,
        ),
        (r"\b(new patient|first visit|haven't been)\b", 1),
        (r"\bappointment\b", 1),
        (r"\b(cleaning|checkup|check up|exam|filling|consultation|cavity)\b", 1),
        (r"\b(available|availability|openings?|any time|anything (on|for|this|next))\b", 1),
    ],
    Intent.reschedule: [
        (r"\b(reschedule|rebook|re-?schedule|re book|re schedule)\b", 4),
        (r"\b(move|change|push|switch|shift|bump)\b.{0,30}\b(appointment|it|time|date|visit)\b", 3),
        (r"\b(different|another|other|new|later|earlier) (day|date|time)\b", 2),
        (r"\b(can't|cannot|won't be able to|unable to) make (it|my)\b", 2),
    ],
    Intent.cancel: [
        (r"\b(cancel(l?ing|l?ed|lation)?|cancle|cancell)\b", 4),
        (r"\b(call off|don't need|no longer need|won't (be )?(coming|come)|not coming)\b", 3),
        (r"\b(drop|remove|delete)\b.{0,20}\bappointment\b", 3),
    ],
    Intent.confirm_appointment: [
        (r"\b(confirm|confirming|i'll be there|we'll be there|still coming|see you then)\b", 3),
    ],
    Intent.hours: [
        (r"\b(hours|opening times?|open|close|closing|closed)\b", 2),
        (r"\bwhat time do you\b", 3),
        (r"\b(are you|you guys|is the (office|clinic)) (open|closed)\b", 3),
    ],
    Intent.location: [
        (r"\b(where are you|where is|address|located|location|directions|parking|get there|find you)\b", 3),
    ],
    Intent.insurance: [
        (r"\binsurance\b", 3),
        (r"\b(do you|does the clinic) (take|accept)\b", 2),
        (r"\b(in network|in-network|out of network|covered|coverage|my plan|carrier|medicaid|medicare)\b", 2),
        (r"\b(delta dental|cigna|aetna|metlife|guardian|humana|united ?healthcare|blue cross|bcbs)\b", 2),
    ],
    Intent.billing: [
        (r"\b(bill|bills|billing|billed|invoice|statement|balance|charge|charged|charges|refund)\b", 3),
        (r"\b(payment|pay|paid|copay|co-pay|owe|price|cost|costs|how much)\b", 2),
        (r"\b(collections?|overcharged|double charged)\b", 3),
    ],
    Intent.clinical: [
        (r"\b(is it normal|should i (take|be worried|worry|rinse|stop)|is that normal|side effects?)\b", 3),
        (r"\b(medication|medicine|prescription|antibiotics?|ibuprofen|advil|tylenol|painkillers?)\b", 2),
        (r"\b(after (my|the) (extraction|filling|procedure|surgery|root canal)|stitches)\b", 2),
        (r"\b(nurse|medical question|clinical question|question for the (dentist|doctor|hygienist))\b", 3),
    ],
    Intent.emergency: [
        (r"\b(can't|cannot|can not) breathe\b|\btrouble breathing\b|\bchoking\b", 5),
        (r"\b(chest pain|heart attack|stroke|unconscious|passed out|fainted|seizure)\b", 5),
        (
            r"\b(bleeding (won't|will not|doesn't) stop|won't stop bleeding|bleeding heavily|"
            r"a lot of blood)\b",
            5,
        ),
        (r"\b(swelling|swollen)\b.{0,30}\b(throat|eye|neck|can't swallow)\b", 4),
        (r"\b(emergency|911|ambulance)\b", 3),
        (r"\b(overdose|kill myself|suicide|end my life|hurt myself)\b", 5),
    ],
    Intent.distress: [
        (r"\b(panicking|panic|terrified|scared|frightened|crying|desperate|freaking out)\b", 3),
        (r"\b(unbearable|excruciating|agony|worst pain|severe pain|so much pain|really bad pain)\b", 3),
        (r"\b(please help|help me|i don't know what to do)\b", 2),
    ],
    Intent.human: [
        (r"\b(real|actual|live) (person|human|people)\b", 4),
        (r"\b(human|receptionist|operator|representative|someone (else|real)|a person|front desk)\b", 3),
        (r"\b(talk|speak) (to|with) (someone|somebody|a (person|human|manager|staff))\b", 4),
        (r"\b(transfer me|put me through|connect me)\b", 3),
        (r"\b(manager|staff member|office manager)\b", 2),
    ],
    Intent.opt_out: [
        (r"\b(stop calling|don't call|do not call|quit calling|no more calls|take me off|remove me)\b", 5),
        (r"\b(stop (texting|sending|messaging)|don't text|do not text|no more (texts|text messages))\b", 5),
        (r"\b(unsubscribe|opt out|opt-out)\b", 5),
        (r"^stop$", 5),
    ],
    Intent.goodbye: [
        (r"\b(bye|goodbye|good bye|have a (good|nice|great) (day|one|evening|night)|take care)\b", 3),
        (r"\b(that's all|that is all|that's it|that's everything|nothing else|no,? that's it|i'm good)\b", 3),
        (r"^(no )?(thanks|thank you)( so much| very much)?$", 2),
    ],
    Intent.wrong_number: [
        (r"\b(wrong number|dialed the wrong|dialled the wrong|misdialed|misdialled)\b", 4),
        (r"\b(didn't mean to call|called by mistake|meant to call)\b", 3),
    ],
}

# Words matched fuzzily against misheard tokens, mapped to their canonical spelling.
KEYWORDS = sorted(
    {
        "appointment",
        "reschedule",
        "cancel",
        "cancellation",
        "cleaning",
        "checkup",
        "insurance",
        "billing",
        "consultation",
        "filling",
        "emergency",
        "receptionist",
        "representative",
        "available",
        "availability",
        "prescription",
        "medication",
        "tomorrow",
        "schedule",
        "unsubscribe",
        "directions",
        "address",
        "hygienist",
        "dentist",
        "examination",
    }
)
_AFFIRM = re.compile(
    r"^(yes|yeah|yep|yup|ya|yea|sure|correct|right|ok|okay|alright|all right|perfect|great|absolutely|"
    r"definitely|of course|sounds good|that works|works for me|that's (right|correct|fine|good|perfect)|"
    r"please do|go ahead|book it|do it|let's do (it|that)|that one|i'll take it|mm-?hmm|uh-?huh)\b"
)
_AFFIRM_ANYWHERE = re.compile(
    r"\b(yes|yeah|sounds good|that works|works for me|go ahead|book it|please do)\b"
)
_DENY = re.compile(
    r"^(no|nope|nah|not really|neither|none)\b|\b(doesn't work|don't work|won't work|can't do|"
    r"none of (those|them|these)|neither of|not (those|that one|good)|other (times|options|days)|"
    r"something else|anything else (later|earlier)|that's not right|that's wrong|wrong)\b"
)
_NEGATION = re.compile(r"\b(don't|do not|not|never|no|didn't|won't|wouldn't)\s+(\w+\s+){0,2}$")
_REPEAT = re.compile(
    r"^(sorry |i'm sorry )?(what|sorry|pardon|huh|excuse me)( was that| did you say)?$|"
    r"\b(come again|say that again|repeat (that|it|yourself|the)|"
    r"didn't (catch|hear|get) (that|it|you|what))\b"
)
_ORDINALS = {"1st": 0, "2nd": 1, "3rd": 2, "last": -1, "earlier": 0, "earliest": 0, "later": -1}


def _fix_mishearings(text: str) -> str:
    """Replace tokens that look like a misheard key word by the key word."""
    words = text.split(" ")
    for i, word in enumerate(words):
        if len(word) >= 6 and word not in KEYWORDS and word.isalpha():
            match = difflib.get_close_matches(word, KEYWORDS, n=1, cutoff=0.84)
            if match:
                words[i] = match[0]
    return " ".join(words)


def normalize(utterance: str) -> str:
    """Lower-case, digits for numbers, plain apostrophes, single spaces, misheard key words fixed."""
    text = normalize_numbers(utterance.replace("\u2019", "'"))
    text = re.sub(r"[^\w':/\-+ ]+", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    return _fix_mishearings(text)


def _negated(text: str, start: int) -> bool:
    return bool(_NEGATION.search(text[:start]))


def score_intents(text: str) -> dict[Intent, float]:
    """Sum of the weights of each intent's cues found in normalized text (negated cues skipped)."""
    scores: dict[Intent, float] = {}
    for intent, cues in CUES.items():
        total = 0.0
        for pattern, weight in cues:
            for match in re.finditer(pattern, text):
                if intent in (Intent.book, Intent.cancel, Intent.reschedule) and _negated(
                    text, match.start()
                ):
                    continue
                total += weight
                break
        if total:
            scores[intent] = total
    return scores


@dataclass
class Understanding:
    """Everything the deterministic brain takes from one caller utterance."""

    text: str
    intents: dict[Intent, float] = field(default_factory=dict)
    when: TimePreference = field(default_factory=TimePreference)
    affirm: bool = False
    deny: bool = False
    wants_repeat: bool = False
    option_index: int | None = None  # "the second one" -> 1; "the last one" -> -1
    date_of_birth: date | None = None
    name: tuple[str, str] | None = None  # (first, last)

    @property
    def primary(self) -> Intent | None:
        """The strongest intent, with safety intents first whenever present."""
        for urgent in (Intent.emergency, Intent.opt_out, Intent.distress):
            if self.intents.get(urgent, 0) >= 3:
                return urgent
        if not self.intents:
            return None
        best = max(self.intents.items(), key=lambda item: (item[1], -list(Intent).index(item[0])))
        return best[0] if best[1] >= 2 else None

    def has(self, intent: Intent, threshold: float = 2) -> bool:
        """Whether an intent is present with at least `threshold` evidence."""
        return self.intents.get(intent, 0) >= threshold


_NAME_INTRO = re.compile(
    r"\b(?:my name is|my name's|name is|this is|i am|i'm|it's|its|it is|patient is|for)\s+"
    r"([a-z][a-z'\-]+)\s+([a-z][a-z'\-]+)"
)
_CALENDAR_WORDS = {*MONTHS, *WEEKDAYS, "born", "birthday"}
_BIRTH_DATE_WORDS = {*MONTHS, "born", "birthday"}  # what follows a name given with a birth date
_NOT_NAMES = {
    "calling",
    "looking",
    "trying",
    "wondering",
    "hoping",
    "just",
    "going",
    "not",
    "a",
    "the",
    "an",
    "here",
    "fine",
    "good",
    "sorry",
    "new",
    "still",
    "available",
    "free",
    "interested",
    "booked",
    "scheduled",
    "on",
    "at",
    "in",
    "about",
    "to",
    "really",
    "very",
    "so",
    "having",
    "okay",
    # "I know it's late", "I'm afraid...", "it's my tooth": not introductions.
    "late",
    "early",
    "afraid",
    "sure",
    "me",
    "my",
    "that",
    "this",
    "it",
    "your",
    "kind",
    "urgent",
    "worried",
}


def extract_name(utterance: str) -> tuple[str, str] | None:
    """(first, last) from "my name is Ana Lopez", "this is John Smith", or "Ana Lopez, March 3rd"."""
    text = re.sub(r"[^\w'\- ]+", " ", utterance.lower())
    text = re.sub(r"\s+", " ", text).strip()
    if m := _NAME_INTRO.search(text):
        first, last = m.group(1), m.group(2)
        if first not in _NOT_NAMES and last not in _NOT_NAMES:
            return first.title(), last.title()
    # "Ana Lopez, March 3rd 1988": two leading words before a date of birth.
    if m := re.match(r"^(?:yes |yeah |sure |ok |okay )?([a-z][a-z'\-]+) ([a-z][a-z'\-]+)\b", text):
        rest = text[m.end() :]
        first, last = m.group(1), m.group(2)
        # "Hanalopas, March 3rd": a misheard name then the birth date's month is not a full name.
        fillers = _NOT_NAMES | {
            "my",
            "name",
            "is",
            "hi",
            "hello",
            "uh",
            "um",
            "this",
            "i",
            "i'd",
            "we",
            "you",
        }
        if (
            first not in fillers
            and last not in fillers | _CALENDAR_WORDS
            and (re.search(r"\d", rest) or _BIRTH_DATE_WORDS.intersection(rest.split()))
        ):
            return first.title(), last.title()
    return None


_MENTIONS_TEXTS = re.compile(r"\b(text|texts|texting|sms|messages?)\b")
_MENTIONS_CALLS = re.compile(r"\b(call|calls|calling|phone|phoning|ringing)\b")
_MENTIONS_EVERYTHING = re.compile(
    r"\b(unsubscribe|everything|all (of it|contact|communication)|any more contact)\b"
)


def opt_out_channel(utterance: str) -> Literal["calls", "sms", "all"]:
    """What an opt-out stops: "sms" when only texts are named, "all" for texts and calls (or
    everything), else "calls" (said on a phone call, "stop" means the calls)."""
    text = normalize(utterance)
    texts = bool(_MENTIONS_TEXTS.search(text))
    if _MENTIONS_EVERYTHING.search(text) or (texts and _MENTIONS_CALLS.search(text)):
        return "all"
    return "sms" if texts else "calls"


# "Whatever's soonest", "the earliest", "first available": the first slot offered (they are in order).
_SOONEST = re.compile(r"\b(soonest|earliest|1st available|1st thing you have)\b")


def _option_index(text: str) -> int | None:
    if m := re.search(r"\b(1st|2nd|3rd|last|earlier|earliest|later) (one|option|slot|time|1)\b", text):
        return _ORDINALS[m.group(1)]
    if m := re.search(r"\b(?:option|number) (\d)\b", text):
        return int(m.group(1)) - 1
    if re.fullmatch(r"(the )?(1st|2nd|3rd|last)( please)?", text):
        return _ORDINALS[text.replace("the ", "").replace(" please", "")]
    if _SOONEST.search(text):
        return 0
    return None


def understand(utterance: str, now: datetime) -> Understanding:
    """Read one caller utterance: intents, when, yes/no, which option, name and birth date."""
    text = normalize(utterance)
    scores = score_intents(text)
    deny = bool(_DENY.search(text))
    affirm = not deny and bool(_AFFIRM.search(text) or _AFFIRM_ANYWHERE.search(text))
    return Understanding(
        text=text,
        intents=scores,
        when=parse_when(utterance, now),
        affirm=affirm,
        deny=deny,
        wants_repeat=bool(_REPEAT.search(text)),
        option_index=_option_index(text),
        date_of_birth=parse_date_of_birth(utterance, now.date()),
        name=extract_name(utterance),
    )


# How callers name common dental services; a clinic's own service names are matched too.
SERVICE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "cleaning": (
        "cleaning",
        "clean",
        "cleaned",
        "hygiene",
        "hygienist",
        "polish",
        "scale and polish",
        "scaling",
        "teeth cleaning",
        "routine cleaning",
        "deep cleaning",
    ),
    "exam": (
        "exam",
        "examination",
        "checkup",
        "check up",
        "check-up",
        "x-ray",
        "x-rays",
        "xray",
        "look at",
        "looked at",
        "toothache",
        "tooth ache",
        "hurts",
        "pain",
        "broken tooth",
        "chipped",
        "cracked",
        "sensitive",
    ),
    "filling": ("filling", "fillings", "cavity", "cavities", "filled", "lost a filling"),
    "consultation": (
        "consultation",
        "consult",
        "second opinion",
        "talk to the dentist",
        "implant",
        "implants",
        "veneers",
        "whitening",
        "braces",
        "invisalign",
        "crown",
        "dentures",
    ),
}


def match_service(text: str, services: dict[str, str]) -> str | None:
    """The slug of the service an utterance asks for, among the clinic's {slug: name}."""
    text = normalize(text)
    best: tuple[int, str] | None = None
    for slug, name in services.items():
        for synonym in (name.lower(), slug, *SERVICE_SYNONYMS.get(slug, ())):
            if m := re.search(r"\b" + re.escape(synonym) + r"\b", text):
                # The earliest mention wins: "a cleaning, and my tooth hurts" is a cleaning.
                if best is None or m.start() < best[0]:
                    best = (m.start(), slug)
    return best[1] if best else None


def match_provider(text: str, providers: dict[str, str]) -> str | None:
    """The id of the provider an utterance names, among {id: full name}, by any name part."""
    words = set(re.findall(r"[a-z]+", normalize(text)))
    for provider_id, name in providers.items():
        parts = [p for p in re.findall(r"[a-z]+", name.lower()) if p not in ("dr", "doctor")]
        for part in parts:
            if part in words or difflib.get_close_matches(part, list(words), n=1, cutoff=0.85):
                return provider_id
    return None
