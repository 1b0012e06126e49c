"""SIGTERM (a shutdown, ``kill``) and SIGHUP (the terminal window closed) would end the process
at once: training progress not saved would be lost and, after SIGTERM, the terminal left in the
app's modes. The app handles them on its event loop instead, saving what is unsaved first."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable

SIGHUP = getattr(signal, "SIGHUP", None)  # Windows has neither SIGHUP nor SIGTERM


class TerminationSignals:
    """While installed, SIGTERM and SIGHUP call ``handler(number)`` on the event loop, once each:
    a second one has its own effect again."""

    def __init__(self, handler: Callable[[int], None]) -> None:
        self.handler = handler
        self.handled: list[int] = []

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers belong to the main thread (an app run by a test in a thread)
        loop = asyncio.get_running_loop()
        for name in ("SIGTERM", "SIGHUP"):
            number = getattr(signal, name, None)
            if number is not None:
                try:
                    loop.add_signal_handler(number, self._handle, number)
                    self.handled.append(number)
                except (NotImplementedError, RuntimeError, ValueError):
                    pass

    def _handle(self, number: int) -> None:
        asyncio.get_running_loop().remove_signal_handler(number)  # a second one ends it at once
        self.handler(number)

    def remove(self) -> None:
        loop = asyncio.get_running_loop()
        for number in self.handled:  # the signals' own effect again, after the app
            loop.remove_signal_handler(number)
        self.handled = []


def end_as_signalled(number: int) -> None:
    """The signal's default action (for SIGHUP: nothing to save, or saved, and no terminal left
    to restore, so Textual's shutdown would wait for ever to write to it)."""
    os.kill(os.getpid(), number)
