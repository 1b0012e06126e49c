"""``rnntui neurons find|show|ablate``: the parser of the commands that look inside a model."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnntui.cli.common import add_threads_argument, command
from rnntui.neurons import FEATURE_NAMES

FEATURE_CHOICES = [*FEATURE_NAMES, "regex"]


def add_neurons_commands(commands) -> None:
    neurons = commands.add_parser(
        "neurons", help="inside the network: what each unit tracks, and what switching it off changes",
        description="Look inside a model: rank its units by how well they track a feature of the text (find), "
        "show a text coloured by one unit (show), and clamp units to see what they matter for (ablate). "
        "With a sentiment checkpoint (or --sentiment), the same on movie reviews.")
    neurons.set_defaults(func=lambda args: neurons.error("choose a command: find, show or ablate"))
    tasks = neurons.add_subparsers(dest="neurons_command", parser_class=type(neurons), metavar="COMMAND")

    find = tasks.add_parser("find", help="rank the units by how well they track a feature or a span",
                            description="Read the text once and rank every unit, of the cell state and of the "
                            "hidden state separately, by |Pearson correlation| with a feature of each character, "
                            "or by how selectively it is on inside a span (--span). For a sentiment model: the "
                            "units of its summary by correlation with the review's label, each one's accuracy "
                            "alone, and all of them's.")
    find.set_defaults(func=command("neurons", "cmd_find"))
    _source(find, default_chars="100,000 characters")
    _feature(find)
    find.add_argument("--span", metavar="START:END", help="rank by selectivity for these characters of the text "
                      "(START included, END not) instead of a feature")
    find.add_argument("--top", type=int, default=10, help="units to list for each state (10)")

    show = tasks.add_parser("show", help="a text coloured by one unit's activation",
                            description="The text coloured by one unit (a diverging scale: blue below zero, red "
                            "above) on a terminal; piped, each line of text with a line of levels under it (1 "
                            "the most negative, 5 zero, 9 the most positive); --json: the values.")
    show.set_defaults(func=command("neurons", "cmd_show"))
    _source(show, default_chars="1,000 characters")
    show.add_argument("--unit", type=int, required=True, help="the unit to show")
    show.add_argument("--at", type=int, metavar="POSITION", help="also the step at this character of the text: "
                      "the unit's gates and states, the next-character distribution (a plain RNN: the sum "
                      "h = tanh(W_xh x + W_hh h_prev + b) with its numbers)")
    show.add_argument("--review", help="sentiment: the review to show (or --text-file F)")

    ablate = tasks.add_parser("ablate", help="switch units off and compare the loss with random units",
                              description="Hold units at a value (0) at every step and report the loss on the "
                              "held-out tail, overall and on the feature's characters, with and without them, and "
                              "with random sets of as many units instead (seeded). For a sentiment model: the loss "
                              "and accuracy on the validation reviews.")
    ablate.set_defaults(func=command("neurons", "cmd_ablate"))
    _source(ablate, default_chars="the whole held-out tail")
    ablate.add_argument("--unit", type=int, action="append", required=True, help="a unit to switch off (repeat "
                        "for several)")
    _feature(ablate, default="inside-quotes")
    ablate.add_argument("--value", type=float, default=0.0, help="the value to hold the units at (0)")
    ablate.add_argument("--random-sets", type=int, default=5, metavar="K", help="random sets of as many units "
                        "to compare with (5)")
    ablate.add_argument("--seed", type=int, default=0, help="the random sets' seed (0)")
    ablate.add_argument("--reviews", type=int, help="sentiment: measure on the first N validation reviews "
                        "(default: all)")


def _source(parser: argparse.ArgumentParser, default_chars: str) -> None:
    parser.add_argument("--checkpoint", type=Path, help="model file (default: the bundled model; with "
                        "--sentiment, the bundled sentiment model)")
    parser.add_argument("--sentiment", action="store_true", help="the review model (default: the bundled one)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--corpus", type=Path, help="read the held-out tail of this text (default: the text the "
                        "model was trained on, or The Mysterious Island)")
    source.add_argument("--text-file", type=Path, help="read this UTF-8 text instead")
    parser.add_argument("--encoding", help="read --corpus in this encoding instead of UTF-8")
    parser.add_argument("--chars", type=int, help=f"read the first N characters ({default_chars})")
    parser.add_argument("--state", choices=["cell", "hidden"], help="which state's units (default: cell for an "
                        "LSTM, hidden otherwise; sentiment: hidden)")
    parser.add_argument("--layer", type=int, default=-1, help="the layer of a stacked model (-1: the last)")
    parser.add_argument("--data", type=Path, help="sentiment: aclImdb_v1.tar.gz or its aclImdb/ folder, as "
                        "rnntui sentiment train takes it (only its validation reviews are read)")
    add_threads_argument(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _feature(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    parser.add_argument("--feature", choices=FEATURE_CHOICES, default=default,
                        help="what to track: " + ", ".join(FEATURE_CHOICES) + (f" ({default})" if default else ""))
    parser.add_argument("--regex", metavar="R", help="with --feature regex (or alone): the characters inside "
                        "the matches of this Python regular expression")
