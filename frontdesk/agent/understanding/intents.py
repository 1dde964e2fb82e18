"""What a caller wants, for the deterministic brain: intents, yes and no, and which option.

Each intent is recognised from cue words and patterns scored together rather than from whole
phrases, so unseen wordings still land; key words are matched fuzzily to absorb
speech-to-text errors ("reschedual", "cleening"). Negations ("I don't want to cancel") suppress
the cue that follows them.
"""

import difflib
import re
from enum import StrEnum
from typing import Literal

from frontdesk.agent.understanding.numbers import normalize_numbers


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
    bot_question = "bot_question"  # "am I talking to a real person?": answered honestly, then on
    why_question = "why_question"  # "why do you need my birthday?"
    visit_length = "visit_length"  # "how long does a cleaning take?"
    my_appointment = "my_appointment"  # "when is my appointment?"
    dental_urgent = "dental_urgent"  # a broken tooth, a throbbing molar: the soonest slot
    message = "message"  # "can you pass that along to her?", "can a dentist call me back?"
    services = "services"  # "what do you offer?", "do you guys do braces?"


# Dental treatments a caller may ask about by name, whether or not this clinic offers them.
DENTAL_SERVICE_WORDS = (
    "braces",
    "invisalign",
    "aligners",
    "clear aligners",
    "orthodontics",
    "implants?",
    "veneers",
    "whitening",
    "root canals?",
    "dentures",
    "extractions?",
    "wisdom teeth",
    "crowns?",
    "bridges?",
    "sedation",
    "cleanings?",
    "fillings?",
    "exams?",
    "check ?ups?",
    "consultations?",
)

