"""Ctrl+L: how replies are drawn: their length, the scale factor, how much of the distribution
they draw from, and how their line breaks are shown (each setting as persistence specifies it)."""

from __future__ import annotations

from rnntui.tui.persistence import REPLY_NUMBERS, REPLY_SWITCHES
from rnntui.tui.screens.settings_form import SettingsForm


class ReplySettingsScreen(SettingsForm):
    FIELDS = tuple((spec.name, spec.label, spec.parse, spec.shown) for spec in REPLY_NUMBERS)
    HEADING = "Reply settings"
    INTRO = ("Each character is drawn from softmax(logits × scale factor). Top-k and top-p cut that "
             "to its most likely characters first, which leaves out the rare slips (both off by "
             "default, as in the book). From the next character on.")
    DIALOG_ID = "reply-settings"
    CHECKBOXES = REPLY_SWITCHES
