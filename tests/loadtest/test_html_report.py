"""The HTML report: self-contained, every section present, PNGs written, and it opens cleanly in Chromium."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from iocsim.broker import BrokerAddress
from iocsim.cli import main
from iocsim.loadtest.histograms import LatencyHistogram
from iocsim.loadtest.html_report import render_html
from iocsim.loadtest.report import schema

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PLOTS = ("rate", "latency_over_time", "latency_distribution")


def measured(seconds: np.ndarray) -> dict[str, Any]:
    histogram = LatencyHistogram()
    histogram.record_many(seconds)
    return {**histogram.summary(), "hdr": histogram.encode()}


def sample_report() -> dict[str, Any]:
    """A 20 s run at 1000/s with a 2 s broker stall at second 8, built from real histograms."""
    rng = np.random.default_rng(7)
    seconds = 20
    produce = [rng.lognormal(np.log(0.002), 0.5, 1000) for _ in range(seconds)]
    produce[8] = produce[8] + np.linspace(2.0, 0.0, 1000)
    series = []
    for t, values in enumerate(produce):
        series.append(
            {
                "t": t,
                "offered": 1000,
                "sent": 1000,
                "acked": 0 if t == 9 else (2000 if t == 10 else 1000),
                "errors": 0,
                "p50_ms": float(np.percentile(values, 50) * 1000),
                "p99_ms": float(np.percentile(values, 99) * 1000),
                "max_ms": float(values.max() * 1000),
            }
        )
    all_produce = np.concatenate(produce)
    return {
        "schema_version": 1,
        "generator": "iocsim 0.1.0",
        "started_at": "2025-02-10T01:00:00Z",
        "finished_at": "2025-02-10T01:00:20Z",
        "duration_s": 20.0,
        "target": {"kind": "kafka", "address": "127.0.0.1:9092", "client": "confluent-kafka"},
        "profile": {
            "name": "Tết <morning> & co",
            "scale": 20.0,
            "stages": [
                {"kind": "constant", "feed": "all", "start_s": 0.0, "duration_s": 20.0, "rate": 1000.0, "to_rate": None}
            ],
        },
        "workers": {"processes": 2, "shard": None},
        "totals": {
            "offered": 20_000,
            "sent": 20_000,
            "acked": 20_000,
            "failed": 0,
            "read_back": 20_000,
            "lost": 0,
            "duplicates": 0,
            "achieved_ratio": 1.0,
        },
        "harness": {"behind": False, "max_behind_s": 0.0004, "cpu_saturated": False, "notes": ["broker paused 2 s"]},
        "latency": {
            "produce_ack": measured(all_produce),
            "e2e_group": measured(all_produce + rng.exponential(0.2, all_produce.size)),
            "detect": measured(rng.uniform(20, 50, 12)),
            "webhook": None,
        },
        "series": series,
        "webhook": None,
        "detection": {"crowd": {"injected": 6, "detected": 6, "ttd_p50_s": 31.0, "ttd_p90_s": 44.5}},
        "thresholds": [
            {"expression": "p99_e2e_ms < 500", "metric": "p99_e2e_ms", "value": 1890.0, "passed": False},
            {"expression": "lost == 0", "metric": "lost", "value": 0.0, "passed": True},
        ],
        "passed": False,
    }


@pytest.fixture(scope="module")
def real_run(broker_address: BrokerAddress, recording: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML report of a real 3 s run at 1000/s against the embedded broker, written by ``iocsim load``."""
    folder = tmp_path_factory.mktemp("run")
    args = ["load", "--replay", str(recording), "--brokers", broker_address.bootstrap, "--rate", "1000"]
    args += ["--duration", "3s", "--threshold", "lost == 0", "--verify", "--quiet"]
    code = main([*args, "--json", str(folder / "run.json"), "--html", str(folder / "run.html")])
    assert code == 0
    return folder / "run.html"


def test_sample_report_follows_the_published_schema() -> None:
    jsonschema.Draft202012Validator(schema()).validate(sample_report())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("html")
    out = render_html(sample_report(), folder / "report.html", folder / "plots")
    return out, folder / "plots"


def test_report_is_self_contained_with_every_section(rendered: tuple[Path, Path]) -> None:
    out, png_dir = rendered
    html = out.read_text(encoding="utf-8")
    for heading in ("Thresholds", "Totals", "Latency", "Plots", "Detection under load", "Harness"):
        assert f"<h2>{heading}</h2>" in html, heading
    assert "Tết &lt;morning&gt; &amp; co" in html and "<morning>" not in html
    assert "p99_e2e_ms &lt; 500" in html and 'class="fail">FAILED' in html
    assert "broker paused 2 s" in html
    images = re.findall(r'<img alt="[^"]*" src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)">', html)
    assert len(images) == len(PLOTS)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    for encoded in images:
        svg = base64.b64decode(encoded).decode("utf-8")
        assert "<svg" in svg and not re.search(r"""(src|href)=["'](https?:)?//""", svg)
    assert "Content-Security-Policy" in html
    for name in PLOTS:
        png = (png_dir / f"{name}.png").read_bytes()
        assert png.startswith(PNG_MAGIC) and len(png) > 5000, name


