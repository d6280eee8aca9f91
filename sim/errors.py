"""Exceptions of the simulation package."""

from __future__ import annotations

from iocsim.errors import ConfigError


class SimError(ConfigError):
    """Invalid simulation input (profile, scenario, video), naming the field at fault."""


class ProfileError(SimError):
    """A province profile file is missing or invalid."""


class ScenarioError(SimError):
    """A scenario file is missing or invalid."""


class VideoError(SimError):
    """A camera video source cannot be opened or read."""
