"""The one place the app relies on Textual's private details (tested with Textual 8.2).

* ``FooterKey`` and ``FooterLabel`` (``textual.widgets._footer``): the footer's parts, which
  rnntui's footer (widgets/footer.py) composes itself. If Textual moves them, the import fails
  at start-up: the footer must then be rebuilt from Textual's public ``Footer``.
* ``App._notifications``: the notifications on screen, read so that the same one is not
  stacked twice. If it goes, ``showing_notifications`` returns nothing and every notification
  shows, as Textual does by default.
"""

from __future__ import annotations

from textual.app import App
from textual.widgets._footer import FooterKey, FooterLabel

__all__ = ["FooterKey", "FooterLabel", "showing_notification", "showing_notifications"]


def showing_notifications(app: App) -> list:
    try:
        return list(getattr(app, "_notifications", ()))
    except RuntimeError:  # changed while read from another thread: treat it as empty
        return []


def showing_notification(app, message: str, title: str, severity: str) -> bool:
    """A notification with this text, title and severity is on the screen now."""
    return any(n.message == message and n.title == title and n.severity == severity
               for n in showing_notifications(app))
