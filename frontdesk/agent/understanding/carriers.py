"""The insurance carrier a caller names: "do y'all take Delta?", "is Met Life ok?", "I've got
Humana". Carriers come from the clinic's accepted list and the domain's list of known carriers,
so "my plan" or "y'all" is never taken for one."""

import re

from frontdesk.domain.insurance import CARRIER_ALIASES, KNOWN_CARRIERS

# Words around "insurance"/"plan" that are never a carrier's name ("do you take my plan").
_NOT_CARRIER_WORDS = frozenset(
    "what about do you y'all yall guys take accept have my i a the with got is it your any our dental "
    "and or if we that this their his her health medical work through ok okay good don't no not new old "
    "different another current same asking about any that's thats".split()
)


def carrier_named(text: str, accepted: list[str]) -> str | None:
    """The carrier a normalized utterance names, spelled as the clinic spells it when accepted."""
    by_spoken = {name.lower(): name for name in [*KNOWN_CARRIERS, *accepted]}
    by_spoken |= {alias: by_spoken.get(full, full.title()) for alias, full in CARRIER_ALIASES.items()}
    # "Delta" for Delta Dental, as the eligibility check reads it; not a short word like "blue".
    by_spoken |= {n.split()[0].lower(): n for n in accepted if " " in n and len(n.split()[0]) >= 5}
    # The earliest name, the longest at one place: "blue cross blue shield" over "blue cross".
    found = [
        (match.start(), -len(spoken), name)
        for spoken, name in by_spoken.items()
        for match in re.finditer(r"\b" + _said(spoken, name) + r"\b", text)
    ]
    if found:
        return _as_accepted(min(found)[2], accepted)
    if m := re.search(r"((?:[\w']+ ){0,2}[\w']+) (?:insurance|plan|coverage)\b", text):
        words = [w for w in m.group(1).split() if w not in _NOT_CARRIER_WORDS]
        if words:
            return " ".join(words).title()
    return None


def _said(spoken: str, name: str) -> str:
    """A pattern for a carrier's name as speech-to-text writes it: "MetLife" may come as "met life"."""
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower().split() if spoken == name.lower() else [spoken]
    return r"\s?".join(re.escape(word) for word in words)


def _as_accepted(name: str, accepted: list[str]) -> str:
    return next((a for a in accepted if a.lower() == name.lower()), name)
