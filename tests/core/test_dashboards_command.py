"""``iocsim dashboards build|push`` from the command line: files written, and bad input stopped with one line."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from iocsim.cli import main
from iocsim.dashboards.catalog import build_all

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_build_writes_every_dashboard_in_both_languages_with_layout_renders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, png = tmp_path / "json", tmp_path / "png"
    assert main(["dashboards", "build", "--out", str(out), "--png", str(png)]) == 0
    printed = capsys.readouterr().out
    for lang in ("vi", "en"):
        uids = set(build_all(lang))
        assert {p.stem for p in (out / lang).glob("*.json")} == uids
        for uid in uids:
            model = json.loads((out / lang / f"{uid}.json").read_text(encoding="utf-8"))
            assert model["uid"] == uid
            assert (png / lang / f"{uid}.png").read_bytes().startswith(PNG_SIGNATURE)
        assert f"{lang}: {len(uids)} dashboards in {out / lang}" in printed


def test_build_one_language_only(tmp_path: Path) -> None:
    assert main(["dashboards", "build", "--lang", "en", "--out", str(tmp_path)]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["en"]
    titles = {json.loads(p.read_text(encoding="utf-8"))["title"] for p in (tmp_path / "en").glob("*.json")}
    assert titles == {model["title"] for model in build_all("en").values()}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return code, err


@pytest.fixture
def no_grafana_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IOCSIM_GRAFANA_URL", raising=False)
    monkeypatch.delenv("IOCSIM_GRAFANA_TOKEN", raising=False)


@pytest.mark.usefixtures("no_grafana_env")
@pytest.mark.parametrize(
    ("args", "field"),
    [
        ([], "--url: required"),
        (["--url", "grafana:3000"], "--url: 'grafana:3000' is not an http(s) URL"),
        (["--url", "http://g:3000", "--token", "t", "--user", "u", "--password", "p"], "--token: give either"),
        (["--url", "http://g:3000", "--user", "admin"], "--password: --user and --password go together"),
        (["--url", "http://g:3000", "--timeout", "soon"], "--timeout"),
        (["--url", "http://g:3000", "--dir", "/nonexistent/json"], "--dir: /nonexistent/json is not a folder"),
    ],
)
def test_push_refuses_bad_input_with_one_line_naming_the_field(
    args: list[str], field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(["dashboards", "push", *args], capsys)
    assert code == 2
    assert err.startswith("iocsim dashboards: error: ") and field in err


def test_push_refuses_a_file_that_is_no_dashboard(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    code, err = run(["dashboards", "push", "--url", "http://g:3000", "--token", "t", "--dir", str(tmp_path)], capsys)
    assert code == 2 and "--dir" in err and "broken.json" in err


@pytest.mark.usefixtures("no_grafana_env")
def test_push_to_a_closed_port_fails_with_one_line_naming_the_url(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    code, err = run(["dashboards", "push", "--url", url, "--token", "t", "--timeout", "2"], capsys)
    assert code == 1
    assert f"cannot reach Grafana at {url}" in err and "connection refused" in err


def test_dashboards_needs_an_action(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["dashboards"])
    assert stopped.value.code == 2
    assert "build" in capsys.readouterr().err
