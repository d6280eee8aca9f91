"""Alerts as Grafana annotations: a firing alert opens one, its resolution turns it into a region.

Annotations go through ``grafana-client`` (``POST /api/annotations``, then
``PATCH /api/annotations/:id`` with ``timeEnd``). Every annotation carries a
tag naming the alert instance (fingerprint and start), so a replayed
transition finds the annotation it made before instead of adding a twin.

Times are wall-clock by default (when the detector published the transition)
because dashboards plot Prometheus series scraped in wall time; with
``clock="sim"`` they are the alert's own start and end on the sim clock, which
line up only when the simulation runs in real time from now.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal

import niquests
from grafana_client.api import AsyncGrafanaApi
from grafana_client.client import GrafanaException

from iocsim.consumers.delivery import AttemptResult, Transition
from iocsim.consumers.endpoints import check_url
from iocsim.consumers.errors import EndpointConfigError
from iocsim.consumers.payloads import rfc3339
from iocsim.consumers.retry import RetryPolicy
from iocsim.contract import Alert

log = logging.getLogger(__name__)

_REMEMBERED = 10_000


@dataclass(frozen=True)
class GrafanaSettings:
    """Where to annotate; ``token`` is a service-account token sent as ``Authorization: Bearer``."""

    url: str
    token: str = field(repr=False)
    dashboard_uid: str | None = None
    panel_id: int | None = None
    clock: Literal["wall", "sim"] = "wall"
    timeout: float = 10.0
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=8, max_age=600.0))
    name: str = "grafana"

    def __post_init__(self) -> None:
        check_url(self.url, "--grafana-url")
        if not self.token:
            raise EndpointConfigError("--grafana-token", "missing (or set IOCSIM_GRAFANA_TOKEN)")
        if self.clock not in ("wall", "sim"):
            raise EndpointConfigError("grafana.clock", f"{self.clock!r} is not wall or sim")


def instance_tag(alert: Alert) -> str:
    """Names one alert instance (a fingerprint from one start): what firing and resolved share."""
    return f"alert:{alert.payload.fingerprint}-{alert.payload.starts_at:.3f}"


def tags_of(alert: Alert) -> list[str]:
    details = alert.payload
    return [
        "iocsim",
        f"kind:{details.kind}",
        f"severity:{details.severity}",
        f"district:{alert.district}",
        instance_tag(alert),
    ]


def text_of(alert: Alert) -> str:
    details = alert.payload
    what = details.summary or f"{details.kind} on {alert.entity_id}"
    span = f"from {rfc3339(details.starts_at)}"
    if details.status == "resolved" and details.ends_at is not None:
        span += f" to {rfc3339(details.ends_at)}"
    return f"[{details.status.upper()}] {what} ({details.severity}, {alert.entity_id}; sim time {span})"


class GrafanaAnnotator:
    """A sink (see ``delivery.Sink``) writing annotations; one instance per Grafana."""

    concurrency = 2
    queue_size = 1000

    def __init__(self, settings: GrafanaSettings, api: Any | None = None) -> None:
        self.settings = settings
        self._api = api or AsyncGrafanaApi.from_url(settings.url, credential=settings.token, timeout=settings.timeout)
        self._ids: OrderedDict[str, int] = OrderedDict()

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def retry(self) -> RetryPolicy:
        return self.settings.retry

    def matches(self, alert: Alert) -> bool:
        return True

    async def attempt(self, transition: Transition, previous: AttemptResult | None) -> AttemptResult:
        try:
            await self.annotate(transition)
        except GrafanaException as exc:
            return AttemptResult(exc.status_code or None, f"Grafana: {exc.message}", timed_out=exc.status_code == 0)
        except niquests.exceptions.RequestException as exc:
            return AttemptResult(None, f"Grafana unreachable: {type(exc).__name__}: {exc}")
        return AttemptResult(200)

    def _times(self, transition: Transition) -> tuple[int, int | None]:
        details = transition.alert.payload
        if self.settings.clock == "sim":
            end = details.ends_at if details.status == "resolved" else None
            return int(details.starts_at * 1000), None if end is None else int(end * 1000)
        if details.status == "firing":
            return int(transition.published_at * 1000), None
        lasted = max(0.0, (details.ends_at or transition.alert.event_time) - details.starts_at)
        return int((transition.published_at - lasted) * 1000), int(transition.published_at * 1000)

    async def _existing(self, tag: str) -> int | None:
        if tag in self._ids:
            self._ids.move_to_end(tag)
            return self._ids[tag]
        found = await self._api.annotations.find_annotations(tags=[tag], ann_type="annotation", limit=1)
        if isinstance(found, list) and found and isinstance(found[0], dict) and "id" in found[0]:
            return self._remember(tag, int(found[0]["id"]))
        return None

    def _remember(self, tag: str, annotation_id: int) -> int:
        self._ids[tag] = annotation_id
        self._ids.move_to_end(tag)
        while len(self._ids) > _REMEMBERED:
            self._ids.popitem(last=False)
        return annotation_id

    async def annotate(self, transition: Transition) -> None:
        alert = transition.alert
        tag = instance_tag(alert)
        start, end = self._times(transition)
        existing = await self._existing(tag)
        if existing is not None and alert.payload.status == "firing":
            return
        if existing is not None:
            await self._api.annotations.partial_update_annotation(
                existing,
                time_from=start if self.settings.clock == "sim" else None,
                time_to=end,
                tags=tags_of(alert),
                text=text_of(alert),
            )
            return
        created = await self._api.annotations.add_annotation(
            dashboard_uid=self.settings.dashboard_uid,
            panel_id=self.settings.panel_id,
            time_from=start,
            time_to=end,
            tags=tags_of(alert),
            text=text_of(alert),
        )
        if isinstance(created, dict) and "id" in created:
            self._remember(tag, int(created["id"]))
