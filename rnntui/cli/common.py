"""What several commands share: opening the app, finding the corpus and the model, progress
bars, and quieting an output that has gone away."""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

from rnntui.core.errors import RnntuiError

DEFAULT_SEED_TEXT = "The island"
BUNDLED = Path("bundled")  # --finetune with no checkpoint: the bundled model
# Where --save-best writes (rnntui.cli.run.best_path), as every trainer's help says it.
SAVE_BEST_NAMING = "its name with .best before the extension (run.best.ckpt for --out run.ckpt)"
OVERWRITE_HELP = ("replace the --out checkpoint if it exists (it must be an rnntui checkpoint; other files are "
                  "never replaced)")


def command(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """The function that runs a command (``name`` in ``rnntui.cli.<module>``), imported when it
    runs: every parser names its commands so, and stays quick to build and free of the commands'
    imports."""

    def run(args: argparse.Namespace) -> int:
        return getattr(importlib.import_module(f"rnntui.cli.{module}"), name)(args)

    run.__qualname__ = f"{module}.{name}"
    return run


def dynamic_config(args: argparse.Namespace):
    """The update rule's settings from the command line: its rates default to the command's
    defaults (``args.dynamic_defaults``, set by ``add_dynamic_arguments``) or the sgd rule's, the
    decays to the command's defaults when their rates are kept, else to none."""
    from rnntui.charlm.dynamic_config import DynamicConfig

    default = args.dynamic_defaults
    if args.dynamic_lr is not None:
        lrs = tuple(args.dynamic_lr)
    else:
        lrs = (DynamicConfig.SGD_LR,) if args.dynamic_rule == "sgd" else default.lrs
    if args.dynamic_decay is not None:
        decays = tuple(args.dynamic_decay)
    else:
        decays = default.decays if lrs == default.lrs else (0.0,)
    config = DynamicConfig(rule=args.dynamic_rule, lrs=lrs, decays=decays, share=args.dynamic_share,
                           segment=args.segment)
    config.validate()
    return config


THREADS_HELP = ("CPU threads for torch (default: one fewer than the cores this process may use, at least 1; "
                "OMP_NUM_THREADS decides instead where it is set). torch's own default, a thread per core, runs "
                "several times slower when another busy process shares the cores (benchmarks/threads.py)")
MAX_THREADS = 1024


def add_setting_flags(group, config) -> list[argparse.Action]:
    """One flag for each setting of the config class ``config`` that has one, with the help,
    choices and kind its declaration gives (core/settings); returns their actions. Left out, a
    flag is None: a resumed run keeps its own value, a new one takes the default."""
    from rnntui.core.settings import flag, flag_settings

    kinds = {"int": int, "float": float, "str": str}
    actions = []
    for spec in flag_settings(config):
        meta = spec.metadata
        if meta["switch"] == "both":
            action = group.add_argument(flag(spec.name), action=argparse.BooleanOptionalAction, default=None,
                                        help=meta["help"])
        elif meta["switch"] == "on":
            action = group.add_argument(flag(spec.name), action="store_true", default=None, help=meta["help"])
        else:
            action = group.add_argument(flag(spec.name), type=kinds[spec.type], choices=meta["choices"],
                                        help=meta["help"])
        actions.append(action)
    return actions


def add_threads_argument(parser) -> None:
    """``--threads N``, as every command that runs torch takes it (see ``apply_threads``)."""
    parser.add_argument("--threads", type=int, metavar="N", help=THREADS_HELP)


def check_threads(threads: int | None) -> int | None:
    """``--threads`` checked: None (not given) or a count from 1 to ``MAX_THREADS``."""
    if threads is not None and not 1 <= threads <= MAX_THREADS:
        raise RnntuiError(f"--threads must be from 1 to {MAX_THREADS:,}, got {threads}")
    return threads


def apply_threads(threads: int | None) -> int:
    """``--threads`` checked, then set (see ``rnntui.core.device.set_threads``); returns the count."""
    from rnntui.core.device import set_threads

    return set_threads(check_threads(threads))


def run_app(checkpoint: Path | None, corpus: Path | None, finetune: bool, watch: Path | None = None,
            encoding: str | None = None, reviews_data: Path | None = None, threads: int | None = None,
            compare: list[Path] | None = None) -> int:
    # The app's modules make tens of thousands of objects that live as long as it does, and
    # Python's cyclic garbage collector went through them again and again while they loaded
    # and while the first screen was drawn: about 0.1 s on a 2-core machine. It is off until
    # that screen is out (RnntuiApp.load_engine_once_drawn turns it back on), and the modules'
    # objects are frozen: later collections skip them. The app freezes torch's too, once it
    # has loaded it (manage_gc, tune_garbage_collector).
    standard_input("the app reads its keys from it: start rnntui in a terminal")
    gc.disable()
    try:
        from rnntui.core import memory
        from rnntui.tui.app import RnntuiApp

        gc.freeze()
        memory.keep_freed_memory()  # before the app starts the threads that train
        if finetune and corpus is None:
            raise RnntuiError("--finetune needs the text to fine-tune on: --corpus PATH")
        app = RnntuiApp(checkpoint=checkpoint, corpus=corpus, finetune=finetune, watch=watch, manage_gc=True,
                        encoding=encoding, reviews_data=reviews_data, threads=check_threads(threads),
                        compare=compare)
        app.run()
    finally:
        gc.enable()  # had the app ended before its first screen was out
    for line in app.saved_after_error:  # after Textual's traceback of the error that ended it
        print(line, file=sys.stderr)
    return app.return_code or 0


# -- shared helpers ----------------------------------------------------------------------------

def corpus_path(path: Path | None, quiet: bool = False) -> Path:
    """``path``, or the default book (downloaded with a progress bar the first time)."""
    if path is not None:
        return path
    from rnntui.charlm.book import ensure_default_corpus

    if quiet or not sys.stderr.isatty():
        return ensure_default_corpus()
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    with Progress(*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(),
                  transient=True) as bar:
        task = bar.add_task("The Mysterious Island", total=None)
        return ensure_default_corpus(lambda done, total: bar.update(task, completed=done, total=total))


def load_model_checkpoint(path: Path | None, device: str = "cpu"):
    from rnntui.charlm.checkpoint import load_checkpoint
    from rnntui.core.paths import bundled_model_path

    if path is None:
        path = bundled_model_path()
        if not path.is_file():
            raise RnntuiError("no bundled model in this installation; pass --checkpoint PATH")
    return load_checkpoint(path, device)


def standard_input(use: str):
    """``sys.stdin``, which ``use`` (what reads it, and how else to give it) needs; a
    ``RnntuiError`` when rnntui was started with it closed (``<&-``: Python makes it None)."""
    if sys.stdin is None:
        raise RnntuiError(f"standard input is closed, and {use}")
    return sys.stdin


def silence_stdout(streams: tuple = ()) -> None:
    """Send the rest of stdout (and ``streams``) to the null device, after its reader has gone
    (so that later prints, and Python's flush at exit, do not fail)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, *streams):
        os.dup2(devnull, stream.fileno())
    os.close(devnull)


def silence_output() -> None:
    """stdout and stderr to the null device: the terminal they wrote to has closed."""
    silence_stdout((sys.stderr,))


LN2 = 0.6931471805599453


class progress_bar:
    """A transient progress bar on stderr when it is a terminal (``enabled``); the callback to
    report to (None where there is no bar)."""

    def __init__(self, label: str, enabled: bool = True, unit: str = "characters") -> None:
        self.bar = None
        if enabled and sys.stderr.isatty():  # a pass over a book's tail takes seconds
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
                                TimeRemainingColumn(), console=Console(stderr=True), transient=True)

    def __enter__(self):
        if self.bar is None:
            return None
        task = self.bar.add_task("work", total=None)
        self.bar.start()
        return lambda done, total: self.bar.update(task, completed=done, total=total)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()


def text_file(path: Path) -> str:
    """A UTF-8 text file of at most ``MAX_SEED_FILE`` bytes, line endings normalised."""
    from rnntui.charlm.corpus import read_seed_file

    text = read_seed_file(path, what="text file", too_long="; pass a shorter text or use --corpus")
    if not text:
        raise RnntuiError(f"{path} is empty: there is no text to read")
    return text


def levels(values: list[float]) -> tuple[list[int], float]:
    """Each value as a level from 1 (the most negative) through 5 (zero) to 9 (the most positive),
    on a scale symmetric about zero; and the scale's end."""
    top = max((abs(v) for v in values), default=0.0) or 1.0
    return [5 + round(4 * v / top) for v in values], top
