"""Alert webhook endpoints, read from YAML (``--endpoints``) and/or ``IOCSIM_WEBHOOK_URL``/``_SECRET``.

Everything is checked before the dispatcher starts: a typo in a severity, a
kind, a district or a secret should stop it with the field named, not
silently filter out every alert or fail every signature later. Defaults are
assumptions (the domain says nothing of webhooks): a 10 s request timeout
(the Standard Webhooks spec suggests 15-30 s for slow receivers; operator
tools answer faster), 10 attempts within 30 minutes, after which an alert is
stale for an operations room and is better read from the dead-letter topic.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, cast
from urllib.parse import urlsplit

import yaml

from iocsim.consumers.errors import EndpointConfigError
from iocsim.consumers.payloads import FORMATS, PayloadFormat
from iocsim.consumers.retry import RetryPolicy
from iocsim.consumers.signing import parse_secret
from iocsim.contract import ALERT_KINDS, SEVERITIES, Alert
from iocsim.sim.errors import SimError
from iocsim.sim.profiles import DEFAULT_PROFILE, load_profile
from iocsim.sim.scenario import PROVINCE, parse_duration

URL_ENV: Final = "IOCSIM_WEBHOOK_URL"
SECRET_ENV: Final = "IOCSIM_WEBHOOK_SECRET"
ENV_ENDPOINT_NAME: Final = "default"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_KEYS: Final = frozenset(
    {
        "name",
        "url",
        "secret",
        "secret_env",
        "format",
        "filter",
        "timeout",
        "max_attempts",
        "max_age",
        "backoff",
        "backoff_max",
        "concurrency",
        "queue_size",
        "external_url",
    }
)
_FILTER_KEYS: Final = frozenset({"severity", "kinds", "districts"})


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts an endpoint wants: severity at least ``min_severity``; kinds and districts if given."""

    min_severity: str = SEVERITIES[0]
    kinds: frozenset[str] | None = None
    districts: frozenset[str] | None = None

    def matches(self, alert: Alert) -> bool:
        details = alert.payload
        if SEVERITIES.index(details.severity) < SEVERITIES.index(self.min_severity):
            return False
        if self.kinds is not None and details.kind not in self.kinds:
            return False
        return self.districts is None or alert.district in self.districts


@dataclass(frozen=True)
class Endpoint:
    """One receiver of alert transitions, with its own secret, filter, format and retry budget."""

    name: str
    url: str
    key: bytes = field(repr=False)
    filter: AlertFilter = field(default_factory=AlertFilter)
    format: PayloadFormat = "native"
    timeout: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    concurrency: int = 4
    queue_size: int = 1000
    external_url: str = ""


