"""Pushing dashboards through grafana-client to a loopback server that speaks Grafana's documented HTTP API.

The server follows grafana.com/docs/grafana/latest/developers/http_api/: ``GET /api/folders`` lists
``[{id, uid, title}]``; ``POST /api/folders`` takes ``{uid, title}``; ``POST /api/dashboards/db`` takes
``{dashboard, folderUid, overwrite, message}`` with ``dashboard.id`` null and a uid of at most 40
characters, answers ``{id, uid, url, status, version, slug}``, and 412 ``version-mismatch`` when the
dashboard changed since and ``overwrite`` is false. Requests carry ``Authorization: Bearer <token>`` or
basic auth, and JSON bodies ``Content-Type: application/json``; anything else is answered as Grafana does
(401, 400) and recorded as a problem.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from iocsim.cli import main
from iocsim.dashboards.errors import DashboardError
from iocsim.dashboards.push import GrafanaTarget, GrafanaTargetError, PushError, PushOptions, push_all
from iocsim.errors import ConfigError

TOKEN = "glsa_push_test_0123456789abcdef"
USER, PASSWORD = "admin", "s3cret:with-colon"


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class GrafanaState:
    """What the loopback Grafana holds and saw; ``fail`` forces a status (with Grafana's body) on a path."""

    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    fail: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    next_id: int = 1
    sub_path: str = ""


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "dashboard"


class GrafanaHandler(BaseHTTPRequestHandler):
    state: GrafanaState

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        state = self.state
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = None
        if method == "POST":
            if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
                state.problems.append(f"{method} {path}: Content-Type {self.headers.get('Content-Type')!r}")
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                state.problems.append(f"{method} {path}: body is not JSON")
                self._answer(400, {"message": "bad request data"})
                return
        state.calls.append(Call(method, path, dict(self.headers.items()), body))
        path = path.removeprefix(state.sub_path)
        if not path.startswith("/api/"):
            self._answer(404, {"message": "Not found"})
            return
        if not self._authorised():
            self._answer(401, {"message": "Unauthorized", "messageId": "auth.unauthorized", "statusCode": 401})
            return
        if path in state.fail:
            status, answer = state.fail[path]
            self._answer(status, answer)
            return
        if (method, path) == ("GET", "/api/folders"):
            self._answer(200, [{"id": f["id"], "uid": uid, "title": f["title"]} for uid, f in state.folders.items()])
        elif (method, path) == ("POST", "/api/folders"):
            self._create_folder(body)
        elif (method, path) == ("POST", "/api/dashboards/db"):
            self._save_dashboard(body)
        else:
            self._answer(404, {"message": "Not found"})

    def _authorised(self) -> bool:
        given = self.headers.get("Authorization", "")
        basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        return given in (f"Bearer {TOKEN}", f"Basic {basic}")

    def _create_folder(self, body: Any) -> None:
        state = self.state
        if not isinstance(body, dict) or not isinstance(body.get("title"), str) or set(body) - {"uid", "title"}:
            state.problems.append(f"POST /api/folders body {body!r}")
            self._answer(400, {"message": "bad request data"})
            return
        uid = str(body.get("uid") or f"f{state.next_id}")
        if uid in state.folders:
            self._answer(409, {"message": "a folder with the same uid already exists"})
            return
        state.folders[uid] = {"id": state.next_id, "title": body["title"]}
        state.next_id += 1
        self._answer(200, {"id": state.folders[uid]["id"], "uid": uid, "title": body["title"], "version": 1})

    def _save_dashboard(self, body: Any) -> None:
        state = self.state
        expected = {"dashboard", "folderUid", "overwrite", "message"}
        if not isinstance(body, dict) or set(body) != expected:
            state.problems.append(f"POST /api/dashboards/db fields {sorted(body) if isinstance(body, dict) else body}")
            self._answer(400, {"message": "bad request data"})
            return
        model, folder_uid = body["dashboard"], body["folderUid"]
        if not isinstance(model, dict) or model.get("id") is not None or not isinstance(model.get("title"), str):
            state.problems.append("dashboard: needs id null and a title")
        if not isinstance(model.get("uid"), str) or not 0 < len(model["uid"]) <= 40:
            state.problems.append(f"dashboard.uid {model.get('uid')!r}: a string of at most 40 characters")
        if not isinstance(body["overwrite"], bool) or not isinstance(body["message"], str):
            state.problems.append("overwrite: bool, message: str")
        if folder_uid not in state.folders:
            self._answer(400, {"message": "folder not found", "status": "not-found"})
            return
        uid = model["uid"]
        existing = state.dashboards.get(uid)
        if existing is not None and not body["overwrite"] and model.get("version") != existing["version"]:
            self._answer(
                412, {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"}
            )
            return
        version = 1 if existing is None else existing["version"] + 1
        dashboard_id = existing["id"] if existing else state.next_id
        state.next_id += existing is None
        state.dashboards[uid] = {"id": dashboard_id, "version": version, "folderUid": folder_uid, "model": model}
        slug = _slug(model["title"])
        self._answer(
            200,
            {
                "id": dashboard_id,
                "uid": uid,
                "url": f"{state.sub_path}/d/{uid}/{slug}",
                "status": "success",
                "version": version,
                "slug": slug,
            },
        )

    def _answer(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@dataclass
class LoopbackGrafana:
    url: str
    state: GrafanaState


@pytest.fixture
def grafana() -> Iterator[LoopbackGrafana]:
    state = GrafanaState()
    handler = type("Handler", (GrafanaHandler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LoopbackGrafana(f"http://127.0.0.1:{server.server_address[1]}", state)
    finally:
        server.shutdown()
        server.server_close()


def dashboard(uid: str, title: str) -> dict[str, Any]:
    return {
        "id": 7,
        "uid": uid,
        "title": title,
        "version": 1,
        "schemaVersion": 39,
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]},
        "panels": [
            {"id": 1, "type": "stat", "title": "Camera trực tuyến", "gridPos": {"x": 0, "y": 0, "w": 6, "h": 4}}
        ],
    }


DASHBOARDS = {
    "iocsim-overview": dashboard("iocsim-overview", "Tổng quan IOC"),
    "iocsim-cameras": dashboard("iocsim-cameras", "Camera an ninh"),
}


def test_push_creates_the_folder_then_saves_every_dashboard_with_a_bearer_token(grafana: LoopbackGrafana) -> None:
    target = GrafanaTarget(url=grafana.url, token=TOKEN)
    results = push_all(DASHBOARDS, target, PushOptions(folder="IOC", folder_uid="iocsim", message="first"))

    state = grafana.state
    assert state.problems == []
    assert [(c.method, c.path) for c in state.calls] == [
        ("GET", "/api/folders"),
        ("POST", "/api/folders"),
        ("POST", "/api/dashboards/db"),
        ("POST", "/api/dashboards/db"),
    ]
    assert all(c.headers["Authorization"] == f"Bearer {TOKEN}" for c in state.calls)
    assert state.calls[1].body == {"uid": "iocsim", "title": "IOC"}
    saved = state.calls[2].body
    assert saved["folderUid"] == "iocsim" and saved["overwrite"] is True and saved["message"] == "first"
    assert saved["dashboard"]["id"] is None
    assert saved["dashboard"]["panels"] == DASHBOARDS["iocsim-overview"]["panels"]
    assert state.dashboards.keys() == DASHBOARDS.keys()
    assert [(r.uid, r.version, r.url) for r in results] == [
        ("iocsim-overview", 1, f"{grafana.url}/d/iocsim-overview/t-ng-quan-ioc"),
        ("iocsim-cameras", 1, f"{grafana.url}/d/iocsim-cameras/camera-an-ninh"),
    ]


def test_a_second_push_reuses_the_folder_and_adds_a_version(grafana: LoopbackGrafana) -> None:
    target = GrafanaTarget(url=grafana.url, token=TOKEN)
    push_all(DASHBOARDS, target, PushOptions())
    grafana.state.calls.clear()
    results = push_all(DASHBOARDS, target, PushOptions())
    assert [c.path for c in grafana.state.calls].count("/api/folders") == 1
    assert [r.version for r in results] == [2, 2]
    assert list(grafana.state.folders) == ["iocsim"]


def test_a_folder_with_the_same_title_is_reused_under_its_own_uid(grafana: LoopbackGrafana) -> None:
    grafana.state.folders["made-by-hand"] = {"id": 40, "title": "IOC"}
    push_all(DASHBOARDS, GrafanaTarget(url=grafana.url, token=TOKEN), PushOptions(folder="IOC"))
    assert ("POST", "/api/folders") not in [(c.method, c.path) for c in grafana.state.calls]
    assert {d["folderUid"] for d in grafana.state.dashboards.values()} == {"made-by-hand"}


def test_basic_auth_sends_the_user_and_password(grafana: LoopbackGrafana) -> None:
    results = push_all(DASHBOARDS, GrafanaTarget(url=grafana.url, user=USER, password=PASSWORD), PushOptions())
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert {c.headers["Authorization"] for c in grafana.state.calls} == {expected}
    assert len(results) == 2 and grafana.state.problems == []


def test_a_rejected_token_is_one_clear_error(grafana: LoopbackGrafana) -> None:
    with pytest.raises(PushError) as caught:
        push_all(DASHBOARDS, GrafanaTarget(url=grafana.url, token="glsa_wrong"), PushOptions())
    message = str(caught.value)
    assert grafana.url in message and "401" in message and "--token" in message
    assert grafana.state.dashboards == {}


def test_a_wrong_base_path_is_reported_as_404_naming_the_url(grafana: LoopbackGrafana) -> None:
    with pytest.raises(PushError) as caught:
        push_all(DASHBOARDS, GrafanaTarget(url=grafana.url + "/grafana", token=TOKEN), PushOptions())
    message = str(caught.value)
    assert f"{grafana.url}/grafana" in message and "404" in message and "base URL" in message
    assert [c.path for c in grafana.state.calls] == ["/grafana/api/folders"]


def test_a_grafana_served_under_a_sub_path_is_reached_there(grafana: LoopbackGrafana) -> None:
    grafana.state.sub_path = "/grafana"
    results = push_all(DASHBOARDS, GrafanaTarget(url=grafana.url + "/grafana/", token=TOKEN), PushOptions())
    assert {c.path for c in grafana.state.calls} == {"/grafana/api/folders", "/grafana/api/dashboards/db"}
    assert results[0].url == f"{grafana.url}/grafana/d/iocsim-overview/t-ng-quan-ioc"


def test_forbidden_names_the_missing_role(grafana: LoopbackGrafana) -> None:
    grafana.state.fail["/api/folders"] = (
        403,
        {"message": "You'll need additional permissions to perform this action."},
    )
    with pytest.raises(PushError, match=r"403 Forbidden.*additional permissions.*Editor"):
        push_all(DASHBOARDS, GrafanaTarget(url=grafana.url, token=TOKEN), PushOptions())


def test_a_dashboard_changed_in_grafana_stops_a_push_without_overwrite(grafana: LoopbackGrafana) -> None:
    target = GrafanaTarget(url=grafana.url, token=TOKEN)
    push_all(DASHBOARDS, target, PushOptions())
    push_all(DASHBOARDS, target, PushOptions(message="edited since"))
    with pytest.raises(PushError) as caught:
        push_all(DASHBOARDS, target, PushOptions(overwrite=False))
    message = str(caught.value)
    assert "412" in message and "changed by someone else" in message and "--overwrite" in message
    assert "iocsim-overview" in message and grafana.url in message
    assert grafana.state.dashboards["iocsim-overview"]["version"] == 2


def test_an_unreachable_grafana_is_one_line_naming_the_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(PushError, match=rf"cannot reach Grafana at http://127\.0\.0\.1:{port} .*connection refused"):
        push_all(DASHBOARDS, GrafanaTarget(url=f"http://127.0.0.1:{port}", token=TOKEN, timeout=2), PushOptions())


def test_an_unknown_host_is_reported_as_such() -> None:
    with pytest.raises(PushError, match=r"grafana\.invalid.*cannot resolve the host name"):
        push_all(DASHBOARDS, GrafanaTarget(url="http://grafana.invalid:3000", token=TOKEN, timeout=2), PushOptions())


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"url": "grafana:3000"}, "--url"),
        ({"url": "ftp://grafana"}, "--url"),
        ({"url": "http://grafana:99999"}, "--url"),
        ({"url": "http://grafana", "token": "t", "user": "u", "password": "p"}, "--token"),
        ({"url": "http://grafana", "user": "u"}, "--password"),
    ],
)
def test_unusable_targets_are_refused_before_sending(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(GrafanaTargetError) as caught:
        GrafanaTarget(**kwargs)
    assert isinstance(caught.value, ConfigError) and isinstance(caught.value, DashboardError)
    assert caught.value.field == field


def test_printed_urls_never_show_credentials() -> None:
    target = GrafanaTarget(url="https://admin:hunter2@grafana.example.org:3000/ops/", token=None)
    assert target.display_url == "https://grafana.example.org:3000/ops"
    assert "hunter2" not in repr(GrafanaTarget(url="http://g", user="u", password="hunter2"))


def _write_dir(folder: Path) -> Path:
    folder.mkdir()
    for uid, model in DASHBOARDS.items():
        (folder / f"{uid}.json").write_text(json.dumps(model, ensure_ascii=False), encoding="utf-8")
    return folder


def test_cli_push_prints_each_version_and_url(
    grafana: LoopbackGrafana, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IOCSIM_GRAFANA_URL", grafana.url)
    monkeypatch.setenv("IOCSIM_GRAFANA_TOKEN", TOKEN)
    folder = _write_dir(tmp_path / "json")
    code = main(["dashboards", "push", "--dir", str(folder), "--folder", "Trung tâm IOC", "--message", "từ CLI"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"  iocsim-cameras: version 1  {grafana.url}/d/iocsim-cameras/camera-an-ninh" in out
    assert f"  iocsim-overview: version 1  {grafana.url}/d/iocsim-overview/" in out
    assert grafana.state.folders["iocsim"]["title"] == "Trung tâm IOC"
    assert {c.body["message"] for c in grafana.state.calls if c.path == "/api/dashboards/db"} == {"từ CLI"}


@pytest.mark.parametrize(
    ("setup", "args", "expected"),
    [
        ("bad-token", ["--token", "glsa_wrong"], "401 Unauthorized"),
        ("sub-path", ["--token", TOKEN], "404 Not Found"),
        ("pushed", ["--token", TOKEN, "--no-overwrite"], "412 Precondition Failed"),
    ],
)
def test_cli_push_failures_exit_non_zero_with_one_line(
    grafana: LoopbackGrafana, tmp_path: Path, setup: str, args: list[str], expected: str
) -> None:
    folder = _write_dir(tmp_path / "json")
    url = grafana.url + ("/grafana" if setup == "sub-path" else "")
    if setup == "pushed":
        for _ in range(2):
            push_all(DASHBOARDS, GrafanaTarget(url=grafana.url, token=TOKEN), PushOptions())
    result = subprocess.run(
        [sys.executable, "-m", "iocsim.cli", "dashboards", "push", "--url", url, "--dir", str(folder), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("iocsim dashboards: error: ") and expected in lines[0] and url in lines[0]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_built_in_dashboards_are_accepted_as_grafana_documents_them(grafana: LoopbackGrafana, lang: str) -> None:
    from iocsim.dashboards.catalog import build_all

    built = build_all(lang)
    results = push_all(built, GrafanaTarget(url=grafana.url, token=TOKEN), PushOptions())
    assert grafana.state.problems == []
    assert [r.uid for r in results] == list(built) and set(grafana.state.dashboards) == set(built)
    assert all(r.version == 1 for r in results)
