"""Exceptions of the producers package."""

from __future__ import annotations

from iocsim.errors import IocsimError


class ProducerError(IocsimError):
    """Messages could not be delivered to Kafka."""
