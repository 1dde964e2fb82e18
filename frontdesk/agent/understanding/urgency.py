"""How urgent a caller's trouble is, read from ordinary words: a medical emergency (911 first),
a dental urgency (the soonest slot), or neither.

Callers rarely say "emergency": they say "my dad can't catch his breath", "her lips are going
blue", "he blacked out". Each sign is a pattern over the normalized utterance; a sign the caller
denies ("I'm breathing fine", "no trouble breathing") does not count.
"""

import re
from enum import StrEnum


class Urgency(StrEnum):
    """The most urgent thing an utterance describes."""

    none = "none"
    dental = "dental"  # urgent, but safe to bring in at the soonest slot
    emergency = "emergency"  # a medical emergency: hang up and dial 911


_BREATHING = (
    r"(can't|cannot|can not|couldn't|could not|can barely|hard to|struggling to|trouble|difficulty|"
    r"not|isn't|stopped|having a hard time) ?(catch(ing)? (his|her|my|their|a) breath|breath(e|ing)|"
    r"get (any )?air)|short of breath|gasping|wheezing|choking|throat ((is|feels|feel) )?"
    r"(like (it's|its) )?(closing|swelling|tight)|lips (are )?((turning|going|gone|look) )?blue"
)
_CHEST = (
    r"chest\b.{0,20}\b(pain|hurts|hurting|tight|tightness|heavy|pressure|pounding)|"
    r"(tight|heavy|pressure|pain)( feeling)? in (my|his|her) chest|heart attack|stroke|"
    r"(arm|face|side)\b.{0,25}\b(numb|drooping|droopy)|slurr(ing|ed) (his|her|my)? ?(words|speech)|"
    r"words (are )?(coming out )?(all )?(wrong|garbled|jumbled)|can't (lift|move|raise) (my|his|her) arm|"
    r"heart (is )?(pounding|racing)\b.{0,30}\b(chest|pass out|faint|dizzy)|"
    r"hit (his|her|my|their) head\b.{0,60}\b(confused|throwing up|vomiting|dizzy|passed out|drowsy)"
)
_BLEEDING = (
    r"(bleeding|blood)\b.{0,40}\b(won't|will not|doesn't|does not|isn't|can't|cannot) "
    r"(stop|stopping|slow)|(won't|can't|cannot) stop (the )?bleeding|bleeding (heavily|badly|a lot)|"
    r"(a lot of|so much|tons of) blood|blood (is )?(everywhere|gushing|pouring)|soak(ed|ing) through|"
    r"(gushing|pouring|spurting) blood|(through|gone through) a (whole )?(pack|box) of gauze"
)
_CONSCIOUSNESS = (
    r"passed out(?! (the )?(last|one|first) time)|pass(ing)? out|blacked out|blacking out|black(ing)? out|"
    r"fainted(?! (the )?(last|one|first) time)|fainting|"
    r"collapsed|unconscious|unresponsive|(not|isn't|won't|doesn't) (responding|answering me|waking up|"
    r"wake up)|seizure|convuls"
)
_SWELLING_SPREADS = (
    r"(swelling|swollen|swell(ing)? up|puffed up|puffy)\b.{0,60}\b(fast|quickly|spreading|spread(s)? to|"
    r"into (my|his|her) (eye|neck|throat)|(eye|neck|throat)|(can't|can barely|hard to|trouble) swallow(ing)?|"
    r"can't open)|"
    r"(face|neck|throat|tongue) (is )?(swelling|swell(ing)? up|blowing up)\b.{0,30}\b(fast|quick|bad)|"
    r"allergic reaction|anaphyla|overdose|kill myself|suicid|end my life|hurt myself|ambulance|911"
)
# Swelling anywhere in the utterance with a sign it spreads or closes the airway, however far apart.
_SWELLING = re.compile(r"\b(swelling|swollen|swell(ing)? up|puffed up|puffy|blowing up)\b")
_AIRWAY = re.compile(
    r"\b((into|down|to|in) (my|his|her|the) (neck|throat|eye)|(hard|trouble|difficult|difficulty|can't|"
    r"can barely) (to )?swallow(ing)?|spreading)\b"
)
_ALLERGIC = re.compile(
    r"\b(hives|lips (are )?(swelling|swollen|puffing)|swollen lips|tongue (is )?(swelling|swollen))\b"
)
_EMERGENCY = re.compile(
    r"\b(" + "|".join((_BREATHING, _CHEST, _BLEEDING, _CONSCIOUSNESS, _SWELLING_SPREADS)) + r")"
)
# "I'm breathing fine", "no trouble breathing", "not an emergency": a sign the caller rules out.
_RULED_OUT = re.compile(
    r"\b(breathing (is )?(fine|ok|okay|normally|normal|alright|all right)|"
    r"(no|not having( any)?|without|not) (trouble|problem|problems|difficulty) breathing|"
    r"(can|i can) breathe (fine|ok|okay|normally|just fine)|(it's |it is |this is )?not an emergency|"
    r"no chest pain|breathe through my nose)\b"
)
_DENIED_SIGN = re.compile(
    r"\b(trouble|difficulty|problem|problems) breathing|breathing|breathe|chest pain|emergency"
)