def check_url(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise EndpointConfigError(where, "missing")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointConfigError(where, f"{value!r} is not an http(s) URL with a host")
    try:
        _ = parts.port
    except ValueError:
        raise EndpointConfigError(where, f"{value!r} has an invalid port") from None
    return value


def _seconds(value: Any, where: str, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool):
        raise EndpointConfigError(where, f"{value!r} is not a duration")
    try:
        seconds = parse_duration(value, where)
    except SimError as exc:
        raise EndpointConfigError(where, exc.reason) from None
    if seconds <= 0:
        raise EndpointConfigError(where, "must be more than 0 s")
    return seconds


def _int(value: Any, where: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise EndpointConfigError(where, f"{value!r} is not an integer")
    if not low <= value <= high:
        raise EndpointConfigError(where, f"must be between {low} and {high}, got {value}")
    return value


def _names(value: Any, where: str, allowed: Sequence[str] | frozenset[str]) -> frozenset[str] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
        raise EndpointConfigError(where, "must be a non-empty list of names")
    unknown = sorted(set(items) - set(allowed))
    if unknown:
        raise EndpointConfigError(where, f"unknown {unknown}; expected some of {', '.join(sorted(allowed))}")
    return frozenset(items)


def parse_filter(value: Any, where: str, districts: frozenset[str]) -> AlertFilter:
    if value is None:
        return AlertFilter()
    if not isinstance(value, dict):
        raise EndpointConfigError(where, "must be a mapping (severity, kinds, districts)")
    extra = sorted(set(value) - _FILTER_KEYS)
    if extra:
        raise EndpointConfigError(f"{where}.{extra[0]}", f"unknown setting; expected {', '.join(sorted(_FILTER_KEYS))}")
    severity = value.get("severity", SEVERITIES[0])
    if severity not in SEVERITIES:
        raise EndpointConfigError(f"{where}.severity", f"{severity!r} is not one of {', '.join(SEVERITIES)}")
    return AlertFilter(
        min_severity=severity,
        kinds=_names(value.get("kinds"), f"{where}.kinds", ALERT_KINDS),
        districts=_names(value.get("districts"), f"{where}.districts", districts),
    )


def parse_endpoint(
    raw: Any, where: str, districts: frozenset[str], environ: Mapping[str, str] | None = None
) -> Endpoint:
    """One endpoint from its YAML mapping; ``where`` prefixes every field named in an error."""
    environ = os.environ if environ is None else environ
    if not isinstance(raw, dict):
        raise EndpointConfigError(where, "must be a mapping with at least name, url and secret")
    extra = sorted(set(raw) - _KEYS)
    if extra:
        raise EndpointConfigError(f"{where}.{extra[0]}", f"unknown setting; expected {', '.join(sorted(_KEYS))}")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise EndpointConfigError(
            f"{where}.name", "missing" if not name else f"{name!r} must be 1-64 of [A-Za-z0-9_.-]"
        )
    url = check_url(raw.get("url"), f"{where}.url")
    secret = raw.get("secret")
    if secret is None and raw.get("secret_env"):
        secret = environ.get(str(raw["secret_env"]))
        if not secret:
            raise EndpointConfigError(f"{where}.secret_env", f"environment variable {raw['secret_env']} is not set")
    if secret is not None and not isinstance(secret, str):
        raise EndpointConfigError(f"{where}.secret", "must be a string whsec_<base64>")
    key = parse_secret(secret, f"{where}.secret")
    payload_format = raw.get("format", "native")
    if payload_format not in FORMATS:
        raise EndpointConfigError(f"{where}.format", f"{payload_format!r} is not one of {', '.join(FORMATS)}")
    retry = RetryPolicy(
        max_attempts=_int(raw.get("max_attempts"), f"{where}.max_attempts", RetryPolicy.max_attempts, 1, 1000),
        max_age=_seconds(raw.get("max_age"), f"{where}.max_age", RetryPolicy.max_age),
        backoff_initial=_seconds(raw.get("backoff"), f"{where}.backoff", RetryPolicy.backoff_initial),
        backoff_max=_seconds(raw.get("backoff_max"), f"{where}.backoff_max", RetryPolicy.backoff_max),
    )
    if retry.backoff_max < retry.backoff_initial:
        raise EndpointConfigError(f"{where}.backoff_max", "must not be below backoff")
    concurrency = _int(raw.get("concurrency"), f"{where}.concurrency", Endpoint.concurrency, 1, 256)
    queue_size = _int(raw.get("queue_size"), f"{where}.queue_size", Endpoint.queue_size, 1, 1_000_000)
    if queue_size < concurrency:
        raise EndpointConfigError(f"{where}.queue_size", f"must be at least concurrency ({concurrency})")
    external_url = raw.get("external_url", "")
    if external_url:
        check_url(external_url, f"{where}.external_url")
    return Endpoint(
        name=name,
        url=url,
        key=key,
        filter=parse_filter(raw.get("filter"), f"{where}.filter", districts),
        format=cast(PayloadFormat, payload_format),
        timeout=_seconds(raw.get("timeout"), f"{where}.timeout", Endpoint.timeout),
        retry=retry,
        concurrency=concurrency,
        queue_size=queue_size,
        external_url=str(external_url),
    )


def profile_districts(profile: str | None) -> frozenset[str]:
    """District ids alerts may carry: the profile's, and ``province`` for province-level entities."""
    return frozenset(load_profile(profile or DEFAULT_PROFILE).district_by_id) | {PROVINCE}


def load_endpoints(path: str | Path | None, environ: Mapping[str, str] | None = None) -> tuple[Endpoint, ...]:
    """Endpoints from the YAML file (if any) plus the single one the environment may define."""
    environ = os.environ if environ is None else environ
    endpoints: list[Endpoint] = []
    document: dict[str, Any] = {}
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise EndpointConfigError("--endpoints", f"no such file: {path}")
        try:
            loaded = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise EndpointConfigError("--endpoints", f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
        if not isinstance(loaded, dict) or not isinstance(loaded.get("endpoints"), list):
            raise EndpointConfigError("endpoints", f"{path} must hold a mapping with an 'endpoints' list")
        document = loaded
    try:
        districts = profile_districts(document.get("profile"))
    except SimError as exc:
        raise EndpointConfigError("profile", str(exc)) from None
    for i, raw in enumerate(document.get("endpoints", [])):
        endpoints.append(parse_endpoint(raw, f"endpoints[{i}]", districts, environ))
    url = environ.get(URL_ENV)
    if url:
        check_url(url, URL_ENV)
        key = parse_secret(environ.get(SECRET_ENV), SECRET_ENV)
        endpoints.append(Endpoint(name=ENV_ENDPOINT_NAME, url=url, key=key))
    elif environ.get(SECRET_ENV) and not endpoints:
        raise EndpointConfigError(URL_ENV, f"missing (while {SECRET_ENV} is set)")
    seen: set[str] = set()
    for i, endpoint in enumerate(endpoints):
        if endpoint.name in seen:
            where = URL_ENV if i == len(document.get("endpoints", [])) else f"endpoints[{i}].name"
            raise EndpointConfigError(where, f"endpoint name {endpoint.name!r} is used twice")
        seen.add(endpoint.name)
    return tuple(endpoints)
