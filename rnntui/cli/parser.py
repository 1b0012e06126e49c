"""The command line's parser: every command, its flags and its help. Each command names the
function that runs it (``set_defaults(func=...)``), imported only when it runs."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from rnntui import __version__
from rnntui.charlm.config import TrainConfig
from rnntui.cli.common import (
    BUNDLED,
    DEFAULT_SEED_TEXT,
    OVERWRITE_HELP,
    SAVE_BEST_NAMING,
    add_setting_flags,
    add_threads_argument,
    command,
)
from rnntui.cli.neurons_parser import add_neurons_commands
from rnntui.cli.sentiment_parser import add_sentiment_commands
from rnntui.cli.sweep_parser import TENSORBOARD_HELP, add_metrics_command, add_sweep_command

COMPARE_HELP = ("also draw these runs' validation curves in the loss chart: checkpoints, metrics files, or folders "
                "(every run in it, e.g. a sweep's study in the data folder's sweeps/)")


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2), like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> Parser:
    from rnntui.charlm.limits import MAX_SEED_CHARACTERS

    parser = Parser(prog="rnntui", description="Train a character-level RNN on a book and talk "
                    "to it. With no command, opens the app.")
    parser.add_argument("--version", action="version", version=f"rnntui {__version__}")
    parser.add_argument("--checkpoint", type=Path, help="open the app with this checkpoint")
    parser.add_argument("--corpus", type=Path, help="train on this text file in the app")
    parser.add_argument("--finetune", action="store_true", help="with --corpus: fine-tune the model "
                        "(--checkpoint, or the bundled one) on that text instead of starting a new one")
    parser.add_argument("--encoding", help="with --corpus: read it in this encoding instead of UTF-8")
    parser.add_argument("--reviews-data", type=Path, metavar="PATH",
                        help="the movie reviews the app's reviews mode (f7) trains on: aclImdb_v1.tar.gz or its "
                             "aclImdb/ folder (default: downloaded once into the cache folder)")
    add_threads_argument(parser)
    parser.add_argument("--compare", type=Path, nargs="+", metavar="RUN", help=COMPARE_HELP)
    parser.set_defaults(func=command("app", "cmd_app"))
    commands = parser.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")

    train = commands.add_parser("train", help="train a model (headless)",
                                description="Train a model. --steps is the total to train to, "
                                "so a resumed run continues to it.")
    train.set_defaults(func=command("train", "cmd_train"))
    train.add_argument("--corpus", type=Path, help="UTF-8 text file (default: with --resume, the "
                       "text the model was trained on; otherwise The Mysterious Island, downloaded "
                       "once from Project Gutenberg)")
    train.add_argument("--encoding", help="read the corpus in this encoding instead of UTF-8")
    train.add_argument("--out", type=Path, help="checkpoint file to write (default: a new file "
                       "in the data folder, or the --resume file; the bundled model's run goes on in a new file "
                       "in the data folder)")
    train.add_argument("--resume", type=Path, help="continue training this checkpoint")
    train.add_argument("--finetune", type=Path, nargs="?", const=BUNDLED, metavar="CHECKPOINT",
                       help="start a new run on --corpus from this model's weights (default: the "
                       "bundled model): a model that already writes English learns a new text "
                       "in far fewer steps; the text's new characters are added to its vocabulary")
    settings = add_setting_flags(train, TrainConfig)
    add_threads_argument(train)
    # None means "not given": a resumed model keeps its own values, a new one takes the book's.
    model = train.add_argument_group("model", "the architecture is fixed once trained; the two "
                                     "dropout rates can be changed when resuming")
    model.add_argument("--embed-dim", type=int, help="size of each character's embedding (256)")
    model.add_argument("--hidden-size", type=int, help="units in each recurrent layer (512)")
    model.add_argument("--layers", type=int, help="stacked recurrent layers (1)")
    model.add_argument("--cell", choices=["lstm", "gru", "rnn"], help="the recurrent cell (lstm)")
    model.add_argument("--dropout", type=float, help="dropout on the recurrent layer's outputs (0)")
    model.add_argument("--weight-dropout", type=float,
                       help="drop this share of the recurrent weights while training, one mask per batch (0)")
    train.add_argument("--keep", type=int, default=1, help="also keep this run's last N step-numbered "
                       "checkpoints beside --out (1: only --out); other runs' files are never deleted")
    train.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    train.add_argument("--save-best", action="store_true", help="also save the checkpoint with the "
                       f"best validation estimate so far, beside --out: {SAVE_BEST_NAMING}")
    train.add_argument("--json", action="store_true", help="print one JSON object per step")
    train.add_argument("--log-every", type=int, default=10, help="without a terminal, a progress line every N "
                       "steps, and at each validation estimate (10)")
    train.add_argument("--tensorboard", type=Path, metavar="DIR", help=TENSORBOARD_HELP)
    add_sweep_command(commands, settings + model._group_actions, task="text")
    samples = train.add_argument_group("samples while training", "see what the model writes as it "
                                       "learns; the samples do not change the training")
    samples.add_argument("--sample-every", type=int, default=0, help="every N steps, print a sample "
                         "continuing --seed-text (0: never)")
    samples.add_argument("--seed-text", default=DEFAULT_SEED_TEXT, help=f"the samples' seed text "
                         f"({DEFAULT_SEED_TEXT!r})")
    samples.add_argument("--sample-length", type=int, default=200, help="characters per sample (200)")
    sharpness = samples.add_mutually_exclusive_group()
    sharpness.add_argument("--scale-factor", type=float, default=1.0, help="the samples' scale factor (1.0)")
    add_temperature_argument(sharpness)
    samples.add_argument("--top-k", type=int, default=0, help="the samples draw from the K most likely "
                         "characters only (0: all), as rnntui generate --top-k")
    samples.add_argument("--top-p", type=float, default=1.0, help="the samples draw from the most likely "
                         "characters up to P in all (1: all), as rnntui generate --top-p")

    generate = commands.add_parser("generate", help="stream text from a model",
                                   description="Stream text: the seed text, then each sampled character.")
    generate.set_defaults(func=command("generate", "cmd_generate"))
    generate.add_argument("--checkpoint", type=Path, help="model file (default: the bundled model)")
    generate.add_argument("--seed-text", help=f"the text to continue (default {DEFAULT_SEED_TEXT!r})")
    generate.add_argument("--seed-file", type=Path, help="read the seed text from this UTF-8 file instead (a long "
                          f"passage, e.g. for --adapt); the model reads its last {MAX_SEED_CHARACTERS:,} characters "
                          "at most")
    generate.add_argument("--encoding", help="read the --seed-file in this encoding instead of UTF-8")
    sharpness = generate.add_mutually_exclusive_group()
    sharpness.add_argument("--scale-factor", type=float, nargs="+", default=[1.0],
                           help="logits are multiplied by this (1/temperature): above 1, more predictable "
                                "text; below 1, more surprising (1.0). Several (0.5 1 2) give samples "
                                "at each, under a '# scale factor' line, to compare")
    add_temperature_argument(sharpness, nargs="+")
    generate.add_argument("--top-k", type=int, default=0,
                          help="draw each character from the K most likely only (0: all, as the book)")
    generate.add_argument("--top-p", type=float, default=1.0,
                          help="draw each character from the fewest most likely ones whose "
                               "probabilities add up to P (nucleus sampling; 1: all, as the book)")
    generate.add_argument("--length", type=int, default=500, help="characters to generate (500)")
    generate.add_argument("--num-samples", type=int, default=1,
                          help="this many continuations of the seed text, separated by '---' lines (1)")
    generate.add_argument("--random-seed", type=int, help="make the output repeatable")
    add_threads_argument(generate)
    generate.add_argument("--adapt", action="store_true", help="before continuing the seed text, let a copy "
                          "of the model learn from it as dynamic evaluation does (rnntui evaluate --dynamic), so "
                          "that a long passage in another style steers the continuation more (with a progress bar; "
                          f"{MAX_SEED_CHARACTERS:,} characters take under a minute on 2 idle cores: "
                          "docs/dynamic-evaluation.md)")
    add_dynamic_arguments(generate, seed_text=True)
    generate.add_argument("--pick", action="store_true", help="pick each next character yourself from "
                          "the five likeliest, as textgenrnn's interactive mode: type 1-5, or enter to "
                          "let the model draw, q to stop; the text is printed at the end")

    evaluate = commands.add_parser("evaluate", help="validation loss on a corpus's held-out tail")
    evaluate.set_defaults(func=command("evaluate", "cmd_evaluate"))
    evaluate.add_argument("--checkpoint", type=Path, help="model file (default: the bundled model)")
    evaluate.add_argument("--corpus", type=Path, help="text file (default: the one the model was trained "
                          "on, if it is still there; The Mysterious Island for the book's models)")
    evaluate.add_argument("--encoding", help="read the corpus in this encoding instead of UTF-8")
    evaluate.add_argument("--val-fraction", type=float,
                          help="the held-out tail of the text (default: the checkpoint's, or 0.1)")
    evaluate.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (auto)")
    add_threads_argument(evaluate)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    dynamic = evaluate.add_argument_group(
        "dynamic evaluation", "--dynamic also reports the loss of copies of the model that adapt to the tail as "
        "they read it, their predictions mixed: each segment is predicted, then learnt from (Krause et al. "
        "2018); the checkpoint is not changed")
    dynamic.add_argument("--dynamic", action="store_true", help="report the dynamic loss beside the static one")
    add_dynamic_arguments(dynamic)

    watch = commands.add_parser("watch", help="open the app on a training run, following its metrics",
                                description="Follow a run's loss live (the run may be another process "
                                "or machine sharing the folder) and generate from its checkpoints.")
    watch.set_defaults(func=command("app", "cmd_watch"))
    watch.add_argument("path", type=Path, help="a checkpoint, its .metrics.jsonl file, or a run folder")
    add_threads_argument(watch)
    watch.add_argument("--compare", type=Path, nargs="+", metavar="RUN", help=COMPARE_HELP)

    info = commands.add_parser("info", help="what a checkpoint holds: model, training, corpus, losses, provenance")
    info.set_defaults(func=command("info", "cmd_info"))
    info.add_argument("checkpoint", type=Path, nargs="?", help="model file (default: the bundled model)")
    info.add_argument("--json", action="store_true", help="print one JSON object")

    corpus = commands.add_parser("corpus", help="where files live; fetch the default corpus")
    corpus.set_defaults(func=command("info", "cmd_corpus"))
    corpus.add_argument("--fetch", nargs="?", const=True, default=None, metavar="FILE",
                        help="download the default corpus now; with FILE, put that local copy of the book in "
                        "the cache instead (no internet needed)")
    add_sentiment_commands(commands)
    add_metrics_command(commands)
    add_neurons_commands(commands)
    return parser


def temperature(text: str) -> float:
    """``--temperature T`` read as the scale factor it means, 1/T."""
    from rnntui.charlm.limits import MAX_SCALE_FACTOR

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the temperature must be a number, got {text!r}") from None
    if not (math.isfinite(value) and value >= 1 / MAX_SCALE_FACTOR):
        raise argparse.ArgumentTypeError(f"the temperature must be a number of at least {1 / MAX_SCALE_FACTOR:g} "
                                         f"(a scale factor of at most {MAX_SCALE_FACTOR:g}), got {text}")
    return 1.0 / value


def add_temperature_argument(group, nargs: str | None = None) -> None:
    """``--temperature T``, another way to give ``--scale-factor`` (1/T), as nanoGPT and
    textgenrnn name it; ``group`` keeps the two apart."""
    group.add_argument("--temperature", type=temperature, nargs=nargs, dest="scale_factor", metavar="T",
                       default=argparse.SUPPRESS,
                       help="the same as --scale-factor 1/T, as nanoGPT and textgenrnn write it: "
                            "0.5 is --scale-factor 2 (give one of the two)")


def add_dynamic_arguments(group, seed_text: bool = False) -> None:
    """The update rule's settings, shared by evaluate --dynamic and generate --adapt (``seed_text``:
    whose defaults are ``SEED_TEXT_CONFIG``'s)."""
    from rnntui.charlm.dynamic_config import MAX_LR, RULES, SEED_TEXT_CONFIG, DynamicConfig

    default = SEED_TEXT_CONFIG if seed_text else DynamicConfig()
    group.set_defaults(dynamic_defaults=default)  # what dynamic_config falls back on
    group.add_argument("--dynamic-rule", choices=RULES, default=default.rule,
                       help=f"rms: Krause et al.'s RMS-normalised step with decay toward the trained weights; "
                       f"sgd: plain gradient steps ({default.rule})")
    rates = " ".join(f"{lr:g}" for lr in default.lrs)
    several = ("one copy each, continuing from the one that read the seed text best" if seed_text
               else "one copy each, their predictions mixed")
    group.add_argument("--dynamic-lr", type=float, nargs="+", metavar="LR",
                       help=f"the update's learning rate, from 0 to {MAX_LR:g}; several: {several} (rms {rates}, "
                       f"sgd {DynamicConfig.SGD_LR:g})")
    group.add_argument("--dynamic-decay", type=float, nargs="+", metavar="D",
                       help="rms: the pull back toward the trained weights, one for all rates or one per rate "
                       f"({' '.join(f'{d:g}' for d in default.decays)}; 0 with rates of your own)")
    group.add_argument("--dynamic-share", type=float, default=default.share, metavar="S",
                       help=f"with several rates: the share of the mixture's weight spread evenly again after "
                       f"each character ({default.share:g})")
    group.add_argument("--segment", type=int, default=default.segment,
                       help=f"characters read between two updates ({default.segment})")
