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
    """While installed, SIGTERM and SIGHUP call ``handler(number)`` on the event loop, once each.
    A second SIGTERM has its own effect again: a person insisting. A second SIGHUP is ignored:
    a closed terminal sends it more than once (the kernel to the terminal's foreground group,
    then the shell to its jobs), and the save it started must not be cut short."""

    def __init__(self, handler: Callable[[int], None]) -> None:
        self.handler = handler
        self.handled: list[int] = []
        self.received: set[int] = set()

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
        if number in self.received:
            return  # the same hang-up again
        self.received.add(number)
        if number != SIGHUP:
            asyncio.get_running_loop().remove_signal_handler(number)  # a second one ends it at once
        self.handler(number)

    def end_as_hung_up(self) -> None:
        """On the event loop: end the process as SIGHUP's default action does, once nothing is
        left to save (and no terminal is left to restore, so Textual's shutdown would wait for
        ever to write to it)."""
        if SIGHUP in self.handled:
            asyncio.get_running_loop().remove_signal_handler(SIGHUP)
        os.kill(os.getpid(), SIGHUP)

    def remove(self) -> None:
        loop = asyncio.get_running_loop()
        for number in self.handled:  # the signals' own effect again, after the app
            loop.remove_signal_handler(number)
        self.handled = []
