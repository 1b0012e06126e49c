"""F2: the training settings the next step uses, as `rnntui train`'s flags of the same names."""

from __future__ import annotations

from rnntui.tui.screens.settings_form import SettingsForm, number_parser


class TrainingSettingsScreen(SettingsForm):
    FIELDS = (
        ("lr", "learning rate (constant from now on)", number_parser(float, 0, 1, low_open=True), "{:.6g}"),
        ("batch_size", "batch size (windows per step)", number_parser(int, 1, 4096), "{}"),
        ("seq_length", "sequence length (characters per window)", number_parser(int, 1, 10_000), "{}"),
        ("dropout", "dropout on the LSTM's outputs", number_parser(float, 0, 1, high_open=True), "{:g}"),
        ("weight_dropout", "weight dropout (recurrent weights)", number_parser(float, 0, 1, high_open=True),
         "{:g}"),
    )
    HEADING = "Training settings"
    INTRO = ("From the next step on; the weights, optimizer state and step stay. "
             "A checkpoint saved afterwards records them, as rnntui train does.")
    DIALOG_ID = "training-settings"
    CHECKBOXES = (("carry_state", "carry the state from window to window (rnntui train --carry-state)"),)
