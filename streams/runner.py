"""Running a worker: in the foreground until Ctrl-C/SIGTERM, or in a background thread.

Faust's own ``Worker`` class is not used: it takes over logging, stdout and
signals, which suits the ``faust`` program but not a composition root that
also runs a simulator or a dispatcher in the same process. Starting the app
as a service on an event loop of our own keeps both uses on one code path.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Sequence
from types import TracebackType

from iocsim.streams.app import Worker, build_worker
from iocsim.streams.detector import Detector
from iocsim.streams.errors import StreamsError
from iocsim.streams.metrics import serve_metrics
from iocsim.streams.settings import WorkerSettings

log = logging.getLogger(__name__)

CHATTY_LOGGERS = ("faust", "mode", "aiokafka", "kafka", "aiohttp", "venusian")

YOUNG_COLLECTION_AFTER = 50_000
"""Net container allocations between young garbage collections (CPython's default: 700)."""


def quiet_logs(level: str) -> None:
    """Faust and its clients log every rebalance step at info: keep them at the worker's level."""
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(level.upper())


def collect_garbage_less_often() -> None:
    """Space out the collector's passes: at CPython's default a worker spent an eighth of its CPU in them.

    The detectors build short lists and tuples per observation, which at 700
    allocations per young collection meant hundreds of young and a few full
    collections per 200,000 observations; the full ones walk Faust's and the
    clients' whole heap (about 90 ms each). Reference counting frees almost
    all of those objects anyway.
    """
    young, middle, old = gc.get_threshold()
    if 0 < young < YOUNG_COLLECTION_AFTER:
        gc.set_threshold(YOUNG_COLLECTION_AFTER, middle, old)


async def serve(worker: Worker, stop: asyncio.Event, ready: threading.Event | None = None) -> None:
    """Run ``worker`` (app and metrics endpoint) until ``stop`` is set or the app stops by itself."""
    collect_garbage_less_often()
    settings = worker.settings
    try:
        server, _ = serve_metrics(worker.metrics.registry, settings.metrics_host, settings.metrics_port)
    except OSError as exc:
        remove_temporary_dir(worker)
        raise StreamsError(
            f"--metrics-port: cannot listen on {settings.metrics_host}:{settings.metrics_port}: {exc}"
        ) from exc
    app = worker.app
    try:
        await app.start()
        if ready is not None:
            ready.set()
        stopped = asyncio.ensure_future(app.wait_until_stopped())
        waiting = asyncio.ensure_future(stop.wait())
        await asyncio.wait({stopped, waiting}, return_when=asyncio.FIRST_COMPLETED)
        for future in (stopped, waiting):
            future.cancel()
    finally:
        try:
            await asyncio.wait_for(worker.feed_loop.stop(), settings.stop_timeout_seconds)
        except TimeoutError:
            log.warning("worker %s: last batch not committed (broker gone?)", settings.app_id)
        except Exception:
            log.exception("worker %s: error while committing the last batch", settings.app_id)
        try:
            await asyncio.wait_for(app.stop(), settings.stop_timeout_seconds)
        except TimeoutError:
            log.warning(
                "worker %s: not stopped within %.0f s (broker gone?)", settings.app_id, settings.stop_timeout_seconds
            )
        except Exception:
            log.exception("worker %s: error while stopping", settings.app_id)
        server.shutdown()
        server.server_close()
        remove_temporary_dir(worker)


def remove_temporary_dir(worker: Worker) -> None:
    """Faust's directory, when the worker was given none: its tables live on in the changelogs."""
    if worker.temporary_dir is not None:
        shutil.rmtree(worker.temporary_dir, ignore_errors=True)


def run_worker(settings: WorkerSettings, detectors: Sequence[Detector]) -> None:
    """Run a worker in the foreground until SIGINT or SIGTERM, then stop it cleanly.

    A second signal, or a stop that takes longer than ``stop_timeout_seconds``
    (the broker is gone and Faust keeps retrying its last commit), ends the
    process at once: at-least-once processing makes that safe.
    """
    quiet_logs(settings.log_level)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            if stop.is_set():
                os._exit(130)
            stop.set()

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, on_signal)
        worker = build_worker(settings, detectors)
        started = time.monotonic()
        ready = threading.Event()
        task = asyncio.ensure_future(_report_first_batch(worker, started))
        try:
            await serve(worker, stop, ready)
        finally:
            task.cancel()

    asyncio.run(main())
    lingering = [t.name for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if lingering:
        log.warning("worker %s: threads %s did not stop; exiting anyway", settings.app_id, ", ".join(lingering))
        logging.shutdown()
        os._exit(0)


async def _report_first_batch(worker: Worker, started: float) -> None:
    while worker.probe.first_batch_at is None:
        await asyncio.sleep(0.2)
    log.info(
        "worker %s: first batch processed %.1f s after start (metrics on %s:%d)",
        worker.settings.app_id,
        worker.probe.first_batch_at - started,
        worker.settings.metrics_host,
        worker.settings.metrics_port,
    )


class BackgroundWorker:
    """A worker on its own event loop in a daemon thread (tests, benchmarks, an all-in-one run)."""

    def __init__(self, settings: WorkerSettings, detectors: Sequence[Detector]) -> None:
        self.settings = settings
        self.detectors = detectors
        self.worker: Worker | None = None
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name=f"worker-{settings.app_id}", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self.worker = build_worker(self.settings, self.detectors)
            await serve(self.worker, self._stop, self._ready)

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported to the owner thread by start()/stop()
            self.error = exc
        finally:
            self._ready.set()

    def start(self, timeout: float = 30.0) -> BackgroundWorker:
        quiet_logs(self.settings.log_level)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise StreamsError(f"worker {self.settings.app_id} did not start within {timeout:.0f} s")
        if self.error is not None:
            raise StreamsError(f"worker {self.settings.app_id} failed to start: {self.error}") from self.error
        return self

    def stop(self, timeout: float = 30.0) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise StreamsError(f"worker {self.settings.app_id} did not stop within {timeout:.0f} s")

    def __enter__(self) -> BackgroundWorker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
