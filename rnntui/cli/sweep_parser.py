"""The parsers of ``rnntui sweep``, ``rnntui sentiment sweep`` and ``rnntui metrics``. A sweep's
settings are its model's ``train`` flags (their actions are passed in), each taking several values
or a range; no torch here, so that ``--help`` stays quick."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnntui.cli.common import add_threads_argument, command

TENSORBOARD_HELP = ("also write the metrics file's scalars (loss, validation, learning rate, throughput) as "
                    "TensorBoard event files in DIR/<checkpoint name> (needs pip install 'rnntui[tensorboard]')")

# Train flags a sweep sets itself: the budget (the same for every trial) and when it validates (the
# estimates it prunes on) and saves.
NOT_SWEPT = ("steps", "epochs", "eval_every", "save_every")
# Settings every trial shares: one value each. The objective is measured on the held-out tail the
# split leaves, and where a run trains changes its speed, not what it learns.
ONE_VALUE = ("val_fraction", "device", "precision")


def setting_kind(action: argparse.Action) -> str:
    """What a train flag takes: "int", "float", "str" or "bool" (a switch)."""
    if action.nargs == 0 or isinstance(action, argparse.BooleanOptionalAction):
        return "bool"
    return getattr(action.type, "__name__", "str") if action.type is not None else "str"


def add_sweep_command(commands, setting_actions: list[argparse.Action], task: str) -> None:
    """``sweep`` beside ``train`` (``task``: "text" or "reviews"), one flag per setting of
    ``setting_actions`` (the train command's settings)."""
    from rnntui.sweep.space import Setting

    text = task == "text"
    unit = "characters" if text else "reviews"
    sweep = commands.add_parser(
        "sweep", help="train several models, varying settings, and compare them (needs rnntui[sweep])",
        description=(
            "Train one model per trial, each with its own values of the settings given several values "
            "(a grid: every combination) or a range LOW..HIGH (sampled by Optuna's TPE, LOW..HIGH log on a log "
            "scale), and rank them by " + ("the exact loss on the text's held-out tail (lower is better)" if text
                                           else "the validation accuracy at the end (higher is better)")
            + f". Every trial trains on the same number of {unit}, so that a setting that reads more per step "
            "gets no more training. Weak trials stop early (Optuna's median pruner on the validation estimates). "
            "The study lives in an SQLite file in the data folder (or --storage): rerun the same command to "
            "continue it after an interruption, or start it on several machines sharing one --storage. "
            "Needs pip install 'rnntui[sweep]'."))
    sweep.set_defaults(func=command("sweep", "cmd_sweep"), sweep_task=task)
    if text:
        sweep.add_argument("--corpus", type=Path, help="UTF-8 text file (default: The Mysterious Island)")
        sweep.add_argument("--encoding", help="read the corpus in this encoding instead of UTF-8")
        sweep.add_argument("--budget", type=int, metavar="CHARACTERS",
                           help="characters each trial trains on: steps = CHARACTERS / (batch size × sequence "
                           "length), so every trial reads the same amount of text (default: the book's run, "
                           "10,000 steps of 64 × 40 = 25,600,000)")
    else:
        sweep.add_argument("--data", type=Path, help="aclImdb_v1.tar.gz or its aclImdb/ folder (default: the "
                           "copy in the cache)")
        sweep.add_argument("--epochs", type=int, help="passes over the training reviews each trial makes: every "
                           "trial trains on the same number of reviews, whatever its batch size (default 10)")
    add_threads_argument(sweep)
    study = sweep.add_argument_group("the study")
    study.add_argument("--study", metavar="NAME", help="the study's name: its SQLite file and trials' folder in "
                       "the data folder (default: the settings varied, e.g. seq_length, after reviews- for reviews); "
                       "the same name continues it")
    study.add_argument("--show", metavar="STUDY", help="print the trials of this study (finished or running) and exit")
    study.add_argument("--trials", type=int, help="trials to run in all, across every worker (default: every "
                       "combination of the values listed; 20 where a range is given)")
    study.add_argument("--storage", metavar="URL", help="any database Optuna supports (postgresql://..., "
                       "mysql://..., sqlite:///...) or an Optuna journal file on a shared disk (a path): start "
                       "the same command on several machines to share the work")
    study.add_argument("--folder", type=Path, help="where the trials' checkpoints and metrics files go (default: "
                       "sweeps/STUDY in the data folder; a shared disk when several machines work)")
    study.add_argument("--keep-all", action="store_true", help="keep every trial's checkpoint (default: only the "
                       "best trial's; the metrics files are all kept)")
    study.add_argument("--no-prune", action="store_true", help="train every trial to the end")
    study.add_argument("--json", action="store_true", help="print the results as one JSON object")
    study.add_argument("--tensorboard", type=Path, metavar="DIR", help="also write each trial's scalars as "
                       "TensorBoard event files in DIR/STUDY/trial-NNNN (needs pip install 'rnntui[tensorboard]')")
    group = sweep.add_argument_group(
        "settings", "several values (a grid), LOW..HIGH (a range; add log for a log scale), or one value (the "
        "same for every trial); the defaults are train's")
    settings = {}
    for action in setting_actions:
        name = action.dest
        if name in NOT_SWEPT:
            continue
        kind = setting_kind(action)
        settings[name] = Setting(name, kind, tuple(action.choices) if action.choices else None, name in ONE_VALUE)
        form = "one value" if name in ONE_VALUE else ("values" if kind in ("str", "bool") else "values or LOW..HIGH")
        group.add_argument(f"--{name.replace('_', '-')}", nargs="+", metavar="V", default=None,
                           help=f"{action.help or ''} [{form}{': yes/no' if kind == 'bool' else ''}]")
    sweep.set_defaults(sweep_settings=settings)


def add_metrics_command(commands) -> None:
    metrics = commands.add_parser("metrics", help="convert runs' metrics files (export to TensorBoard)",
                                  description="Work with the .metrics.jsonl files that runs write beside their "
                                  "checkpoints.")
    metrics.set_defaults(func=lambda args: metrics.error("choose a command: export"))
    tasks = metrics.add_subparsers(dest="metrics_command", parser_class=type(metrics), metavar="COMMAND")
    export = tasks.add_parser("export", help="write runs already made as TensorBoard event files",
                              description="Write each metrics file's scalars (loss, validation, learning rate, "
                              "throughput) as TensorBoard event files in DIR/<run name>: the same as --tensorboard "
                              "would have written. Needs pip install 'rnntui[tensorboard]'.")
    export.set_defaults(func=command("metrics", "cmd_export"))
    export.add_argument("--tensorboard", type=Path, metavar="DIR", required=True, help="the TensorBoard log folder")
    export.add_argument("files", type=Path, nargs="+", metavar="RUN.metrics.jsonl")
