"""What every feed model provides to the simulation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from iocsim.contract import Envelope


class Feed(Protocol):
    """A pure model that yields its messages for a scenario, in event-time order.

    Feeds are constructed with ``(profile, scenario, seed, ...)`` and must give
    the same messages for the same inputs. Event ids are deterministic and
    unique within the feed's topic.
    """

    topic: str

    def events(self) -> Iterator[Envelope]: ...
