"""How the agent listens: end-of-turn timing per clinic profile, backchannels, low confidence."""

import re

from frontdesk.domain.clinic_settings import EndOfTurnProfile

# Silence (ms) that ends a caller's turn, per clinic profile (DESIGN.md section 4): callers who
# mostly confirm are answered quickly; callers describing symptoms pause mid-thought.
END_OF_TURN_SILENCE_MS: dict[EndOfTurnProfile, int] = {
    EndOfTurnProfile.terse: 450,
    EndOfTurnProfile.balanced: 650,
    EndOfTurnProfile.patient: 1000,
}
# Extra wait when the words so far sound unfinished ("and", "um", "because"...).
UNFINISHED_EXTRA_MS = 700
# Below this transcript confidence the agent asks the caller to repeat.
LOW_CONFIDENCE = 0.35
REPROMPT = "I'm sorry, I didn't quite catch that, could you repeat that?"

_BACKCHANNELS = {
    "yeah",
    "yes",
    "yep",
    "yup",
    "ok",
    "okay",
    "right",
    "sure",
    "uh huh",
    "uh-huh",
    "mm hmm",
    "mm-hmm",
    "mhm",
    "mm",
    "hmm",
    "got it",
    "alright",
    "all right",
    "i see",
    "cool",
    "great",
    "perfect",
    "fine",
    "oh",
    "ah",
    "uhh",
    "um",
    "uh",
    "yeah yeah",
    "okay okay",
    "right right",
    "sure sure",
}
_UNFINISHED = re.compile(r"\b(and|or|but|so|because|um+|uh+|like|the|a|my|to|with|for|at|on|is|was)$")


def normalize_words(text: str) -> str:
    """Lower-case words only, single spaces."""
    return " ".join(re.findall(r"[a-z'\-]+", text.lower()))


def is_backchannel(text: str) -> bool:
    """Whether an utterance is only a listener's acknowledgements ("yeah", "mm-hm", "okay, right",
    "yeah mm-hmm"): every word belongs to one, taking two-word ones ("uh huh", "got it") first."""
    words = normalize_words(text).split()
    while words:
        if " ".join(words[:2]) in _BACKCHANNELS and len(words) > 1:
            words = words[2:]
        elif words[0] in _BACKCHANNELS:
            words = words[1:]
        else:
            return False
    return True


def sounds_unfinished(text: str) -> bool:
    """Whether the caller's words so far stop mid-thought."""
    return bool(_UNFINISHED.search(normalize_words(text)))
