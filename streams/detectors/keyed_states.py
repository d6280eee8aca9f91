"""The state half of the detector protocol, for detectors that hold one state object per key.

The worker loads the states a batch touches from its changelog-backed table, and stores back what
changed; a detector only says how one of its states is read back from plain data.
"""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar


class StateRecord(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


S = TypeVar("S", bound=StateRecord)


class KeyedStates(Generic[S]):
    """``load_state``, ``export_state`` and ``forget`` over ``self._states``; subclasses define ``state_from_dict``."""

    _states: dict[str, S]

    def state_from_dict(self, key: str, data: dict[str, Any]) -> S:
        raise NotImplementedError

    def load_state(self, key: str, state: dict[str, Any]) -> None:
        self._states[key] = self.state_from_dict(key, state)

    def export_state(self, key: str) -> dict[str, Any] | None:
        state = self._states.get(key)
        return None if state is None else state.to_dict()

    def forget(self, key: str) -> None:
        self._states.pop(key, None)
