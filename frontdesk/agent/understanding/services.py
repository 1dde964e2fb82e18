"""Which of the clinic's services and providers a caller names, in the words callers use: "get my
teeth cleaned" is a cleaning, "my crown came off" a consultation, "Sarah" the hygienist.

A mention the caller negates ("not a cleaning", "I don't need a filling") does not count, and
the earliest remaining mention wins: "a cleaning, and my tooth hurts" is a cleaning.
"""

import difflib
import re

from frontdesk.agent.understanding.intents import normalize

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
        "six month",
        "6 month",
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
        "have a look",
        "take a look",
        "toothache",
        "tooth ache",
        "hurts",
        "pain",
        "broken tooth",
        "broke a tooth",
        "broke",
        "aching",
        "ache",
        "bothering",
        "chipped",
        "cracked",
        "snapped",
        "knocked out",
        "came out",
        "swollen",
        "swelling",
        "puffed up",
        "throbbing",
        "sensitive",
        "wisdom tooth",
    ),
    "filling": (
        "filling",
        "fillings",
        "cavity",
        "cavities",
        "filled",
        "lost a filling",
        "fill in",
        "fill-in",
    ),
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
_NEGATED = re.compile(r"\b(not|don't|do not|no longer|doesn't|isn't|never|instead of)\s+(\w+\s+){0,3}$")


def _mentions(text: str, phrase: str) -> list[int]:
    """Where a phrase is said and not negated."""
    return [
        m.start()
        for m in re.finditer(r"\b" + re.escape(phrase) + r"\b", text)
        if not _NEGATED.search(text[: m.start()])
    ]


# "At my last cleaning they said I need a filling": the visit asked for is not the one recalled.
_PAST_VISIT = re.compile(
    r"\b((at|during|after) )?(my|the|your) (last|previous|recent) \w+\b|\b(at|during|after) my \w+\b"
)


def match_service(text: str, services: dict[str, str]) -> str | None:
    """The slug of the service an utterance asks for, among the clinic's {slug: name}."""
    text = _PAST_VISIT.sub(" ", normalize(text))
    found = [
        (start, slug)
        for slug, name in services.items()
        for synonym in (name.lower(), slug, *SERVICE_SYNONYMS.get(slug, ()))
        for start in _mentions(text, synonym)
    ]
    return min(found)[1] if found else None


# "Scratch Dr. Patel ... with Chen instead": a correction, after which the last provider named counts.
_PROVIDER_CORRECTED = re.compile(r"\b(scratch|instead|rather|no wait|actually|make it|switch)\b")


def match_provider(text: str, providers: dict[str, str]) -> str | None:
    """The id of the provider an utterance names, among {id: full name}, by any name part."""
    text = normalize(text)
    words = re.findall(r"[a-z]+", text)
    found: list[tuple[int, str]] = []
    for provider_id, name in providers.items():
        for part in (p for p in re.findall(r"[a-z]+", name.lower()) if p not in ("dr", "doctor")):
            titled = [w for i, w in enumerate(words) if i and words[i - 1] in ("dr", "doctor")]
            heard = (
                [part]
                if part in words
                else difflib.get_close_matches(part, words, n=1, cutoff=0.85)
                or difflib.get_close_matches(part, titled, n=1, cutoff=0.7)  # "doctor chan"
            )
            found.extend((start, provider_id) for said in heard for start in _mentions(text, said))
    if not found:
        return None
    # "Scratch Dr. Patel ... can we do it with Chen instead": a correction names the last one said.
    return (max(found) if _PROVIDER_CORRECTED.search(text) else min(found))[1]