# Cue patterns per intent, with weights. Patterns are regular expressions over the normalized
# utterance; a word in KEYWORDS below is also recognised when misheard.
CUES: dict[Intent, list[tuple[str, float]]] = {
    Intent.book: [
        (
            r"\b(book|booking|schedule|make|set up|get|need|want|like) (an? |me |in |my )?(new )?appointment",
            3,
        ),
        (r"(?<!my )(?<!your )(?<!work )(?<!the )\b(book|schedule)\b", 2),
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
            r"\b(get|need|want|like|set up|due for|grab|i'm after|i am after|put me down for|looking to get|"
            r"hoping to get|"
            r"bring (him|her|them|my \w+) in)\b(?:(?!canc|reschedul|mov|chang|push)[^.?!]){0,25}"
            r"\b(cleaning|cleanings|check[- ]?up|exam|examination|consultation|consult|filling|whitening)\b",
            3,
        ),
        (r"\b(new patient|first visit|haven't been)\b", 1),
        (r"\b(can|could) (i|we) (do|have|get|book) (a|an)\b", 1),
        (r"\b(looked at|look at it|take a look|have anything|got anything)\b", 2),
        (r"\bappointment\b", 1),
        (r"\b(cleaning|checkup|check up|exam|filling|consultation|cavity)\b", 1),
        (r"\b(available|availability|openings?|any time|anything (on|for|this|next))\b", 1),
    ],
    Intent.reschedule: [
        (r"\b(reschedule|rebook|re-?schedule|re book|re schedule)\b", 4),
        (
            r"\b(move|change|push|switch|shift|bump)\b.{0,30}\b(appointment|it|time|date|visit|cleaning|"
            r"check ?up|exam|filling|consultation)\b",
            3,
        ),
        (r"\b(different|another|other|new|later|earlier) (day|date|time)\b", 2),
        (r"\b(can't|cannot|won't be able to|unable to) make (it|my)\b", 2),
        # "I have a filling next Tuesday and I can't get off work": a visit the caller has won't do.
        (
            r"\b(i have|i've got|i got|my)\b.{0,60}\b(appointment|cleaning|check ?up|exam|filling|"
            r"consultation)\b.{0,80}(\b(can't|cannot|won't be able to) (make|get off|do|come)\b|"
            r"\bsomething came up\b|\b(isn't|is not|not) going to work\b|\bwon't work\b|"
            r"\bdoesn't work any ?more\b|\bhave a conflict\b)",
            3,
        ),
    ],
    Intent.cancel: [
        (r"\b(cancel(l?ing|l?ed|lation)?|cancle|cancell)\b", 4),
        (r"\b(call off|don't need|no longer need|won't (be )?(coming|come)|not coming)\b", 3),
        (r"\b(drop|remove|delete)\b.{0,20}\bappointment\b", 3),
    ],
    Intent.confirm_appointment: [
        (
            r"\b(confirm|confirming|i'll be there|we'll be there|we'll both be there|i will be there|"
            r"still coming|see you then|i'll definitely be there|we'll definitely be there)\b",
            3,
        ),
    ],
    Intent.hours: [
        (r"\b(hours|opening times?|open|close|closing|closed)\b", 2),
        (r"\bwhat time do you\b", 3),
        (r"\b(what time|when) (till|until|til)\b|\b(till|until|til) what time\b|\bhow late (are|is|do)\b", 3),
        (r"\b(are you|you guys|is the (office|clinic)) (open|closed)\b", 3),
        # "do you guys do Saturdays at all?"
        (
            r"\b(do|are) (you|you guys|y'all) (do|open|work|have)( any)?( appointments?)?( on)? "
            r"(saturdays?|sundays?|weekends?|evenings?)\b",
            3,
        ),
        # "Does Dr. Chen work Saturdays?", "Which days is Dr. Patel in?"
        (r"\b(does|do|is) (dr|doctor|sarah|the hygienist|she|he)\b.{0,15}\b(work|working|in)\b", 3),
        (r"\b(which|what) days?\b.{0,25}\b(in|work|working|there|open)\b", 3),
    ],
    Intent.location: [
        (
            r"\b(where are you|where exactly|where is|address|located|location|directions|parking|"
            r"(?<!when i )(?<!when we )get there|find you|get to you|which floor|what floor|suite|"
            r"cross street|building|place to park|"
            r"somewhere to park|where (do|can|should) i park|"
            r"nearest (bus|train|subway)|how do i get)\b",
            3,
        ),
    ],
    Intent.insurance: [
        (r"\binsurance\b", 3),
        (r"\b(do you|does the clinic) (take|accept)\b", 2),
        (r"\b(in network|in-network|out of network|covered|coverage|my plan|carrier|medicaid|medicare)\b", 2),
    ],
    Intent.billing: [
        (r"\b(bill|bills|billing|billed|invoice|statement|balance|charge|charged|charges|refund)\b", 3),
        (r"\b(payment|pay|paid|copay|co-pay|owe|price|cost|costs|how much)\b", 2),
        (r"\b(collections?|overcharged|double charged|receipt|itemized|fsa|hsa|dollars)\b", 3),
    ],
    Intent.clinical: [
        (r"\b(is it normal|should i (take|be worried|worry|rinse|stop)|is that normal|side effects?)\b", 3),
        (r"\b(medication|medicine|prescription|antibiotics?|ibuprofen|advil|tylenol|painkillers?)\b", 2),
        (r"\b(after (my|the|a|an) (extraction|filling|procedure|surgery|root canal)|stitches)\b", 2),
        (
            r"(?<!i'm a )(?<!i am a )(?<!as a )(?<!work as a )\b(nurse|medical question|clinical question|"
            r"question for the (dentist|doctor|hygienist))\b",
            3,
        ),
        # A swollen face with a fever: the clinical team, not the next free slot.
        (
            r"\b(swollen|swelling)\b.{0,80}(?<!no )(?<!not a )(?<!without )(?<!without a )\bfever\b|"
            r"(?<!no )(?<!not a )(?<!without )(?<!without a )\bfever\b.{0,80}\b(swollen|swelling)\b",
            4,
        ),
        (
            r"\b(can|should|may) i (take|use|give)\b.{0,30}\b(ibuprofen|advil|tylenol|motrin|aspirin|"
            r"painkillers?|medication|medicine|antibiotics?)\b",
            4,
        ),
        (
            r"\b(is it safe|safe to|do i (need|have) to stop|should i stop|can i (eat|drink)|"
            r"blood thinners?|pregnant|allergic to|something to worry about|should i (be )?worr\w*|"
            r"do i need antibiotics|heart condition)\b",
            4,
        ),
    ],
    Intent.distress: [
        (r"\b(panicking|panic|terrified|scared|frightened|crying|desperate|freaking out)\b", 3),
        (r"\b(please help|help me|i don't know what to do)\b", 2),
        (r"\b(can't take it( anymore)?|can't cope|at my wit's end)\b", 3),
    ],
    Intent.human: [
        (
            r"\b(want|need|like|can i|could i|let me|get me|put me|give me)\b.{0,25}"
            r"\b(real|actual|live) (person|human|people)\b",
            5,
        ),
        (
            r"\b(talk|speak)\b.{0,20}\b(person|human|someone|somebody|receptionist|staff|manager)\b"
            r"(?! about(?: \w+){0,3} (implants?|crowns?|braces|veneers?|invisalign|whitening|consult\w*|"
            r"treatment|options?))",
            4,
        ),
        (r"\b(human|receptionist|operator|representative|someone (else|real)|a person|front desk)\b", 3),
        (r"\b(transfer me|put me through|connect me)\b", 3),
        (r"\b(manager|staff member|office manager)\b", 2),
    ],
    Intent.opt_out: [
        (r"\b(stop calling|don't call|do not call|quit calling|no more calls|take me off|remove me)\b", 5),
        (
            r"\b(take|get|remove|put) my (number|name|phone( number)?) (off|from)\b|\boff (your|the) "
            r"(calling|call|contact|phone) list\b|\b(don't|do not) want any more (of (these|those|your) )?"
            r"(calls|phone calls|texts)\b",
            5,
        ),
        (r"\b(stop (texting|sending|messaging)|don't text|do not text|no more (texts|text messages))\b", 5),
        (r"\b(unsubscribe|opt out|opt-out)\b", 5),
        (r"^stop$", 5),
    ],
    Intent.goodbye: [
        (r"\b(bye|goodbye|good bye|have a (good|nice|great) (day|one|evening|night)|take care(?! of))\b", 3),
        (r"\b(that's all|that is all|that's it|that's everything|nothing else|no,? that's it|i'm good)\b", 3),
        (r"^(no )?(thanks|thank you)( so much| very much)?$", 2),
        (r"\b(i'll think about it|i'll call (you )?back|i'll get back to you|that's all i needed)\b", 3),
        (r"\bsee you (then|soon|there|tomorrow|next week|on \w+|\w+day)\b", 3),
    ],
    Intent.services: [
        (
            r"\bwhat (kind of |sort of |other )?(stuff|things|services|treatments|procedures)\b.{0,20}"
            r"\b(do|does|can) (you|y'all|you guys|the clinic|the office)\b|"
            r"\bwhat (do|does) (you|y'all|you guys) (do|offer|provide)( there| exactly)?$|"
            r"\b(do|does) (you|y'all|you guys|the clinic|the office|anyone there) "
            r"(do|offer|have|provide|handle) (any )?(" + "|".join(DENTAL_SERVICE_WORDS) + r")\b",
            3,
        ),
    ],
    Intent.bot_question: [
        (
            r"\b(are you|is this|am i (talking|speaking) (to|with)|was that|you're not|you are not|"
            r"sounds?|is that)\b.{0,25}\b(robot|a bot|bot|machine|computer|ai|a\.i|real person|"
            r"real human|real|human|person|recording|automated|an? (answering|automated) (service|system))\b",
            6,
        ),
        (r"\b(robot|chat ?bot|automated|artificial intelligence)\b", 2),
    ],
    Intent.why_question: [
        (
            r"\bwhy (do|would|does|did) you (need|want|ask|have to have)\b|\bwhat do you need (it|that|"
            r"my [\w ]{1,20}) for\b|\bwhy\b.{0,25}\b(birthday|date of birth|birth date|dob|birth)\b|"
            r"\bwhy are you asking\b",
            4,
        ),
    ],
    Intent.visit_length: [
        (
            r"\bhow long (does|do|will|would|is) (a|an|the|my|it|that|this)\b|"
            r"\bhow much time (does|do|will|should)\b|"
            r"\bhow long (am i|will i be|would i be|i'll be|i will be)\b",
            5,
        ),
    ],
    Intent.my_appointment: [
        (
            r"\b(when|what time|what day|which day)\b.{0,20}\bmy (next )?(appointment|cleaning|exam|"
            r"checkup|check up|filling|visit|consultation)\b",
            4,
        ),
        (
            r"\b(do i have|have i got|is there) (an?|any) (appointment|upcoming|visit)|"
            r"\b(can't|cannot|don't) remember (when|if i booked)\b|\bforgot when\b|"
            r"\b(anything|something) booked\b|\bis my (appointment|cleaning|exam|checkup|filling)\b.{0,30}"
            r"\bstill on\b|\bwhat (day|time) did i book\b|\bcheck what time\b|"
            r"\bremind me (which|what|when)\b|"
            r"\bdo i have an? \w+ coming up\b|\bstill on the (books|schedule|calendar)\b|"
            r"\bdouble.?check(ing)? (that )?i('m| am) still\b|\bi('m| am) still on for\b|"
            r"\blost (the|my) (little )?(appointment )?(card|reminder)\b|"
            r"\bmake sure i('m| am) still (booked|scheduled|on)\b|"
            r"\bwhat time am i (coming|booked|supposed)\b|\bwhens my\b|"
            r"\b(blanked|blank) on when\b|\blook (it|that) up for me\b|"
            r"\bwhat (day|time|date) did you say\b|\bwhat (day|time|date) (is|was) (it|that) again\b|"
            r"\bwhen my (appointment|cleaning|exam|checkup|check up|filling|visit) is\b",
            4,
        ),
        # "Is that with the hygienist or the dentist?", "who's it with?": about the appointment's provider.
        (
            r"\b(is|was) (that|it) with (the|a|dr|doctor)\b|\bwho (is|'s) (that|it) with\b|\bwhos it with\b|"
            r"\b(that's|thats|it's|its) with (the|a|dr|doctor) \w+( \w+)? right$",
            4,
        ),
    ],
    Intent.message: [
        (
            r"\b(leave|take) (a |her a |him a )?message\b|\bpass (a|the) message\b|"
            r"\bpass (that|it|this|something|a message|the \w+)"
            r"( \w+)? (along|on)\b|\b(give|get) (her|him|them|the dentist|the doctor|dr \w+|doctor \w+) "
            r"(a|the) message\b",
            4,
        ),
        (
            r"\b(call me back|have (someone|somebody|her|him|a dentist|the dentist|dr \w+|doctor \w+) "
            r"(call|ring) me|(can|could|would) (someone|somebody|a dentist|the dentist|she|he|dr \w+|"
            r"doctor \w+|you) (call|ring) me|give me a (ring|call))\b",
            4,
        ),
    ],
    Intent.wrong_number: [
        (r"\bi thought this was\b", 4),
        (r"\b(trying to|meant to|wanted to) (reach|call|ring|get (a ?hold of|through to))\b", 3),
        (r"\bis this (the )?(\w+ ){0,2}(palace|pizza|pharmacy|restaurant|bank|hotel|store|pizzeria)\b", 4),
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
    r"please do|go ahead|book it|do it|let's do (it|that)|that one|i'll take it|mm[- ]?hmm|uh[- ]?huh|"
    r"(just |please )?(cancel|confirm|move) it|"
    r"speaking|this is (she|he|him|her))\b"
)
_AFFIRM_ANYWHERE = re.compile(
    r"(?<!say )(?<!said )\b(yes|yeah|yep|sounds good|that works|works for me|go ahead|book it|please do|"
    r"that's me|that's (right|correct|perfect)|all correct)\b|"
    # "Two o'clock works", "eleven is good": the time offered, accepted (not "nothing works").
    r"(?<!nothing )(?<!neither )\b(works|(is|'s) (good|fine|perfect|great)|"
    r"would be (good|fine|perfect|great))"
    r"( for me)?( then)?,?( thanks| thank you)?$"
)
# "Ok, quick question, is that with the hygienist?": an "ok" that opens a question says no yes.
_OK_THEN_QUESTION = re.compile(r"^(ok|okay|alright|all right|right|so|um|uh|hmm)\b[^.?!]*\?")
# "No, that's right", "yeah no, that's perfect": a "no" that agrees.
_AGREEING_NO = re.compile(
    r"^(yeah |yes )?(no|nope|nah)( no)?,? (that's|thats|that is|it's|its) (right|correct|perfect|fine|good|"
    r"great|all correct)\b"
)
_DENY = re.compile(
    r"^(no|nope|nah|not really|neither|none|uh-?uh|nuh-?uh|not (right )?now)\b|\b(doesn't work|don't work|"
    r"won't work|can't do|i don't think so|i said \w+,? not|i don't think i can|can't make it|cannot make it|"
    r"won't be able to make it|(actually|oh),? no|not (home|here|in|available|around) right now|"
    r"none of (those|them|these)|neither of|not (those|that one|good)|other (times|options|days)|"
    r"something else|anything else (later|earlier)|that's not right|that's wrong|wrong)\b"
)
_NEGATION = re.compile(
    r"\b(don't|do not|not|never|no|didn't|won't|wouldn't|instead of|rather than)\s+(\w+\s+){0,2}$"
)
_REPEAT = re.compile(
    r"\bwhat were (the|those) (times|options)( again)?\b|\b(read|say|give me) (those|them|that|the times) "
    r"(back|again|one more time)\b|"
    r"^(sorry |i'm sorry )?(what|sorry|pardon|huh|excuse me)( was that| did you say)?$|"
    r"\b(come again|say that again|repeat (that|it|yourself|the)|"
    r"didn't (catch|hear|get) (that|it|you|what))\b(?! the (first|1st) time)"
)
_ORDINALS = {"1st": 0, "2nd": 1, "3rd": 2, "last": -1, "earlier": 0, "earliest": 0, "later": -1}


