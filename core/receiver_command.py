"""``iocsim webhook-receiver``: the reference receiver of alert webhooks, for trials and integration tests.

It verifies Standard Webhooks signatures with the shared secret, rejects
forged, stale and replayed requests, prints one line per alert and can fail on
purpose (``--fail-first``, ``--status``, ``--delay``) to show the dispatcher
retrying and dead-lettering.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from iocsim.config import as_float, as_int
from iocsim.errors import ConfigError

if TYPE_CHECKING:
    from iocsim.consumers.receiver import ReceiverSettings

DEFAULT_PORT = 9000


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``webhook-receiver`` command to the ``iocsim`` parser."""
    p = sub.add_parser(
        "webhook-receiver",
        help="run the reference webhook receiver (verifies signatures, logs alerts)",
        description="Receive alert webhooks on loopback, verify their Standard Webhooks signature, reject forged "
        "(401), stale (401) and replayed (409) requests, acknowledge redeliveries of an id once processed, and print "
        "one line per alert. Without --secret (or IOCSIM_WEBHOOK_SECRET) a fresh secret is generated and printed.",
    )
    p.add_argument("--port", help=f"port to listen on (default {DEFAULT_PORT}; 0 = any free port)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--secret", help="shared secret whsec_<base64> (env IOCSIM_WEBHOOK_SECRET)")
    p.add_argument("--tolerance", help="accepted clock difference of webhook-timestamp, seconds (default 300)")
    p.add_argument("--fail-first", help="answer the first N requests of every webhook-id with --status")
    p.add_argument("--status", help="status of failed answers (default 500); without --fail-first, fail every request")
    p.add_argument("--retry-after", help="Retry-After header to send with failed answers (seconds or HTTP date)")
    p.add_argument("--delay", help="seconds to wait before answering each request")
    p.add_argument("--record", help="append every accepted request (id, attempt, body) to this JSONL file")
    p.set_defaults(handler=run)


def resolve(args: argparse.Namespace) -> tuple[ReceiverSettings, str | None]:
    """The receiver settings, and the secret if it was generated here (to be printed)."""
    from iocsim.consumers.receiver import ReceiverSettings
    from iocsim.consumers.signing import DEFAULT_TOLERANCE, generate_secret, parse_secret

    secret = args.secret or os.environ.get("IOCSIM_WEBHOOK_SECRET")
    generated = None
    if not secret:
        secret = generated = generate_secret()
    field = "--secret" if args.secret else "IOCSIM_WEBHOOK_SECRET"
    port = as_int(args.port if args.port is not None else DEFAULT_PORT, "--port", 0)
    if port > 65535:
        raise ConfigError("--port", f"{port} is not a port number")
    status = as_int(args.status if args.status is not None else 500, "--status", 100)
    if status > 599:
        raise ConfigError("--status", f"{status} is not an HTTP status")
    fail_first = as_int(args.fail_first if args.fail_first is not None else 0, "--fail-first", 0)
    settings = ReceiverSettings(
        key=parse_secret(secret, field),
        host=args.host,
        port=port,
        tolerance=as_float(args.tolerance if args.tolerance is not None else DEFAULT_TOLERANCE, "--tolerance", 0.0),
        fail_first=fail_first,
        fail_always=args.status is not None and args.fail_first is None,
        fail_status=status,
        retry_after=args.retry_after,
        delay=as_float(args.delay if args.delay is not None else 0.0, "--delay", 0.0),
        record=Path(args.record) if args.record else None,
    )
    return settings, generated


def run(args: argparse.Namespace) -> int:
    from iocsim.consumers.receiver import Receiver

    settings, generated = resolve(args)
    logger = logging.getLogger("iocsim.webhook-receiver")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False

    async def serve() -> None:
        receiver = Receiver(settings)
        await receiver.start()
        print(f"iocsim webhook-receiver: listening on {receiver.url}", flush=True)
        if generated:
            print(f"generated secret (give it to the dispatcher as IOCSIM_WEBHOOK_SECRET): {generated}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            await receiver.stop()
            s = receiver.stats
            print(
                f"accepted {s.accepted}, duplicates {s.duplicates}, failed on purpose {s.failed_on_purpose}, "
                f"rejected {sum(s.rejected.values())} {s.rejected or ''}".rstrip(),
                flush=True,
            )

    asyncio.run(serve())
    return 0
