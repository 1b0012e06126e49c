"""Ctrl+L: how replies are drawn: their length, the scale factor, how much of the distribution
they draw from, and how their line breaks are shown."""

from __future__ import annotations

from rnntui.tui.screens.settings_form import SettingsForm, number_parser
from rnntui.tui.settings import MAX_LENGTH, MAX_SAMPLE_EVERY, MAX_TOP_K, SCALE_RANGE


class ReplySettingsScreen(SettingsForm):
    FIELDS = (
        ("length", f"characters per reply (1 to {MAX_LENGTH:,})", number_parser(int, 1, MAX_LENGTH), "{}"),
        ("scale_factor", "scale factor (ctrl+↑ / ctrl+↓ step through it)", number_parser(float, *SCALE_RANGE),
         "{:g}"),
        ("top_k", "top-k: only the k most likely characters (0: all)", number_parser(int, 0, MAX_TOP_K), "{}"),
        ("top_p", "top-p: the most likely ones that add up to p (1: all)",
         number_parser(float, 0, 1, low_open=True), "{:g}"),
        ("sample_every", "while training, a reply every N steps (0: none)",
         number_parser(int, 0, MAX_SAMPLE_EVERY), "{}"),
    )
    HEADING = "Reply settings"
    INTRO = ("Each character is drawn from softmax(logits × scale factor). Top-k and top-p cut that "
             "to its most likely characters first, which leaves out the rare slips (both off by "
             "default, as in the book). From the next character on.")
    DIALOG_ID = "reply-settings"
    CHECKBOXES = (("reflow", "join wrapped lines into paragraphs (off: lines as written)"),
                  ("adapt", "adapt to the seed text first (a copy learns from it)"))
