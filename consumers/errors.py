"""Exceptions of the consumers package (webhook dispatcher, reference receiver, Grafana annotator)."""

from __future__ import annotations

from iocsim.errors import ConfigError, IocsimError


class ConsumersError(IocsimError):
    """Base of every deliberate error of ``iocsim.consumers``."""


class EndpointConfigError(ConsumersError, ConfigError):
    """An endpoint or sink setting is invalid; ``field`` is its path, e.g. ``endpoints[1].secret``."""


class SignatureError(ConsumersError):
    """A webhook request does not pass Standard Webhooks verification.

    ``reason`` is a short fixed code (``missing_headers``, ``bad_timestamp``,
    ``stale``, ``bad_signature``) so receivers can count rejections by cause.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail

    def __reduce__(self) -> tuple[type, tuple[str, ...]]:
        """Rebuilt from its fields: by default only the message is pickled, and a process pool could not raise it."""
        return type(self), (self.reason, self.detail)


class DispatchError(ConsumersError):
    """The dispatcher lost its broker or failed in a way retries cannot mend."""
