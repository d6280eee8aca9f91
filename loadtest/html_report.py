"""The HTML report: one self-contained file a person opens in a browser, plus PNGs of its plots.

Everything is inside the file (plots as SVG data URIs, inline CSS, no script), and a Content-Security-Policy
forbids any fetch, so the report reads the same offline, from a CI artefact store or an e-mail attachment.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from iocsim.loadtest.plots import MEASURES, report_plots

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 62rem; color: #222; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5rem 0; } td, th { padding: 0.25rem 0.7rem; text-align: left; }
th { background: #f3f3f3; } tr:nth-child(even) td { background: #fafafa; } td.num { text-align: right; }
.pass { color: #176e2d; font-weight: 600; } .fail { color: #b3141b; font-weight: 600; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9rem; color: #555; } .meta { color: #555; }
"""
_LATENCY_COLUMNS = ("count", "min_ms", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms")
_TOTALS = ("offered", "sent", "acked", "failed", "read_back", "lost", "duplicates", "achieved_ratio")


def render_html(report: Mapping[str, Any], out: Path, png_dir: Path | None = None) -> Path:
    """Write the report as HTML to ``out`` (and each plot as ``<name>.png`` into ``png_dir``); return ``out``."""
    plots = report_plots(report)
    figures = []
    for plot in plots:
        if png_dir is not None:
            png_dir.mkdir(parents=True, exist_ok=True)
            (png_dir / f"{plot.name}.png").write_bytes(plot.png())
        data = base64.b64encode(plot.svg()).decode("ascii")
        figures.append(
            f'<figure id="plot-{plot.name}"><img alt="{escape(plot.title)}" src="data:image/svg+xml;base64,{data}">'
            f"<figcaption>{escape(plot.title)}</figcaption></figure>"
        )
    verdict = bool(report.get("passed"))
    profile = report.get("profile") or {}
    target = report.get("target") or {}
    title = f"Load test: {profile.get('name', 'unnamed profile')}"
    body = [
        f"<h1>{escape(title)} — {_verdict(verdict)}</h1>",
        '<p class="meta">'
        + escape(
            f"target {target.get('kind', '?')} {target.get('address', '?')} ({target.get('client', '?')}), "
            f"scale ×{profile.get('scale', 1)}, {report.get('started_at', '?')} → {report.get('finished_at', '?')}, "
            f"{_number(report.get('duration_s'))} s, {report.get('generator', '')}"
        )
        + "</p>",
        "<h2>Thresholds</h2>",
        _thresholds(report.get("thresholds") or []),
        "<h2>Totals</h2>",
        _totals(report.get("totals") or {}, report.get("workers") or {}),
        "<h2>Latency</h2>",
        _latency(report.get("latency") or {}),
        "<h2>Plots</h2>",
        *figures,
        *_webhook(report.get("webhook")),
        *_detection(report.get("detection")),
        "<h2>Harness</h2>",
        _harness(report.get("harness") or {}),
    ]
    document = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document, encoding="utf-8")
    return out


def _verdict(passed: bool) -> str:
    return '<span class="pass">PASSED</span>' if passed else '<span class="fail">FAILED</span>'


def _number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return escape(str(value))


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    lines = ["<tr>" + "".join(cells) + "</tr>" for cells in rows]
    if not lines:
        return "<p>none</p>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def _text(value: Any) -> str:
    return f"<td>{escape(str(value))}</td>"


def _num(value: Any) -> str:
    return f'<td class="num">{_number(value)}</td>'


def _thresholds(thresholds: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        (_text(t.get("expression", "")), _num(t.get("value")), f"<td>{_verdict(bool(t.get('passed')))}</td>")
        for t in thresholds
    ]
    return _table(("threshold", "measured", "result"), rows)


def _totals(totals: Mapping[str, Any], workers: Mapping[str, Any]) -> str:
    rows = [(_text(key.replace("_", " ")), _num(totals.get(key))) for key in _TOTALS]
    rows.append((_text("processes"), _num(workers.get("processes"))))
    if workers.get("shard"):
        rows.append((_text("shard"), _text(workers["shard"])))
    return _table(("", "events"), rows)


def _latency(latency: Mapping[str, Any]) -> str:
    rows = []
    for key, label in MEASURES.items():
        summary = latency.get(key)
        if summary:
            count = summary.get("count")
            cells = [_num(int(count) if isinstance(count, float) and count.is_integer() else count)]
            cells += [_num(summary.get(column)) for column in _LATENCY_COLUMNS[1:]]
            rows.append((_text(label), *cells))
    headers = ("measure", "count", *(c.removesuffix("_ms") + " (ms)" for c in _LATENCY_COLUMNS[1:]))
    return _table(headers, rows)


def _webhook(webhook: Mapping[str, Any] | None) -> list[str]:
    if not webhook:
        return []
    codes = webhook.get("codes") or {}
    rows = [(_text(code), _num(count)) for code, count in sorted(codes.items())]
    verified = webhook.get("verified")
    extra = [] if verified is None else [f"<p>verified by the receiver: {_number(verified)}</p>"]
    return ["<h2>Webhook responses</h2>", _table(("response", "requests"), rows), *extra]


def _detection(detection: Mapping[str, Any] | None) -> list[str]:
    if not detection:
        return []
    rows = [
        (
            _text(kind),
            _num(item.get("injected")),
            _num(item.get("detected")),
            _num(item.get("ttd_p50_s")),
            _num(item.get("ttd_p90_s")),
        )
        for kind, item in sorted(detection.items())
    ]
    return [
        "<h2>Detection under load</h2>",
        _table(("anomaly", "injected", "detected", "TTD p50 (s)", "TTD p90 (s)"), rows),
    ]


def _flag(raised: bool) -> str:
    return '<span class="fail">yes</span>' if raised else '<span class="pass">no</span>'


def _harness(harness: Mapping[str, Any]) -> str:
    """Whether the harness itself kept its schedule: if not, the target's numbers are a lower bound."""
    lines = [
        "<ul>",
        f"<li>behind schedule: {_flag(bool(harness.get('behind')))}"
        f" (at most {_number(harness.get('max_behind_s'))} s)</li>",
        f"<li>CPU saturated: {_flag(bool(harness.get('cpu_saturated')))}</li>",
        *(f"<li>{escape(str(note))}</li>" for note in harness.get("notes") or []),
        "</ul>",
    ]
    return "".join(lines)
