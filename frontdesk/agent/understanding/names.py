"""The caller's (or the patient's) name in an utterance: "my name is Ana Lopez", "this is John
Smith", "her name is Lily Carter", "Ana Lopez, March 3rd 1988", "Andreas Weber, born ...".

When a caller corrects themselves ("Andrea... no, sorry, Andreas Weber") the last name given wins.
"""

import re

from frontdesk.agent.understanding.when import MONTHS, WEEKDAYS

_WORD = r"([a-z][a-z'\-]+)"
_SKIP = r"(?:(?:uh|um|like|well|er),? )*"
# Patterns for a full name, strongest first: (pattern, rank, group of the first name, of the last).
_PATTERNS = (
    # "my name is Ana Lopez", "this is John Smith", "her name is Lily Carter"
    (
        re.compile(
            r"\b(?:my name is|my name's|my names|name is|name's|this is|i am|i'm|it's|its|it is|"
            r"patient is)\s+" + _SKIP + _WORD + r"\s+" + _WORD
        ),
        3,
        1,
        2,
    ),
    # "first name Lena, last name Kowalski"; "last name's Nguyen, first name Thanh"
    (re.compile(r"\bfirst name(?:'s| is)? " + _WORD + r".{0,30}?\blast name(?:'s| is)? " + _WORD), 4, 1, 2),
    (re.compile(r"\blast name(?:'s| is)? " + _WORD + r".{0,30}?\bfirst name(?:'s| is)? " + _WORD), 4, 2, 1),
    # "Andreas Weber, born ...", "Carlos Mendes, he was born ...": a full name before the birth date.
    (
        re.compile(
            _WORD + " " + _WORD + r" (?:(?:he|she|they) (?:was|were) )?(?:born|date of birth|dob|d o b|"
            r"birthday|birth date|my birthday|and my birthday|and i was born|i was born)\b"
        ),
        3,
        1,
        2,
    ),
    # "Maria, Maria Garcia", "Emily, Emily Davis": a first name said again with the last.
    (re.compile(r"\b" + _WORD + r" (?:\| )?\1 " + _WORD), 3, 1, 2),
    # "it's under Ethan Walsh", "for my son, Ethan Walsh"
    (re.compile(r"\b(?:under|for)\s+(?:my \w+ )?" + _WORD + r"\s+" + _WORD), 1, 1, 2),
)
# Letters spelled out ("J-O-N") and numbers said in words are never a name.
_SPELLED = re.compile(r"^[a-z](-[a-z])+$")
_NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand "
    "oh zero first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth thirtieth".split()
)
_CALENDAR_WORDS = {
    *MONTHS,
    *WEEKDAYS,
    "born",
    "birthday",
    "morning",
    "afternoon",
    "evening",
    "tomorrow",
    "today",
}
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
    "no",
    "wait",
    "with",
    "and",
    "is",
    "was",
    "name",
    "her",
    "his",
    "their",
    "son",
    "daughter",
    "mom",
    "dad",
    "wife",
    "husband",
    "patient",
    "hi",
    "hello",
    "yes",
    "yeah",
    "um",
    "uh",
    "for",
    "under",
    "due",
    "off",
    "actually",
    "well",
    "like",
    "pretty",
    "flexible",
    "that's",
    "i'm",
    "i've",
    "i'll",
    "i'd",
    "it's",
    "we're",
    "you're",
    "he's",
    "she's",
    "they're",
    "can",
    "could",
    "would",
    "will",
    "overdue",
    "any",
    "anyone",
    "whoever",
    "either",
    "dentist",
    "doctor",
    "name's",
    "names",
    "thats",
    "teeth",
    "tooth",
    "cleaned",
    "checked",
    "appointment",
    "cleaning",
    "checkup",
    # "it's definitely been a while", "I'm really sorry": words that follow "it's" or "I'm"
    "definitely",
    "probably",
    "totally",
    "literally",
    "already",
    "been",
    "gonna",
    # "date of birth eleven oh two": the words that announce a birth date
    "date",
    "of",
    "birth",
    "birthday",
    "born",
    # "the gum around it is kinda puffy", "it's super sore": words that qualify how it is
    "kinda",
    "sorta",
    "sort",
    "super",
    "real",
    "getting",
    "all",
}


def _is_name(word: str) -> bool:
    return not (
        word in _NOT_NAMES
        or word in _NUMBER_WORDS
        or word.split("-")[0] in _NUMBER_WORDS
        or _SPELLED.match(word)
    )


_SPELLED_AFTER = re.compile(r"\b([a-z][a-z'\-]+) ([a-z][a-z'\-]+) ((?:[a-z][ \-]){1,}[a-z])\b")
# How callers spell as they go: "J-O-N", "with an E", "with one N", "with an S at the end".
_SPELLING = re.compile(r"\b[a-z](?:-[a-z])+\b|\bwith (?:an?|one|two|a double) [a-z]\b(?: at the end)?")


