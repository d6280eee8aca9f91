"""Exceptions of the streams package (detectors, alert lifecycle, agents)."""

from __future__ import annotations

from iocsim.errors import ConfigError, FieldError, IocsimError


class StreamsError(IocsimError):
    """Base of every deliberate error raised by ``iocsim.streams``."""


class SettingsError(StreamsError, ConfigError):
    """A detector or lifecycle setting is out of range, naming the field at fault."""


class StateError(StreamsError, FieldError):
    """Exported state cannot be restored (e.g. read back from a table), naming the field at fault."""
