"""``iocsim dashboards build|push``: write the Grafana dashboards as JSON (and layout PNGs) or upload them.

``build`` regenerates the committed JSON that Grafana provisioning reads;
``push`` uploads the same dashboards to a Grafana that is already running
(one that provisioning does not manage), through its HTTP API.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from iocsim.config import as_float
from iocsim.errors import ConfigError

LANGS = ("vi", "en")
DEFAULT_OUT = Path("dashboards/json")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``dashboards`` command and its ``build`` and ``push`` subcommands to the ``iocsim`` parser."""
    p = sub.add_parser(
        "dashboards",
        help="build the Grafana dashboards (JSON, layout PNGs) or push them to a running Grafana",
        description="Grafana dashboards as code: `build` writes the dashboard JSON that provisioning loads, "
        "`push` uploads the dashboards to a running Grafana through its HTTP API.",
    )
    actions = p.add_subparsers(dest="dashboards_action", metavar="{build,push}", required=True)

    b = actions.add_parser(
        "build",
        help="write the dashboards as JSON files (and PNG layout renders)",
        description="Write every dashboard as <uid>.json under OUT/<lang>/ and, with --png, a PNG of its layout.",
    )
    b.add_argument("--lang", choices=(*LANGS, "all"), default="all", help="language of titles and units (default all)")
    b.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON root folder (default {DEFAULT_OUT}/<lang>)")
    b.add_argument("--png", type=Path, help="also render each layout to DIR/<lang>/<uid>.png")
    b.set_defaults(handler=build)

    u = actions.add_parser(
        "push",
        help="upload the dashboards to a running Grafana",
        description="Upload every dashboard to Grafana (POST /api/dashboards/db) into a folder found by uid or "
        "title, or created. Authenticate with a service-account token (Bearer) or a user and password.",
    )
    u.add_argument("--url", help="Grafana base URL, e.g. http://localhost:3000 (env IOCSIM_GRAFANA_URL)")
    u.add_argument("--token", help="service-account token, needs the Editor role (env IOCSIM_GRAFANA_TOKEN)")
    u.add_argument("--user", help="user for basic auth, instead of a token")
    u.add_argument("--password", help="password for basic auth")
    u.add_argument("--folder", default="IOC", help="title of the folder to push into (default IOC)")
    u.add_argument(
        "--folder-uid", default="iocsim", help="uid of that folder, used to find or create it (default iocsim)"
    )
    u.add_argument("--lang", choices=LANGS, default="vi", help="language of the dashboards to push (default vi)")
    u.add_argument("--dir", type=Path, help="push the *.json dashboards of this folder instead of the built-in ones")
    u.add_argument(
        "--overwrite",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="replace dashboards changed in Grafana since (default); --no-overwrite stops on a version conflict",
    )
    u.add_argument("--message", default="iocsim dashboards push", help="version note kept in Grafana's history")
    u.add_argument("--timeout", default="10", help="seconds to wait for each answer (default 10)")
    u.set_defaults(handler=push)


def build(args: argparse.Namespace) -> int:
    from iocsim.dashboards.catalog import write_all

    langs = LANGS if args.lang == "all" else (args.lang,)
    for lang in langs:
        written = write_all(args.out / lang, lang)
        print(f"{lang}: {len(written)} dashboards in {args.out / lang}", flush=True)
        if args.png is not None:
            from iocsim.dashboards.render import render_layout

            for path in written:
                dashboard = json.loads(path.read_text(encoding="utf-8"))
                png = render_layout(dashboard, args.png / lang / f"{path.stem}.png")
                print(f"  {png}", flush=True)
    return 0


def push(args: argparse.Namespace) -> int:
    from iocsim.dashboards.push import GrafanaTarget, PushOptions, PushResult, push_all

    url = args.url or os.environ.get("IOCSIM_GRAFANA_URL")
    if not url:
        raise ConfigError("--url", "required (or IOCSIM_GRAFANA_URL): Grafana's base URL, e.g. http://localhost:3000")
    token = args.token or (None if args.user else os.environ.get("IOCSIM_GRAFANA_TOKEN"))
    target = GrafanaTarget(
        url=url,
        token=token,
        user=args.user,
        password=args.password,
        timeout=as_float(args.timeout, "--timeout", 0.001),
    )
    dashboards = _from_dir(args.dir) if args.dir is not None else _catalog(args.lang)
    options = PushOptions(
        folder=args.folder, folder_uid=args.folder_uid, overwrite=args.overwrite, message=args.message
    )
    print(
        f"iocsim dashboards push: {len(dashboards)} dashboards to {target.display_url}, folder {args.folder}",
        flush=True,
    )

    def report(result: PushResult) -> None:
        print(f"  {result.uid}: version {result.version}  {result.url}", flush=True)

    push_all(dashboards, target, options, on_pushed=report)
    return 0


def _catalog(lang: str) -> dict[str, dict[str, Any]]:
    from iocsim.dashboards.catalog import build_all

    return build_all(lang)


def _from_dir(folder: Path) -> dict[str, dict[str, Any]]:
    """The dashboards saved as JSON in ``folder``, keyed by uid (else by file name), in file-name order."""
    if not folder.is_dir():
        raise ConfigError("--dir", f"{folder} is not a folder")
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            model = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError("--dir", f"{path} is not a readable JSON file: {exc}") from None
        if not isinstance(model, dict) or not isinstance(model.get("panels", []), list):
            raise ConfigError("--dir", f"{path} is not a Grafana dashboard model (a JSON object with panels)")
        found[str(model.get("uid") or path.stem)] = model
    if not found:
        raise ConfigError("--dir", f"no *.json dashboards in {folder}")
    return found
