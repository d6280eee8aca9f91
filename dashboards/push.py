"""Uploading dashboards to a running Grafana through its HTTP API (``grafana-client``).

The folder is looked up by its stable uid, then by title, and created only
when neither exists, so repeated pushes land in the same folder even after
someone renamed it. Each dashboard goes through ``POST /api/dashboards/db``;
Grafana keeps the previous versions, so a push is always reversible in its UI.

Every failure becomes one line naming the Grafana URL and what to check,
since the usual causes (wrong address, wrong sub-path, a token without
editor rights, a dashboard changed in Grafana meanwhile) are the caller's
to fix and a traceback says nothing about them.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import niquests
from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaException

from iocsim.dashboards.errors import DashboardError
from iocsim.errors import ConfigError

DEFAULT_FOLDER = "IOC"
DEFAULT_FOLDER_UID = "iocsim"
DEFAULT_MESSAGE = "iocsim dashboards push"


class GrafanaTargetError(DashboardError, ConfigError):
    """The Grafana address or credentials given are unusable before anything is sent."""


class PushError(DashboardError):
    """Grafana could not be reached or refused a request; the message names the URL and the likely cause."""


@dataclass(frozen=True)
class GrafanaTarget:
    """Where to push and as whom: a service-account token (Bearer) or a user and password (basic auth)."""

    url: str
    token: str | None = field(default=None, repr=False)
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 10.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise GrafanaTargetError("--url", f"{self.url!r} is not an http(s) URL with a host")
        try:
            _ = parts.port
        except ValueError:
            raise GrafanaTargetError("--url", f"{self.url!r} has an invalid port") from None
        if self.token and (self.user or self.password):
            raise GrafanaTargetError("--token", "give either a token or --user/--password, not both")
        if bool(self.user) != bool(self.password):
            raise GrafanaTargetError("--password" if self.user else "--user", "--user and --password go together")
        if not self.timeout > 0:
            raise GrafanaTargetError("--timeout", "must be more than 0 s")

    @property
    def display_url(self) -> str:
        """The URL without any user:password part, fit to print."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            netloc += f":{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))

    @property
    def origin(self) -> str:
        """Scheme, host and port: Grafana's answers carry paths that already include its sub-path."""
        parts = urlsplit(self.display_url)
        return f"{parts.scheme}://{parts.netloc}"

    def api(self) -> GrafanaApi:
        """The client; built here because ``GrafanaApi.from_url`` drops the slash before ``api`` of a sub-path."""
        credential: str | tuple[str, str] | None = self.token or None
        if self.user and self.password:
            credential = (self.user, self.password)
        parts = urlsplit(self.url)
        if credential is None and parts.username and parts.password:
            credential = (parts.username, parts.password)
        path = parts.path.strip("/")
        return GrafanaApi(
            credential,
            protocol=parts.scheme,
            host=parts.hostname,
            port=parts.port,
            url_path_prefix=f"{path}/" if path else "",
            timeout=self.timeout,
        )


@dataclass(frozen=True)
class PushOptions:
    """The folder to push into and how to treat a dashboard that already exists there."""

    folder: str = DEFAULT_FOLDER
    folder_uid: str = DEFAULT_FOLDER_UID
    overwrite: bool = True
    message: str = DEFAULT_MESSAGE


@dataclass(frozen=True)
class PushResult:
    """What Grafana answered for one dashboard."""

    uid: str
    title: str
    version: int
    url: str


def push_all(
    dashboards: Mapping[str, Mapping[str, Any]],
    target: GrafanaTarget,
    options: PushOptions,
    on_pushed: Callable[[PushResult], None] | None = None,
) -> list[PushResult]:
    """Find or create the folder, then save every dashboard into it, in the order given."""
    pusher = DashboardPusher(target)
    folder_uid = pusher.ensure_folder(options.folder, options.folder_uid)
    results = []
    for uid, dashboard in dashboards.items():
        result = pusher.push(uid, dashboard, folder_uid, options)
        results.append(result)
        if on_pushed is not None:
            on_pushed(result)
    return results