# Real words that sit close to a key word: "it's killing me" is no "filling".
_NOT_MISHEARD = frozenset(
    "killing feeling falling willing dealing ceiling selling telling spelling calling calming "
    "chilling spilling drilling grilling thrilling".split()
)


def _fix_mishearings(text: str) -> str:
    """Replace tokens that look like a misheard key word by the key word."""
    words = text.split(" ")
    for i, word in enumerate(words):
        if len(word) >= 6 and word not in KEYWORDS and word not in _NOT_MISHEARD and word.isalpha():
            match = difflib.get_close_matches(word, KEYWORDS, n=1, cutoff=0.84)
            if match:
                words[i] = match[0]
    return " ".join(words)


# Contractions speech-to-text writes without the apostrophe ("cant breathe", "dont").
_BARE_CONTRACTIONS = re.compile(
    r"\b(can|won|don|doesn|isn|didn|wouldn|couldn|shouldn|aren|wasn|haven)t\b|\b(i)m\b|\b(i|you|we)ve\b|"
    r"\b(that|what|there|he|she)s\b"
)


def _apostrophes(text: str) -> str:
    def restore(m: re.Match[str]) -> str:
        word = m.group(0)
        if word.endswith("t") and m.group(1):
            return word[:-1] + "'t"
        if m.group(2):
            return "i'm"
        if m.group(3):
            return m.group(3) + "'ve"
        return word[:-1] + "'s"

    return _BARE_CONTRACTIONS.sub(restore, text)


