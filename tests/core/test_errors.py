"""Errors cross process pools whole: a benchmark's worker process raises them to its parent."""

from __future__ import annotations

import pickle

import pytest

from iocsim.consumers.errors import SignatureError
from iocsim.dashboards.errors import UnknownLanguage, UnknownText
from iocsim.errors import ConfigError
from iocsim.sim.errors import ScenarioError
from iocsim.streams.errors import SettingsError, StateError


@pytest.mark.parametrize(
    "error",
    [
        ConfigError("cameras.width", "must be at least 32"),
        ScenarioError("anomalies[0].entity", "unknown camera"),
        SettingsError("crowd_motion_floor", "must be positive"),
        StateError("TC-01.activity.hours", "must be 24 buckets"),
        SignatureError("stale", "timestamp 300 s old"),
        UnknownLanguage("fr", ("en", "vi")),
        UnknownText("panel.crowd"),
    ],
)
def test_an_error_pickles_with_its_fields(error: Exception) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)
