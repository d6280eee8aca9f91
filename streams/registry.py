"""The detectors a worker runs by default for a province profile.

Every module of ``iocsim.streams.detectors`` that defines
``detectors_for(profile) -> Sequence[Detector]`` contributes its detectors,
in module-name order so that every worker builds the same tables. A module
without that function (a helper) contributes nothing.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence

from iocsim.sim.profiles import Profile
from iocsim.streams import detectors as detectors_package
from iocsim.streams.detector import Detector
from iocsim.streams.detectors.camera_settings import camera_lifecycle_settings
from iocsim.streams.lifecycle import LifecycleSettings

FACTORY = "detectors_for"


def default_detectors(profile: Profile) -> list[Detector]:
    """Detectors of every module in ``iocsim.streams.detectors``, configured for ``profile``."""
    found: list[Detector] = []
    for module_info in sorted(pkgutil.iter_modules(detectors_package.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{detectors_package.__name__}.{module_info.name}")
        factory: Callable[[Profile], Sequence[Detector]] | None = getattr(module, FACTORY, None)
        if callable(factory):
            found.extend(factory(profile))
    return found


def default_lifecycle_settings() -> LifecycleSettings:
    """Alert timings of every default detector's rules (the others fire and resolve at once)."""
    return camera_lifecycle_settings()
