"""Short Vietnamese report texts and agency names, written from templates with slots.

Texts live in YAML (``texts/incidents_vi.yaml``) so that wording can be
reviewed and extended without touching code. A template names its slots in
braces: ``{commune}``, ``{district}`` and ``{time}`` come from the report
itself; every other slot draws from the file's word lists (optionally
overridden per district kind, so city reports name city streets). Loading
checks every slot, so a rendered text never shows a brace.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

import msgspec
import numpy as np

from iocsim.contract import INCIDENT_CATEGORIES
from iocsim.sim.errors import SimError
from iocsim.sim.profiles import District

REPORT_SLOTS = frozenset({"commune", "district", "time"})
_COMMUNE_UNITS = ("xã ", "phường ", "thị trấn ")


class _TextFile(msgspec.Struct, forbid_unknown_fields=True):
    units: dict[str, str]
    agencies: dict[str, str]
    slots: dict[str, list[str]]
    templates: dict[str, list[str]]
    kind_slots: dict[str, dict[str, list[str]]] = {}


@dataclass(frozen=True)
class IncidentTexts:
    units: Mapping[str, str]
    agencies: Mapping[str, str]
    slots: Mapping[str, tuple[str, ...]]
    kind_slots: Mapping[str, Mapping[str, tuple[str, ...]]]
    templates: Mapping[str, tuple[str, ...]]

    def district_name(self, district: District) -> str:
        """``huyện Tủa Chùa``: the name as it reads inside a sentence."""
        unit = self.units.get(district.kind, "")
        if district.name.casefold().startswith(unit.casefold()):
            return _lower_first(district.name)
        return f"{unit} {district.name}".strip()

    def agency(self, category: str, district: District) -> str:
        return self.agencies[category].format(district=self.district_name(district))

    def render(
        self, rng: np.random.Generator, category: str, commune: str, district: District, local: dt.datetime
    ) -> str:
        templates = self.templates[category]
        template = templates[int(rng.integers(len(templates)))]
        values = {"commune": commune_name(commune), "district": self.district_name(district), "time": clock(local)}
        overrides = self.kind_slots.get(district.kind, {})
        for slot in _slots_of(template) - REPORT_SLOTS:
            words = overrides.get(slot) or self.slots[slot]
            values[slot] = words[int(rng.integers(len(words)))]
        text = template.format_map(values)
        return text[:1].upper() + text[1:]


def commune_name(name: str) -> str:
    """``xã Mường Báng`` from ``Xã Mường Báng``; a bare name stays as it is."""
    return _lower_first(name) if name.casefold().startswith(_COMMUNE_UNITS) else name


def clock(local: dt.datetime) -> str:
    """``15 giờ 20``: the time of day the way a report states it, to five minutes."""
    minute = (local.minute // 5) * 5
    return f"{local.hour} giờ {minute:02d}" if minute else f"{local.hour} giờ"


def load_texts(name: str = "incidents_vi") -> IncidentTexts:
    resource = resources.files("iocsim.sim").joinpath("texts", f"{name}.yaml")
    if not resource.is_file():
        raise SimError("incidents.texts", f"no text file {name!r} in iocsim.sim/texts")
    try:
        raw = msgspec.yaml.decode(resource.read_bytes(), type=_TextFile)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise SimError(f"texts {name}", str(exc)) from exc
    texts = IncidentTexts(
        units=raw.units,
        agencies=raw.agencies,
        slots={k: tuple(v) for k, v in raw.slots.items()},
        kind_slots={kind: {k: tuple(v) for k, v in slots.items()} for kind, slots in raw.kind_slots.items()},
        templates={k: tuple(v) for k, v in raw.templates.items()},
    )
    _check(texts, name)
    return texts


def _check(texts: IncidentTexts, name: str) -> None:
    for category in INCIDENT_CATEGORIES:
        if not texts.templates.get(category):
            raise SimError(f"texts {name}.templates.{category}", "needs at least one template")
        if category not in texts.agencies:
            raise SimError(f"texts {name}.agencies.{category}", "missing")
        if _slots_of(texts.agencies[category]) - {"district"}:
            raise SimError(f"texts {name}.agencies.{category}", "may only use the {district} slot")
    for field, words in [*texts.slots.items(), *((k, v) for s in texts.kind_slots.values() for k, v in s.items())]:
        if not words:
            raise SimError(f"texts {name}.slots.{field}", "needs at least one entry")
    for category, templates in texts.templates.items():
        for i, template in enumerate(templates):
            unknown = _slots_of(template) - REPORT_SLOTS - set(texts.slots)
            if unknown:
                raise SimError(f"texts {name}.templates.{category}[{i}]", f"unknown slots {sorted(unknown)}")


def _slots_of(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
