from __future__ import annotations

import pytest

from iocsim.loadtest.errors import ProfileError
from iocsim.loadtest.profile import constant_profile, parse_profile


def test_stages_follow_one_another_and_scale_multiplies_rates() -> None:
    profile = parse_profile(
        {
            "name": "tet",
            "scale": 20,
            "stages": [
                {"kind": "constant", "rate": 10, "duration": "10s"},
                {"kind": "ramp", "rate": 10, "to_rate": 50, "duration": "1m"},
                {"kind": "constant", "feed": "cameras", "rate": 5, "duration": 30, "start": "5s"},
            ],
        }
    )
    assert [s.start_s for s in profile.stages] == [0.0, 10.0, 5.0]
    assert [s.rate for s in profile.stages] == [200.0, 200.0, 100.0]
    assert profile.stages[1].to_rate == 1000.0
    assert profile.duration_s == 70.0
    assert profile.feeds == ("all", "cameras")


def test_step_and_spike_pieces() -> None:
    profile = parse_profile(
        {
            "stages": [
                {"kind": "step", "rate": 100, "to_rate": 400, "steps": 4, "duration": "40s"},
                {
                    "kind": "spike",
                    "rate": 10,
                    "to_rate": 1000,
                    "spike_at": "5s",
                    "spike_duration": "2s",
                    "duration": 20,
                },
            ]
        }
    )
    step, spike = profile.stages
    assert [(p[0], p[2]) for p in step.segments()] == [(0.0, 100.0), (10.0, 200.0), (20.0, 300.0), (30.0, 400.0)]
    assert [(p[0], p[1], p[2]) for p in spike.segments()] == [
        (40.0, 5.0, 10.0),
        (45.0, 2.0, 1000.0),
        (47.0, 13.0, 10.0),
    ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"stages": [{"kind": "burst", "rate": 1, "duration": 1}]}, "stages[0].kind"),
        ({"stages": [{"kind": "constant", "rate": -5, "duration": 1}]}, "stages[0].rate"),
        ({"stages": [{"kind": "constant", "rate": 5, "duration": "soon"}]}, "stages[0].duration"),
        ({"stages": [{"kind": "ramp", "rate": 5, "duration": 10}]}, "stages[0].to_rate"),
        ({"stages": [{"kind": "constant", "rate": 5, "duration": 1, "feed": "radio"}]}, "stages[0].feed"),
        ({"stages": [{"kind": "constant", "rate": 5, "duration": 1, "peak": 3}]}, "stages[0].peak"),
        ({"stages": []}, "stages"),
        ({"scale": 0, "stages": [{"kind": "constant", "rate": 5, "duration": 1}]}, "scale"),
    ],
)
def test_bad_profiles_fail_naming_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(ProfileError) as caught:
        parse_profile(data)
    assert caught.value.field == field


def test_constant_profile_from_flags() -> None:
    profile = constant_profile(500, "2m", "services", scale=2)
    assert profile.stages[0].rate == 1000.0
    assert profile.duration_s == 120.0