def normalize(utterance: str) -> str:
    """Lower-case, digits for numbers, plain apostrophes, single spaces, misheard key words fixed."""
    text = _apostrophes(normalize_numbers(utterance.replace("\u2019", "'")))
    text = re.sub(r"[^\w':/\-+ ]+", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    return _fix_mishearings(text)


def _negated(text: str, start: int) -> bool:
    return bool(_NEGATION.search(text[:start]))


# "I know you're closed, but...": a remark about the hours, not a question.
_HOURS_REMARK = re.compile(
    r"\bi (know|realize|realise|understand|guess|figured) (that )?(you're|you are|you guys are|y'all are|"
    r"the office is|it's|its) (closed|not open)\b"
)


# "I'll rebook later", "I'll pay out of pocket": said in passing, not asked for now (but "do I just
# pay out of pocket?" asks).
# "I'll call back when I'm home to rebook": the rebooking is later; the call back stays a goodbye.
# "I'll call back to rebook", "I'll call you guys to rebook when things settle down": no move now.
_REBOOK_LATER = re.compile(
    r"(\b(call|ring) (you |you guys |you all |y'all )?(back\b)?[^.?!]{0,40}?)\bto (re)?(book|schedule)\b"
)
_LATER_REMARK = re.compile(
    r"\brebook later\b|\b(i've got|i got|i have) an? \w+ (scheduled|schedule|booked)\b|"
    r"(?<!do i )(?<!do i just )(?<!should i )(?<!can i )\bpay (it )?(out of pocket|myself|cash)\b"
)


def score_intents(text: str) -> dict[Intent, float]:
    """Sum of the weights of each intent's cues found in normalized text (negated cues skipped)."""
    text = _LATER_REMARK.sub(" ", _HOURS_REMARK.sub(" ", _REBOOK_LATER.sub(r"\1", text)))
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
_SOONEST = re.compile(
    r"\b(soonest|earliest|1st available|1st thing you have|whichever('s| is| ones?|one's)? (is )?1st)\b"
)


def option_index(text: str) -> int | None:
    """Which of the offered times a normalized utterance picks: 0-based, -1 for the last."""
    picks = list(re.finditer(r"\b(1st|2nd|3rd|last|earlier|earliest|later) (one|option|slot|time|1)\b", text))
    if picks:
        return _ORDINALS[picks[-1].group(1)]  # "the second one, no, the first one"
    if m := re.search(r"\b(?:option|number) (\d)\b", text):
        return int(m.group(1)) - 1
    if re.fullmatch(r"(the )?(1st|2nd|3rd|last)( please)?", text):
        return _ORDINALS[text.replace("the ", "").replace(" please", "")]
    if _SOONEST.search(text):
        return 0
    return None


def affirms(utterance: str) -> bool:
    """Whether an utterance (as said, with its punctuation) says yes."""
    text = normalize(_OK_THEN_QUESTION.sub("", utterance.strip().lower()))
    return bool(_AFFIRM.search(text) or _AFFIRM_ANYWHERE.search(text) or _AGREEING_NO.search(text))


def denies(text: str) -> bool:
    """Whether a normalized utterance says no."""
    return bool(_DENY.search(text)) and not _AGREEING_NO.search(text)


def wants_repeat(text: str) -> bool:
    """Whether a normalized utterance asks the agent to say it again."""
    return bool(_REPEAT.search(text))
