"""Driving a webhook receiver: signed alert transitions POSTed at the profile's scheduled times."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from iocsim.loadtest.histograms import LatencyHistogram
from iocsim.loadtest.profile import LoadProfile
from iocsim.loadtest.schedule import Schedule
from iocsim.loadtest.series import SecondSeries
from iocsim.loadtest.webhook_target import WebhookTarget, alert_transitions
from iocsim.sim.profiles import DEFAULT_PROFILE, load_profile

_BODIES = 2_000


@dataclass
class WebhookOutcome:
    offered: int = 0
    sent: int = 0
    ok: int = 0
    max_behind_s: float = 0.0
    codes: dict[str, int] = field(default_factory=dict)
    histogram: LatencyHistogram = field(default_factory=LatencyHistogram)
    series: SecondSeries = field(default_factory=SecondSeries)
    started_at: float = 0.0
    finished_at: float = 0.0


def run_webhook(profile: LoadProfile, url: str, secret: str, timeout_s: float = 10.0) -> WebhookOutcome:
    return asyncio.run(_run(profile, url, secret, timeout_s))


async def _run(profile: LoadProfile, url: str, secret: str, timeout_s: float) -> WebhookOutcome:
    outcome = WebhookOutcome()
    bodies = alert_transitions(load_profile(DEFAULT_PROFILE), _BODIES)
    start = time.perf_counter() + 0.3

    def clock() -> float:
        return time.perf_counter() - start

    target = WebhookTarget(url, secret, outcome.histogram, timeout_s, clock=clock)
    tasks: set[asyncio.Task[str]] = set()
    codes: Counter[str] = Counter()
    n = 0
    outcome.started_at = time.time() + 0.3
    async with target:

        async def one(body: bytes, ident: str, due: float) -> str:
            code = await target.send(body, due, ident)
            lat = clock() - due
            outcome.series.add_latencies(np.asarray([due]), np.asarray([lat]))
            outcome.series.count_at("acked" if code.startswith("2") else "errors", clock())
            codes[code] += 1
            return code

        for chunk in Schedule(profile).chunks():
            outcome.offered += int(chunk.due_s.size)
            outcome.series.count_at("offered", chunk.due_s)
            for due in chunk.due_s.tolist():
                delay = due - clock()
                if delay > 0:
                    await asyncio.sleep(delay)
                outcome.max_behind_s = max(outcome.max_behind_s, -delay)
                ident, body = bodies[n % len(bodies)]
                task = asyncio.ensure_future(one(body, f"{ident}-{n}", due))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                outcome.series.count_at("sent", clock())
                n += 1
        if tasks:
            await asyncio.wait(set(tasks), timeout=timeout_s + 5)
    outcome.sent = n
    outcome.codes = dict(sorted(codes.items()))
    outcome.ok = sum(count for code, count in codes.items() if code.startswith("2"))
    outcome.finished_at = time.time()
    return outcome
