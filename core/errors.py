"""Exceptions of the top-level package; every error iocsim raises on purpose derives from IocsimError."""

from __future__ import annotations


class IocsimError(Exception):
    """Base of every deliberate iocsim error; the CLI prints these as one line."""


class FieldError(IocsimError):
    """An error about one named field: printed as ``field: reason``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def __reduce__(self) -> tuple[type, tuple[str, ...]]:
        """Rebuilt from its fields: by default only the message is pickled, and a process pool could not raise it."""
        return type(self), (self.field, self.reason)


class ConfigError(FieldError):
    """Invalid configuration or command-line input, naming the field at fault."""


class BrokerError(IocsimError):
    """A Kafka broker could not be started or reached."""
