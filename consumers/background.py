"""A dispatcher on its own event loop in a daemon thread, for an all-in-one ``iocsim run``."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from iocsim.consumers.dispatcher import Dispatcher, DispatchSettings
from iocsim.consumers.errors import DispatchError


class BackgroundDispatcher:
    def __init__(self, settings: DispatchSettings) -> None:
        self.dispatcher = Dispatcher(settings)
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="dispatcher", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            await self.dispatcher.run()

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported by stop()
            self.error = exc

    def start(self) -> BackgroundDispatcher:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.dispatcher.stop)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise DispatchError(f"dispatcher did not stop within {timeout:.0f} s")
        if self.error is not None:
            raise DispatchError(f"dispatcher failed: {self.error}") from self.error
