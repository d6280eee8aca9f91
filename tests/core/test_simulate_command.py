"""Which simulation ``iocsim simulate`` and ``iocsim run`` ask for: flags over environment over config file."""

from __future__ import annotations

import pytest

from iocsim.cli import build_parser
from iocsim.config import load_config_file
from iocsim.sim.simulation import FEEDS
from iocsim.simulate_command import resolve_spec


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("IOCSIM_SCENARIO", "IOCSIM_FEEDS", "IOCSIM_DURATION", "IOCSIM_PROFILE", "IOCSIM_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def feeds_of(*argv: str) -> tuple[str, ...]:
    spec, _ = resolve_spec(build_parser().parse_args(["simulate", *argv]), load_config_file(None))
    return spec.feeds


def test_a_scenario_that_names_its_feeds_simulates_those_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    assert feeds_of("--scenario", "services") == ("services",)
    assert feeds_of("--scenario", "services", "--feeds", "cameras,services") == ("cameras", "services")
    monkeypatch.setenv("IOCSIM_FEEDS", "incidents")
    assert feeds_of("--scenario", "services") == ("incidents",)


def test_without_named_feeds_all_are_simulated() -> None:
    assert feeds_of("--scenario", "every_kind") == FEEDS
    assert feeds_of() == FEEDS
