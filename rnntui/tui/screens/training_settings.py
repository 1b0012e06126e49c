"""F2: the training settings the next step uses, as `rnntui train`'s flags of the same names,
each taking the range its setting declares (charlm/config.py, charlm/model.py)."""

from __future__ import annotations

import math

from rnntui.charlm.config import TrainConfig
from rnntui.core.settings import whole_range
from rnntui.tui.numbers import number_parser
from rnntui.tui.screens.settings_form import SettingsForm

RATE = number_parser(float, 0, 1, high_open=True)  # a dropout, as the model's config checks it


class TrainingSettingsScreen(SettingsForm):
    FIELDS = (
        ("lr", "learning rate (constant from now on)", number_parser(float, 0, math.inf, low_open=True), "{:.6g}"),
        ("batch_size", "batch size (windows per step)", number_parser(int, *whole_range(TrainConfig, "batch_size")),
         "{}"),
        ("seq_length", "sequence length (characters per window)",
         number_parser(int, *whole_range(TrainConfig, "seq_length")), "{}"),
        ("dropout", "dropout on the LSTM's outputs", RATE, "{:g}"),
        ("weight_dropout", "weight dropout (recurrent weights)", RATE, "{:g}"),
    )
    HEADING = "Training settings"
    INTRO = ("From the next step on; the weights, optimizer state and step stay. "
             "A checkpoint saved afterwards records them, as rnntui train does.")
    DIALOG_ID = "training-settings"
    CHECKBOXES = (("carry_state", "carry the state from window to window (rnntui train --carry-state)"),)
