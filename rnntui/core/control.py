"""Pause, resume and stop a training loop from another thread: the app's keys and the command
line's Ctrl+C reach any trainer (the language model's or the sentiment model's) the same way.
Each takes effect between two steps, so the step in flight always completes."""

from __future__ import annotations

import threading


class RunControl:
    def __init__(self) -> None:
        self._run = threading.Event()
        self._run.set()
        self._stop = threading.Event()
        self._waiting = threading.Event()  # set while the loop waits for resume()

    def pause(self) -> None:
        self._run.clear()

    def resume(self) -> None:
        self._run.set()

    def stop(self) -> None:
        self._stop.set()
        self._run.set()

    @property
    def paused(self) -> bool:
        return not self._run.is_set()

    def wait_until_paused(self, timeout: float) -> bool:
        """After ``pause()``: wait for the step in flight to finish; True once the loop waits."""
        return self._waiting.wait(timeout)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait_while_paused(self) -> None:
        """Called by the loop between steps: blocks (without polling) while paused."""
        if not self._run.is_set():
            self._waiting.set()
            self._run.wait()
            self._waiting.clear()