def extract_name(
    utterance: str, birth_date_given: bool = False, name_asked: bool = False
) -> tuple[str, str] | None:
    """(first, last) the utterance gives as a name: the one said most plainly, and of those the
    last one given (a correction replaces what it corrects). With a birth date given, or as the
    answer to "can I have your name?" (`name_asked`), two words leading the utterance are a name
    too ("Sandra Lee, oh five, oh seven, sixty-three"; "Nadia Petrov.")."""
    # A name never runs across a sentence's end ("...would work. My birthday's ...").
    text = re.sub(r"(?<!\bdr)(?<!\bmr)(?<!\bms)(?<!\bmrs)[.?!;]+", " | ", utterance.lower())
    plain = re.sub(r"\s+", " ", re.sub(r"[^\w'\-| ]+", " ", text))
    text = re.sub(r"\s+", " ", _SPELLING.sub(" ", plain)).strip()
    found: list[tuple[int, int, str, str]] = []  # (rank, where, first, last)
    answering = birth_date_given or name_asked
    # "Grace Liu, L I U": a last name spelled right after it is said is a name beyond doubt.
    for m in _SPELLED_AFTER.finditer(plain):
        first, last = m.group(1), m.group(2)
        spelled = re.sub(r"[ \-]", "", m.group(3))
        # The letters may run into a word after them ("L I U, I'm new"): they begin with the name.
        if spelled.startswith(re.sub(r"['\-]", "", last)) and _is_name(first) and first not in _FILLERS:
            found.append((4, _where(text, first, last), first, last))
    cased = utterance != utterance.lower()
    for pattern, rank, first_group, last_group in _PATTERNS:
        introduced = pattern is _PATTERNS[0][0]  # "my name is Ana May": May is her name here
        for m in pattern.finditer(text):
            first, last = m.group(first_group), m.group(last_group)
            calendar = last in _CALENDAR_WORDS and not introduced  # "my name is Ana May"
            if _is_name(first) and _is_name(last) and first not in _CALENDAR_WORDS and not calendar:
                found.append((rank, m.start(), first, last))
    # "Ana Lopez, March 3rd 1988": two leading words before a date of birth.
    leading = (
        r"(?:^|\| )(?:yes |yeah |yep |sure |ok |okay |um |uh |hi |hello |hey |hiya |alright |all right |so |"
        r"well |oh |right |sorry |good morning |good afternoon |morning |afternoon |evening )*"
        r"([a-z][a-z'\-]+) ([a-z][a-z'\-]+)\b"
    )
    for m in re.finditer(leading, text):
        rest = text[m.end() :]
        first, last = m.group(1), m.group(2)
        # "Hanalopas, March 3rd": a misheard name then the birth date's month is not a full name.
        sentence = rest.split("|")[0]
        dated = re.search(r"\d", sentence) or _BIRTH_DATE_WORDS.intersection(sentence.split())
        here = re.match(r" here\b", rest) is not None  # "Robert Johnson here": who is calling
        if (
            _is_name(first)
            and _is_name(last)
            and first not in _FILLERS
            and last not in _FILLERS | _CALENDAR_WORDS
            and first != last
            and (dated or (answering and m.start() == 0) or here)
            # "Yep, cancel it": no name; "uh, robert johnson here" is one, though "I" is capitalized.
            and (not cased or _capitalized(utterance, last) or here)
        ):
            found.append((2, m.start(1), first, last))
    # Speech-to-text capitalizes names: "I'm new, Hannah Lindqvist", "Andrea, sorry, Andreas Novak".
    if cased:
        # Not "S-M-Y-T-H" spelled out, nor a place asked for ("is this Pizza Palace?").
        pair = r"(?<![\w.])(?<!Dr\. )(?<!this )([A-Z][a-z'][a-z'\-]*),? ([A-Z][a-z'][a-z'\-]*)\b"
        for m in re.finditer(pair, utterance):
            first, last = m.group(1).lower(), m.group(2).lower()
            if (
                _is_name(first)
                and _is_name(last)
                and not {first, last} & (_CALENDAR_WORDS | _NOT_CAPITAL_NAMES)
            ):
                found.append((1, _where(text, first, last), first, last))
    if not found:
        return None
    _, _, first, last = max(found)
    return first.title(), last.title()


# Capitalized words that are no one's name here: greetings, the clinic's own words, carriers.
_NOT_CAPITAL_NAMES = frozenset(
    "i hi hello hey hiya yes yeah yep no okay ok sorry thanks thank good morning maple dental delta "
    "cigna aetna metlife guardian humana sarah kim dr doctor patel chen priya marcus".split()
)


def _capitalized(utterance: str, word: str) -> bool:
    m = re.search(r"\b" + re.escape(word) + r"\b", utterance, re.IGNORECASE)
    return m is not None and m.group(0)[0].isupper()


def _where(text: str, first: str, last: str) -> int:
    """Where a name found in the original text is in the normalized text (for "the last one wins")."""
    m = re.search(r"\b" + re.escape(first) + r"\b \|?\s?" + re.escape(last) + r"\b", text)
    return m.start() if m else 0


_FILLERS = frozenset({"my", "name", "is", "hi", "hello", "uh", "um", "this", "i", "i'd", "we", "you"})
