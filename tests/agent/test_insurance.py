"""The offline eligibility adapter behind verify_insurance."""

from frontdesk.domain.insurance import OfflineEligibility, accepted_carrier

ACCEPTED = ["Delta Dental", "Cigna", "Aetna", "MetLife", "Guardian"]


def test_carriers_match_by_name_or_first_word() -> None:
    assert accepted_carrier(ACCEPTED, "delta") == "Delta Dental"
    assert accepted_carrier(ACCEPTED, "DELTA DENTAL PPO") == "Delta Dental"
    assert accepted_carrier(ACCEPTED, "Met Life") is None  # a different spelling is not guessed
    assert accepted_carrier(ACCEPTED, "Humana") is None


def test_eligibility_answers() -> None:
    check = OfflineEligibility().check
    assert check(ACCEPTED, "cigna", None).accepted and check(ACCEPTED, "cigna", None).eligible is None
    assert check(ACCEPTED, "Cigna", "CG-123456").eligible is True
    assert check(ACCEPTED, "Cigna", "12").eligible is False
    refused = check(ACCEPTED, "Humana", "H1234567")
    assert (refused.accepted, refused.eligible, refused.carrier) == (False, None, "Humana")
