"""Recording policies: the YAML forms, sampling per call id, and team over queue."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from ivr.plan.recording import (
    DEFAULT_ANNOUNCE,
    NOT_RECORDED,
    RecordingPolicy,
    policy_for,
    should_record,
)

IDS = [f"17{i:08d}.{i % 997}" for i in range(10_000)]


def sample(percent: float) -> RecordingPolicy:
    return RecordingPolicy.model_validate({"mode": "sample", "percent": percent})


def test_the_short_yaml_forms_mean_what_they_say() -> None:
    assert RecordingPolicy.model_validate("all").mode == "all"
    assert RecordingPolicy.model_validate("none").mode == "none"
    ten = RecordingPolicy.model_validate("10%")
    assert (ten.mode, ten.sample_percent) == ("sample", 10.0)
    full = RecordingPolicy.model_validate(
        {"mode": "sample", "percent": 2.5, "announce": "sound:beep", "retention_days": 30}
    )
    assert full.announce == ("sound:beep",) and full.retention_days == 30


def test_recorded_calls_are_announced_and_kept_90_days_by_default() -> None:
    policy = RecordingPolicy.model_validate("all")
    assert policy.announce == DEFAULT_ANNOUNCE and policy.announce
    assert policy.retention_days == 90
    assert RecordingPolicy.model_validate({"mode": "all", "announce": []}).announce == ()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("sometimes", "write all, none or 10%"),
        ({"mode": "sample"}, "mode: sample needs percent"),
        ({"mode": "all", "percent": 5}, "percent is only for mode: sample"),
        ({"mode": "sample", "percent": 101}, "less than or equal to 100"),
        ({"mode": "all", "retention_days": 0}, "greater than 0"),
        ({"mode": "all", "announce": ["sound:../../etc/passwd"]}, "no '..'"),
        ({"mode": "all", "every": "day"}, "Extra inputs are not permitted"),
    ],
)
def test_a_wrong_policy_is_refused_with_the_reason(raw: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RecordingPolicy.model_validate(raw)


def test_policies_are_frozen() -> None:
    with pytest.raises(ValidationError):
        RecordingPolicy.model_validate("all").mode = "none"  # type: ignore[misc]


def test_all_and_none_and_the_ends_of_sampling_are_exact() -> None:
    for policy, expected in (
        (RecordingPolicy.model_validate("all"), True),
        (NOT_RECORDED, False),
        (sample(100), True),
        (sample(0), False),
    ):
        assert {should_record(policy, call_id) for call_id in IDS} == {expected}


@pytest.mark.parametrize("percent", [1, 10, 33.3, 50, 90])
def test_sampling_records_about_the_share_asked_for(percent: float) -> None:
    recorded = sum(should_record(sample(percent), call_id) for call_id in IDS)
    expected = len(IDS) * percent / 100
    # Five standard deviations of a binomial: the hash is fixed, so this never flakes.
    tolerance = 5 * (len(IDS) * percent / 100 * (1 - percent / 100)) ** 0.5
    assert abs(recorded - expected) <= tolerance


@given(st.text(min_size=1, max_size=40), st.floats(0, 100), st.floats(0, 100))
def test_a_call_never_flips_and_a_higher_share_keeps_every_call_a_lower_one_had(
    call_id: str, a: float, b: float
) -> None:
    low, high = sorted((a, b))
    assert should_record(sample(low), call_id) == should_record(sample(low), call_id)
    if should_record(sample(low), call_id):
        assert should_record(sample(high), call_id)


def test_the_team_policy_wins_over_the_queue_policy() -> None:
    queue, team = RecordingPolicy.model_validate("none"), RecordingPolicy.model_validate("all")
    assert policy_for(queue, team) is team  # the partner's calls recorded, in-house ones not
    assert policy_for(queue, None) is queue
    assert policy_for(None, team) is team
    assert policy_for(None, None) == NOT_RECORDED
