"""Who picked up an outbound call, from their answer to "May I speak with Maria, please?".

Until the answer says the patient is on the line the agent says nothing of why it calls, so an
unclear answer is never taken for the patient: only an explicit "speaking", "this is she",
"yes", or the patient's own name given as theirs.
"""

import re
from enum import StrEnum

from frontdesk.agent.understanding.intents import normalize


class Answerer(StrEnum):
    """Who is on the line, as far as their answer tells."""

    patient = "patient"
    someone_else = "someone_else"  # the patient is out, or a relative answered
    wrong_number = "wrong_number"
    fetching = "fetching"  # "hold on, I'll get her"
    asks_why = "asks_why"  # "who's calling?", "what is this about?"
    unclear = "unclear"


_WRONG_NUMBER = re.compile(
    r"\b(wrong (number|person)|you have the wrong|never heard of|"
    r"no ?(one|body) (here )?(by|with|named|called) (that|this) name|"
    r"(doesn't|does not|don't|do not) (live|work) here|there's no(body| one)? \w+ here)\b"
)
_SOMEONE_ELSE = re.compile(
    r"^(no|nope|sorry no)\b|\b(not|isn't|is not|ain't) (here|home|in|available|around|back)\b|"
    r"\b(he|she|they)('s| is|'re| are) (out|away|at work|at school|busy|asleep|sleeping|not)\b|"
    r"\bcan('t|not) (come|get) to the phone\b|\b(this is|i'm|i am) (his|her|their) \w+\b|"
    r"\btake a message\b|\b(he|she|they)('s| is|'re| are) in the (shower|bath|middle of)\b|"
    r"\b(he|she|they)('ll| will) be a while\b|\bi'll (have|get|tell) (him|her|them) (to )?call\b"
)
# "Yep, bye": a goodbye, not the patient saying it is them.
_GOODBYE = re.compile(r"\b(bye|goodbye)\b")
_FETCHING = re.compile(
    r"\b(hold on|hang on|one (moment|second|sec|minute)|just a (moment|second|sec|minute)|wait a "
    r"(moment|second|sec|minute))\b"
)
# "This is his wife, he's in the garage, let me grab him": they are going for the patient.
_GOING_FOR_THEM = re.compile(r"\b(let me|i'll|i will|i can) (go )?(get|grab|find|fetch) (him|her|them)\b")
_ASKS_WHY = re.compile(
    r"\b(what('s| is) (this|it) (about|regarding|for)|who('s| is) (this|calling|asking)|what do you want|"
    r"why are you calling|regarding what|what about)\b"
)
_SPEAKING = re.compile(
    r"^(hi |hello |hey )?(yes|yeah|yep|yup|speaking|that's me|this is me|it's me|that is me|you are|"
    r"you're speaking|this is (she|he|him|her)|that's right|correct)\b|\b(speaking|this is (she|he|him|her)|"
    r"it's me|that's me|this is me)\b"
)


def who_answered(utterance: str, first_name: str | None) -> Answerer:
    """Who is on the line, given the first name the agent asked for (None: it asked for "the patient")."""
    text = normalize(utterance)
    if _WRONG_NUMBER.search(text):
        return Answerer.wrong_number
    if _GOING_FOR_THEM.search(text):
        return Answerer.fetching
    if _SOMEONE_ELSE.search(text):
        return Answerer.someone_else
    if _FETCHING.search(text):
        return Answerer.fetching
    if first_name and _names_themselves(text, first_name.lower()):
        return Answerer.patient
    if _SPEAKING.search(text) and not _GOODBYE.search(text):
        return Answerer.patient
    if _ASKS_WHY.search(text):
        return Answerer.asks_why
    return Answerer.unclear


def _names_themselves(text: str, first_name: str) -> bool:
    """ "This is Maria", "Maria speaking", "it's Maria here": the patient's name given as theirs."""
    name = re.escape(first_name)
    return bool(
        re.search(
            rf"\b(this is|it's|i'm|i am|my name is|here's) {name}\b|^{name}\b|\b{name} (here|speaking)\b",
            text,
        )
    )