def test_an_empty_report_still_renders(tmp_path: Path) -> None:
    empty = {"schema_version": 1, "series": [], "latency": {}, "totals": {}, "thresholds": [], "passed": True}
    html = render_html(empty, tmp_path / "r.html", None).read_text(encoding="utf-8")
    assert html.count("data:image/svg+xml") == len(PLOTS)
    assert not list(tmp_path.glob("*.png"))


def test_webhook_target_report_shows_codes_and_latency(tmp_path: Path) -> None:
    report = sample_report()
    report["target"] = {"kind": "webhook", "address": "http://127.0.0.1:9000/", "client": "aiohttp"}
    report["latency"] = {"produce_ack": None, "webhook": measured(np.full(50, 0.004))}
    report["webhook"] = {"codes": {"200": 48, "401": 2}, "verified": 48}
    html = render_html(report, tmp_path / "r.html", None).read_text(encoding="utf-8")
    assert "<h2>Webhook responses</h2>" in html
    assert '<td>401</td><td class="num">2</td>' in html and "verified by the receiver: 48" in html
    assert "<td>webhook delivered</td>" in html and "<td>produce acknowledged</td>" not in html


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium missing under CI: .ci/run installs the Debian package chromium")
        pytest.skip("chromium not installed (Debian package chromium)")
    return path


def open_headless(browser: str, page: Path, profile: Path) -> tuple[str, list[str]]:
    """Load ``page`` in headless Chromium; return the DOM after load and the console lines it logged."""
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    return done.stdout, console


PROBE = """<script>
window.__errors = [];
window.addEventListener("error", function (e) {
  window.__errors.push(String(e.message || (e.target && (e.target.src || "").slice(0, 60)) || "error"));
}, true);
window.addEventListener("load", function () {
  var images = [].map.call(document.images, function (i) {
    return {id: i.parentNode.id, width: i.naturalWidth, height: i.naturalHeight};
  });
  var out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({errors: window.__errors, images: images});
  document.body.appendChild(out);
});
</script>"""


def probe_result(dom: str) -> dict[str, Any]:
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, "the probe script did not run"
    result: dict[str, Any] = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    return result


def test_report_opens_in_headless_chromium_without_errors(rendered: tuple[Path, Path], tmp_path: Path) -> None:
    browser = chromium()
    broken = tmp_path / "broken.html"
    broken.write_text(
        "<!DOCTYPE html><html><head>" + PROBE + '</head><body><img src="data:image/svg+xml;base64,AAAA">'
        "<script>throw new Error('control-failure')</script></body></html>"
    )
    dom, console = open_headless(browser, broken, tmp_path / "profile")
    assert any("control-failure" in line for line in console), "console errors would go unnoticed"
    assert probe_result(dom)["images"][0]["width"] == 0, "undecodable images would go unnoticed"

    out, _ = rendered
    dom, console = open_headless(browser, out, tmp_path / "profile")
    assert console == []
    assert dom.count('<figure id="plot-') == len(PLOTS)
    assert "<h2>Thresholds</h2>" in dom and "p99_e2e_ms &lt; 500" in dom
    assert_plots_decode(browser, out, tmp_path)


def assert_plots_decode(browser: str, page: Path, tmp_path: Path) -> None:
    """Open a copy of ``page`` with the probe script first in <head>; every plot must decode, nothing may fail."""
    probed = tmp_path / "probed.html"
    probed.write_text(page.read_text(encoding="utf-8").replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    dom, console = open_headless(browser, probed, tmp_path / "profile")
    result = probe_result(dom)
    assert console == [] and result["errors"] == []
    assert [image["id"] for image in result["images"]] == [f"plot-{name}" for name in PLOTS]
    assert all(image["width"] > 300 and image["height"] > 100 for image in result["images"]), result


@pytest.mark.broker
@pytest.mark.slow
def test_report_of_a_real_run_opens_in_headless_chromium(real_run: Path, tmp_path: Path) -> None:
    browser = chromium()
    dom, console = open_headless(browser, real_run, tmp_path / "profile")
    assert console == []
    assert "lost == 0" in dom and 'class="pass">PASSED' in dom
    assert dom.count('<figure id="plot-') == len(PLOTS)
    assert_plots_decode(browser, real_run, tmp_path)
    plots = real_run.parent / "run_plots"
    assert sorted(path.name for path in plots.iterdir()) == sorted(f"{name}.png" for name in PLOTS)
    report = json.loads((real_run.parent / "run.json").read_text())
    assert report["totals"]["acked"] == 3000 and len(report["series"]) >= 3
