"""The one place the app relies on Textual's private details (tested with Textual 8.2).

* ``FooterKey`` and ``FooterLabel`` (``textual.widgets._footer``): the footer's parts, which
  rnntui's footer (widgets/footer.py) composes itself. If Textual moves them, the import fails
  at start-up: the footer must then be rebuilt from Textual's public ``Footer``.
* ``App._notifications``: the notifications on screen, read so that the same one is not
  stacked twice. If it goes, ``showing_notifications`` returns nothing and every notification
  shows, as Textual does by default.
* ``App._handle_exception``: where Textual sends every exception nothing handled (a message
  handler's, a timer's, a worker's) before it ends the app. ``BeforeCrash`` wraps it so that
  the app saves its training first. If it goes, the wrapper is never called and an unexpected
  error ends the app without that save, as Textual does by default (the autosave still bounds
  what is lost).
"""

from __future__ import annotations

from textual.app import App
from textual.widgets._footer import FooterKey, FooterLabel

__all__ = ["BeforeCrash", "FooterKey", "FooterLabel", "showing_notification", "showing_notifications"]


def showing_notifications(app: App) -> list:
    try:
        return list(getattr(app, "_notifications", ()))
    except RuntimeError:  # changed while read from another thread: treat it as empty
        return []


def showing_notification(app, message: str, title: str, severity: str) -> bool:
    """A notification with this text, title and severity is on the screen now."""
    return any(n.message == message and n.title == title and n.severity == severity
               for n in showing_notifications(app))


class BeforeCrash:
    """Mixed into an App (before ``App``): ``before_crash(error)`` runs once, on the event loop,
    when an exception nothing handled is about to end the app; then Textual ends it as usual
    (the traceback, exit status 1). A second error, or one in ``before_crash``, ends it at once."""

    _before_crash_called = False

    def before_crash(self, error: Exception) -> None:
        """Override: what must happen before the app ends on ``error``."""

    def _handle_exception(self, error: Exception) -> None:
        if not self._before_crash_called:
            self._before_crash_called = True
            try:
                self.before_crash(error)
            except Exception:  # noqa: BLE001 - the app ends on the first error all the same
                pass
        super()._handle_exception(error)  # type: ignore[misc]