class DashboardPusher:
    """Talks to one Grafana; every grafana-client or transport error leaves as a ``PushError``."""

    def __init__(self, target: GrafanaTarget) -> None:
        self.target = target
        self._api = target.api()

    def ensure_folder(self, title: str, uid: str) -> str:
        """The uid of the folder to push into: the one with ``uid``, else one titled ``title``, else a new one."""
        where = "listing folders (GET /api/folders)"
        folders = self._call(where, self._api.folder.get_all_folders)
        if not isinstance(folders, list):
            raise PushError(f"{self.target.display_url} did not answer {where} like Grafana: is it Grafana's base URL?")
        by_uid = [f for f in folders if isinstance(f, dict) and f.get("uid") == uid]
        by_title = [f for f in folders if isinstance(f, dict) and f.get("title") == title]
        for found in by_uid or by_title:
            return str(found["uid"])
        created = self._call(
            f"creating folder {title!r} (POST /api/folders)", self._api.folder.create_folder, title, uid=uid
        )
        if not isinstance(created, dict) or "uid" not in created:
            raise PushError(f"{self.target.display_url} answered POST /api/folders without a folder uid: {created!r}")
        return str(created["uid"])

    def push(self, uid: str, dashboard: Mapping[str, Any], folder_uid: str, options: PushOptions) -> PushResult:
        """Save one dashboard model; ``id`` is cleared so Grafana matches the dashboard by its uid."""
        model = {**dashboard, "uid": dashboard.get("uid", uid), "id": None}
        body = {"dashboard": model, "folderUid": folder_uid, "overwrite": options.overwrite, "message": options.message}
        answer = self._call(
            f"saving dashboard {model['uid']!r} (POST /api/dashboards/db)", self._api.dashboard.update_dashboard, body
        )
        if not isinstance(answer, dict) or "version" not in answer:
            raise PushError(f"{self.target.display_url} answered POST /api/dashboards/db unexpectedly: {answer!r}")
        return PushResult(
            uid=str(answer.get("uid", model["uid"])),
            title=str(model.get("title", "")),
            version=int(answer["version"]),
            url=self.target.origin + str(answer.get("url", "")),
        )

    def _call(self, what: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except GrafanaException as exc:
            raise PushError(self._refused(what, exc)) from None
        except niquests.exceptions.RequestException as exc:
            raise PushError(
                f"cannot reach Grafana at {self.target.display_url} ({what}): {_transport_cause(exc)}"
            ) from None

    def _refused(self, what: str, exc: GrafanaException) -> str:
        url = self.target.display_url
        status = exc.status_code
        detail = _message_of(exc)
        if status == 401:
            how = "--token (or IOCSIM_GRAFANA_TOKEN)" if self.target.token else "--user/--password"
            return f"Grafana at {url} rejected the credentials (401 Unauthorized) while {what}: check {how}"
        if status == 403:
            return (
                f"Grafana at {url} refused {what} (403 Forbidden{detail}): the token or user needs the Editor role "
                "on the folder"
            )
        if status == 404:
            return (
                f"Grafana at {url} answered 404 Not Found{detail} while {what}: check that the URL is Grafana's "
                "base URL (with its sub-path, if any) and that the folder exists"
            )
        if status == 412:
            return (
                f"Grafana at {url} refused {what} (412 Precondition Failed{detail}): the dashboard changed in Grafana "
                "since, or another one has its title in the folder; push with --overwrite to replace it"
            )
        if status == 0:
            return f"cannot reach Grafana at {url} ({what}): {exc.message}"
        return f"Grafana at {url} answered {status} while {what}{detail}"


def _message_of(exc: GrafanaException) -> str:
    response = exc.response
    if isinstance(response, dict) and response.get("message"):
        return f": {response['message']}"
    return ""


def _transport_cause(exc: BaseException) -> str:
    """The innermost cause of a transport error, said plainly (refused, unknown host, timeout, TLS)."""
    causes: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in causes:
        causes.append(current)
        current = current.__cause__ or current.__context__
    for cause in causes:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused (is Grafana running on that host and port?)"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve the host name ({cause})"
        if isinstance(cause, TimeoutError | niquests.exceptions.Timeout):
            return "timed out"
    return f"{type(causes[-1]).__name__}: {causes[-1]}"
