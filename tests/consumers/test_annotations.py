"""Grafana annotations through grafana-client, against a loopback server that speaks Grafana's documented API.

The server checks what Grafana's HTTP API documents (grafana.com/docs/grafana/latest/developers/http_api/
annotations/): ``POST /api/annotations`` with ``time`` (ms), optional ``timeEnd``, ``tags``, ``text``,
optional ``dashboardUID``/``panelId``; ``PATCH /api/annotations/:id``; ``GET /api/annotations?tags=..``;
``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web

from iocsim.broker import BrokerAddress
from iocsim.consumers.annotations import GrafanaAnnotator, GrafanaSettings, instance_tag
from iocsim.consumers.delivery import Transition
from iocsim.consumers.dispatcher import Dispatcher, DispatchSettings
from iocsim.consumers.errors import EndpointConfigError
from iocsim.consumers.retry import RetryPolicy
from iocsim.contract import Alert, encode

AlertFactory = Callable[..., Alert]
TOKEN = "glsa_test_token_0123456789"
_OPTIONAL_INT = (int, type(None))


class FakeGrafana:
    """Just enough of Grafana's annotations API to check the requests and answer like Grafana does."""

    def __init__(self) -> None:
        self.annotations: dict[int, dict[str, Any]] = {}
        self.calls: list[tuple[str, str, Any]] = []
        self.problems: list[str] = []
        self.app = web.Application()
        self.app.router.add_post("/api/annotations", self.create)
        self.app.router.add_patch("/api/annotations/{id}", self.patch)
        self.app.router.add_get("/api/annotations", self.find)
        self.runner = web.AppRunner(self.app)
        self.url = ""

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    def _check(self, body: dict[str, Any], creating: bool) -> None:
        def expect(ok: bool, what: str) -> None:
            if not ok:
                self.problems.append(what)

        expect(isinstance(body.get("time"), int) or (not creating and body.get("time") is None), "time: int ms")
        expect(isinstance(body.get("timeEnd"), _OPTIONAL_INT), "timeEnd: int ms or absent")
        expect(isinstance(body.get("tags"), list) and all(isinstance(t, str) for t in body["tags"]), "tags: [str]")
        expect(isinstance(body.get("text"), str) and (bool(body["text"]) or not creating), "text: str")
        expect(isinstance(body.get("panelId"), _OPTIONAL_INT), "panelId: int")
        expect(isinstance(body.get("dashboardUID", ""), str), "dashboardUID: str")

    async def create(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized"}, status=401)
        body = await request.json()
        self.calls.append(("POST", request.path, body))
        self._check(body, creating=True)
        annotation_id = len(self.annotations) + 1
        self.annotations[annotation_id] = {
            "id": annotation_id,
            "time": body["time"],
            "timeEnd": body.get("timeEnd") or body["time"],
            "tags": body["tags"],
            "text": body["text"],
        }
        return web.json_response({"message": "Annotation added", "id": annotation_id})

    async def patch(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized"}, status=401)
        body = await request.json()
        self.calls.append(("PATCH", request.path, body))
        self._check(body, creating=False)
        annotation = self.annotations.get(int(request.match_info["id"]))
        if annotation is None:
            return web.json_response({"message": "Could not find annotation to update"}, status=404)
        for field in ("time", "timeEnd"):
            if body.get(field):
                annotation[field] = body[field]
        if body.get("tags") is not None:
            annotation["tags"] = body["tags"]
        if body.get("text"):
            annotation["text"] = body["text"]
        return web.json_response({"message": "Annotation patched"})

    async def find(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized"}, status=401)
        self.calls.append(("GET", request.path_qs, None))
        wanted = set(request.query.getall("tags", []))
        found = [a for a in self.annotations.values() if wanted <= set(a["tags"])]
        return web.json_response(found[: int(request.query.get("limit", "100"))])


def transition_of(alert: Alert, published_at: float) -> Transition:
    return Transition(alert, encode(alert), "ioc.alerts", 0, 0, published_at)


def with_grafana(scenario: Callable[[FakeGrafana], Any]) -> tuple[FakeGrafana, Any]:
    async def main() -> tuple[FakeGrafana, Any]:
        grafana = FakeGrafana()
        await grafana.start()
        try:
            return grafana, await scenario(grafana)
        finally:
            await grafana.runner.cleanup()

    return asyncio.run(main())


def test_firing_adds_an_annotation_and_resolved_closes_the_region(alert_factory: AlertFactory) -> None:
    async def scenario(grafana: FakeGrafana) -> list[int | None]:
        settings = GrafanaSettings(url=grafana.url, token=TOKEN, dashboard_uid="iocsim-overview", panel_id=4)
        annotator = GrafanaAnnotator(settings)
        firing = await annotator.attempt(transition_of(alert_factory(1), 1_800_000_000.5), None)
        resolved = await annotator.attempt(transition_of(alert_factory(1, "resolved"), 1_800_000_060.0), None)
        return [firing.status, resolved.status]

    grafana, statuses = with_grafana(scenario)
    assert statuses == [200, 200] and grafana.problems == []
    assert [(method, urlsplit(path).path) for method, path, _ in grafana.calls] == [
        ("GET", "/api/annotations"),
        ("POST", "/api/annotations"),
        ("PATCH", "/api/annotations/1"),
    ]
    assert parse_qs(urlsplit(grafana.calls[0][1]).query) == {
        "tags": [instance_tag(alert_factory(1))],
        "type": ["annotation"],
        "limit": ["1"],
    }
    created, patched = grafana.calls[1][2], grafana.calls[2][2]
    assert created["time"] == 1_800_000_000_500 and created["timeEnd"] is None
    assert created["dashboardUID"] == "iocsim-overview" and created["panelId"] == 4
    assert {"kind:crowd", "severity:critical", "district:muong-ang"} <= set(created["tags"])
    assert created["text"].startswith("[FIRING] crowd at CAM-001")
    assert patched["timeEnd"] == 1_800_000_060_000 and patched["tags"] == created["tags"]
    assert grafana.annotations[1]["time"] == 1_800_000_000_500
    assert grafana.annotations[1]["text"].startswith("[RESOLVED]")


def test_replays_find_the_annotation_they_made_before(alert_factory: AlertFactory) -> None:
    async def scenario(grafana: FakeGrafana) -> None:
        settings = GrafanaSettings(url=grafana.url, token=TOKEN, clock="sim")
        await GrafanaAnnotator(settings).attempt(transition_of(alert_factory(2), 0.0), None)
        restarted = GrafanaAnnotator(settings)
        await restarted.attempt(transition_of(alert_factory(2), 0.0), None)
        await restarted.attempt(transition_of(alert_factory(2, "resolved"), 0.0), None)
        await restarted.attempt(transition_of(alert_factory(3, "resolved"), 0.0), None)

    grafana, _ = with_grafana(scenario)
    assert grafana.problems == []
    assert [m for m, _, _ in grafana.calls if m != "GET"] == ["POST", "PATCH", "POST"]
    start = int(alert_factory(2).payload.starts_at * 1000)
    assert grafana.annotations[1]["time"] == start and grafana.annotations[1]["timeEnd"] == start + 60_000
    assert grafana.annotations[2]["timeEnd"] - grafana.annotations[2]["time"] == 60_000


def test_a_wrong_token_is_a_permanent_failure(alert_factory: AlertFactory) -> None:
    async def scenario(grafana: FakeGrafana) -> int | None:
        annotator = GrafanaAnnotator(GrafanaSettings(url=grafana.url, token="wrong"))
        return (await annotator.attempt(transition_of(alert_factory(1), 0.0), None)).status

    assert with_grafana(scenario)[1] == 401


def test_settings_name_the_field() -> None:
    with pytest.raises(EndpointConfigError, match=r"^--grafana-token: missing"):
        GrafanaSettings(url="http://127.0.0.1:3000", token="")
    with pytest.raises(EndpointConfigError, match=r"^--grafana-url: "):
        GrafanaSettings(url="grafana:3000", token=TOKEN)


@pytest.mark.broker
@pytest.mark.slow
def test_dispatcher_annotates_alerts_from_the_topic(
    broker_address: BrokerAddress,
    alerts_topic: str,
    alert_factory: AlertFactory,
    publish_alerts: Callable[[str, list[Alert]], None],
) -> None:
    publish_alerts(alerts_topic, [alert_factory(1), alert_factory(2), alert_factory(1, "resolved")])

    async def scenario(grafana: FakeGrafana) -> None:
        retry = RetryPolicy(backoff_initial=0.05, backoff_max=0.2)
        settings = DispatchSettings(
            brokers=broker_address,
            grafana=GrafanaSettings(url=grafana.url, token=TOKEN, retry=retry, clock="sim"),
            topic=alerts_topic,
            group_id=f"test-{uuid.uuid4().hex[:8]}",
            session_timeout=6.0,
        )
        dispatcher = Dispatcher(settings)
        task = asyncio.create_task(dispatcher.run())
        deadline = time.monotonic() + 20
        while sum(1 for m, _, _ in grafana.calls if m != "GET") < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        dispatcher.stop()
        await task

    grafana, _ = with_grafana(scenario)
    assert grafana.problems == []
    assert sorted(m for m, _, _ in grafana.calls if m != "GET") == ["PATCH", "POST", "POST"]
    closed = [a for a in grafana.annotations.values() if a["text"].startswith("[RESOLVED]")]
    assert len(closed) == 1 and closed[0]["timeEnd"] - closed[0]["time"] == 60_000
