"""The latency profiles: every drawn delay lies in its profile's range (a check of the numbers drawn,
not of any timing), and a seed replays the same sequence."""

import pytest

from frontdesk.bench.profiles import PROFILES, DelayDraws, profile_named

DRAWS = 500


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_drawn_delay_lies_within_its_range(name: str) -> None:
    profile = PROFILES[name]
    draws = DelayDraws(profile, seed=3)
    for draw, (low, high) in [
        (draws.stt_ms, profile.stt_final_ms),
        (draws.llm_ms, profile.llm_first_token_ms),
        (draws.tts_ms, profile.tts_first_chunk_ms),
    ]:
        values = [draw() for _ in range(DRAWS)]
        assert all(low <= value <= high for value in values)


def test_the_profiles_are_the_issues_numbers() -> None:
    seed, fast, zero = PROFILES["seed"], PROFILES["fast"], PROFILES["zero"]
    assert (seed.stt_final_ms, seed.llm_first_token_ms, seed.tts_first_chunk_ms) == (
        (200, 400),
        (400, 800),
        (300, 500),
    )
    assert seed.tokens_per_second == 60
    assert (fast.stt_final_ms, fast.llm_first_token_ms, fast.tts_first_chunk_ms) == (
        (100, 200),
        (200, 400),
        (150, 250),
    )
    assert fast.tokens_per_second == 120
    assert (zero.stt_final_ms, zero.llm_first_token_ms, zero.tts_first_chunk_ms) == ((0, 0), (0, 0), (0, 0))
    assert zero.tokens_per_second is None


def test_a_seed_replays_the_same_delays_and_another_seed_does_not() -> None:
    def sequence(seed: int) -> list[float]:
        draws = DelayDraws(PROFILES["seed"], seed)
        return [draws.stt_ms() + draws.llm_ms() + draws.tts_ms() for _ in range(20)]

    assert sequence(1) == sequence(1)
    assert sequence(1) != sequence(2)


def test_an_unknown_profile_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="seed, fast, zero"):
        profile_named("slow")
