"""Exceptions of the streams package (detectors, alert lifecycle, agents)."""

from __future__ import annotations

from iocsim.errors import ConfigError, IocsimError


class StreamsError(IocsimError):
    """Base of every deliberate error raised by ``iocsim.streams``."""


class SettingsError(StreamsError, ConfigError):
    """A detector or lifecycle setting is out of range, naming the field at fault."""


class StateError(StreamsError):
    """Exported state cannot be restored (e.g. read back from a table), naming the field at fault."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def __reduce__(self) -> tuple[type, tuple[str, ...]]:
        """Rebuilt from its fields: by default only the message is pickled, and a process pool could not raise it."""
        return type(self), (self.field, self.reason)