_DENTAL = re.compile(
    r"\b(knock(ed|s)?\b.{0,45}\b(out|loose)|lost (a|my|his|her) (filling|filing|crown)\b.{0,30}\b(hurt|hurts|"
    r"pain|killing|sensitive|throbbing)|crack\b.{0,40}\b(hurts|pain)|\bpus\b|"
    r"(aching|ache|hurting|hurts)\b.{0,40}\b(getting worse|for (a|two|three|\d+) (week|weeks|days))|"
    r"(so much|a lot of|terrible|horrible|severe|unbearable|excruciating) pain|"
    r"(tooth|teeth|molar|crown|filling|cap|bridge)\b.{0,25}\b"
    r"(fell|fallen|came|come|popped|fell|got knocked)( \w+)? (out|off)|"
    r"(broke|broken|break|cracked|crack|chipped|chip|snapped|split)\b.{0,25}\b(tooth|teeth|molar|"
    r"incisor|crown|filling)|(tooth|teeth|molar)\b.{0,25}\b(broke|broken|cracked|chipped|snapped|"
    r"split|knocked)|"
    r"(throbbing|throbs|unbearable|excruciating|killing me|agony|severe|so much pain|really bad|"
    r"worst)\b.{0,30}\b(tooth|teeth|molar|jaw|pain|toothache|gum)|(tooth|teeth|molar|jaw|gum|toothache)"
    r"\b.{0,30}\b(throbbing|throbs|unbearable|excruciating|killing me|agony|severe|so bad|really bad)|"
    r"abscess|(jaw|gum|gums|cheek|face)\b.{0,25}\b(swollen|swelling|swelled|puffed|puffy)|"
    r"(swollen|swelling|puffed up|puffy)\b.{0,25}\b(jaw|gum|gums|cheek|face)|"
    r"(can't|cannot) (sleep|eat|chew)\b.{0,25}\b(pain|tooth|hurts)|"
    r"(pain|tooth|hurts)\b.{0,30}\b(can't|cannot) (sleep|eat|chew))"
)

_NOT_URGENT = re.compile(r"\b(nothing urgent|not urgent|no rush|not in a rush|a while back|doesn't hurt)\b")
_EMERGENCY_WORD = re.compile(r"\b(emergency|911|ambulance)\b")


def read_urgency(text: str) -> Urgency:
    """The urgency a normalized utterance describes."""
    ruled_out = _RULED_OUT.search(text)
    for match in _EMERGENCY.finditer(text):
        if ruled_out and _DENIED_SIGN.search(match.group(0)):
            continue  # "breathing fine": that sign is the one ruled out
        if re.search(r"\b(no|not|never|without|don't|didn't)\s+(\w+\s+){0,1}$", text[: match.start()]):
            continue  # "no bleeding", "didn't pass out"
        return Urgency.emergency
    if (_SWELLING.search(text) and _AIRWAY.search(text)) or _ALLERGIC.search(text):
        return Urgency.emergency
    if _DENTAL.search(text) and not _NOT_URGENT.search(text):
        return Urgency.dental
    # "It's an emergency" with no dental sign: the caller's word is taken for it.
    return Urgency.emergency if _EMERGENCY_WORD.search(text) and not ruled_out else Urgency.none
