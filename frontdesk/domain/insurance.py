"""Insurance eligibility: an adapter interface, and the offline adapter used here.

A real clearinghouse adapter (an X12 270/271 eligibility check through a vendor API) plugs in
behind `EligibilityChecker`; the offline adapter answers from the clinic's accepted carriers and
checks that a member id is well formed, which is what a receptionist can verify on the phone.
"""

import re
from dataclasses import dataclass
from typing import Protocol

_MEMBER_ID = re.compile(r"^[A-Za-z0-9-]{5,20}$")
# US dental and health carriers callers name, whether or not a clinic accepts them: what lets the
# agent tell "do you take Humana?" (a carrier) from "do you take cards?" (not one).
KNOWN_CARRIERS = (
    "Delta Dental",
    "Cigna",
    "Aetna",
    "MetLife",
    "Guardian",
    "Humana",
    "UnitedHealthcare",
    "Blue Cross Blue Shield",
    "Blue Cross",
    "Blue Shield",
    "Anthem",
    "Kaiser",
    "Medicaid",
    "Medicare",
    "Ameritas",
    "Principal",
    "Careington",
    "GEHA",
    "Tricare",
)
# Common spoken variants of carrier names, so "delta" finds "Delta Dental".
CARRIER_ALIASES = {
    "bcbs": "blue cross",
    "united": "unitedhealthcare",
    "united healthcare": "unitedhealthcare",
    "sigma": "cigna",  # how speech-to-text often writes it
    "etna": "aetna",
}


@dataclass(frozen=True)
class Eligibility:
    """An eligibility answer the agent can speak."""

    carrier: str  # the clinic's spelling when accepted, else as asked
    accepted: bool
    eligible: bool | None  # None when no member id was given
    detail: str


class EligibilityChecker(Protocol):
    """Checks a patient's coverage with a carrier."""

    def check(self, accepted: list[str], carrier: str, member_id: str | None) -> Eligibility:
        """Whether the clinic accepts the carrier and the member is eligible."""
        ...


def _normalized(name: str) -> str:
    name = re.sub(r"[^a-z0-9 ]", "", name.lower()).strip()
    return CARRIER_ALIASES.get(name, name)


def accepted_carrier(accepted: list[str], carrier: str) -> str | None:
    """The clinic's accepted carrier that `carrier` names (by full name or first word), or None."""
    asked = _normalized(carrier)
    for name in accepted:
        known = _normalized(name)
        if asked == known or (asked and (known.startswith(asked + " ") or asked.startswith(known + " "))):
            return name
    return None


class OfflineEligibility:
    """Eligibility from the clinic's accepted carriers and the member id's form."""

    def check(self, accepted: list[str], carrier: str, member_id: str | None) -> Eligibility:
        """Accepted when the clinic lists the carrier; eligible when the member id is well formed."""
        name = accepted_carrier(accepted, carrier)
        if name is None:
            return Eligibility(carrier.strip(), False, None, "The clinic does not accept this carrier.")
        if member_id is None:
            return Eligibility(name, True, None, "The clinic accepts this carrier.")
        if not _MEMBER_ID.fullmatch(member_id.strip()):
            return Eligibility(
                name, True, False, "The member id does not look valid; ask the caller to check it."
            )
        return Eligibility(
            name, True, True, "The carrier is accepted and the member id is on file for checking."
        )
