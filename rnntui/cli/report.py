"""How ``rnntui train`` reports: a progress bar, plain lines or JSON, and the metrics file."""

from __future__ import annotations

import argparse
import errno
import json
import sys
import time
from pathlib import Path

from rnntui.cli.common import silence_output, silence_stdout
from rnntui.core.errors import RnntuiError


class Silent:
    """What ranks other than 0 report: nothing."""

    failed = None

    def __enter__(self) -> Silent:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def event(self, e, sample: str | None = None) -> None:
        pass

    def close(self) -> None:
        pass

    def done(self, interrupted: bool) -> None:
        pass


class Reporter:
    """Progress for ``rnntui train``: a rich bar on a terminal, plain lines or JSON otherwise.
    Every step also goes to ``<out>.metrics.jsonl`` for ``rnntui watch`` and plotting, flushed at
    least once a second so that a watcher sees the run live.

    If stdout's reader goes away (``rnntui train | head``: EPIPE), the terminal closes (EIO) or
    stdout cannot be written (a full disk), training stops as ctrl+c stops it, and saves."""

    FLUSH_EVERY = 1.0  # seconds

    def __init__(self, args: argparse.Namespace, trainer, out: Path, to_stderr: bool = False) -> None:
        self.args, self.trainer, self.out = args, trainer, out
        self.to_stderr = to_stderr  # progress on stderr: stdout is kept for what runs this (rnntui sweep)
        self.bar = None
        self.metrics = None
        self.board = None  # --tensorboard: the same records as TensorBoard scalars
        self.last_val = None
        self.last_flush = 0.0
        self.output_closed = False  # stdout's reader went away; the last word goes to stderr
        self.failed: str | None = None  # stdout could not be written: why (the run exits 2)

    def __enter__(self) -> Reporter:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        from rnntui.core.files import reason
        from rnntui.core.metrics import metrics_path, open_for_append

        try:
            self.metrics = open_for_append(metrics_path(self.out))
        except OSError as error:
            raise RnntuiError(f"cannot write {metrics_path(self.out)}: {reason(error)}") from None
        self.last_flush = time.monotonic()
        if getattr(self.args, "tensorboard", None) is not None:
            from rnntui.core.tensorboard import Board, run_folder

            try:
                self.board = Board(run_folder(self.args.tensorboard, self.out))
            except RnntuiError:
                self.close()
                raise
        stream = sys.stderr if self.to_stderr else sys.stdout
        if not self.args.json and stream.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(),
                                TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
                                console=Console(stderr=self.to_stderr))
            self.bar.start()
            self.task = self.bar.add_task("train", total=self.total_steps(), completed=self.trainer.step, info="")
        else:
            self.say(self.start_line(), to_stderr=self.args.json)
        return self

    def total_steps(self) -> int:
        return self.trainer.total_steps

    def start_line(self) -> str:
        t = self.trainer
        return (f"training {t.model.config.cell} on {t.device} ({t.precision}) from step {t.step} "
                f"to {t.config.steps}; checkpoint {self.out}")

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
        if self.metrics is not None:
            metrics, self.metrics = self.metrics, None
            try:
                metrics.close()
            except OSError:
                pass  # a full disk: the run has already stopped and said so
        if self.board is not None:
            board, self.board = self.board, None
            board.close()

    def say(self, text: str, to_stderr: bool = False) -> None:
        """Print a line; if stdout cannot take it, stop training (see the class)."""
        to_stderr = to_stderr or self.to_stderr
        if not to_stderr and (self.output_closed or self.failed):
            return
        try:
            print(text, file=sys.stderr if to_stderr else sys.stdout, flush=True)
        except OSError as error:
            from rnntui.core.files import reason

            if error.errno == errno.EPIPE:
                silence_stdout()
                self.output_closed = True
            elif error.errno == errno.EIO:
                silence_output()
                self.output_closed = True
            else:
                silence_stdout()
                self.failed = f"cannot write the output: {reason(error)}"
            self.trainer.stop()

    def write_metrics(self, record: dict, flush: bool) -> None:
        from rnntui.core.files import reason
        from rnntui.core.metrics import metrics_path

        now = time.monotonic()
        try:
            self.metrics.write(json.dumps(record) + "\n")
            if self.board is not None:
                self.board.add(record)
            if flush or now - self.last_flush >= self.FLUSH_EVERY:
                self.metrics.flush()
                self.last_flush = now
        except OSError as error:
            self.close()
            raise RnntuiError(f"cannot write {metrics_path(self.out)}: {reason(error)}; training stopped at "
                              f"step {self.trainer.step:,}") from None

    def event(self, e, sample: str | None = None) -> None:
        from rnntui.core.metrics import record as metrics_record

        if e.overfitting:
            advice = ("" if self.args.patience else "--patience N stops a run there; ") + (
                "" if self.args.save_best else "--save-best keeps the best checkpoint; ")
            note = (f"rnntui: note at step {e.step:,}: {e.overfitting}. {advice}more --dropout / --weight-dropout "
                    "or a smaller model learn it less so; on a small text, fine-tuning the bundled model "
                    "(--finetune) needs far fewer steps")
            if self.bar is not None:
                self.bar.console.print(note, markup=False, highlight=False)
            else:
                self.say(note, to_stderr=True)

        record = metrics_record(e, self.trainer.dist.world_size)
        if e.val_loss is not None:
            self.last_val = e.val_loss
        if self.metrics is not None:
            self.write_metrics(record, flush=e.val_loss is not None)
        if self.args.json:
            if sample is not None:  # in the step's own object, so that each line stays one step
                record = {**record, "sample": self.args.seed_text + sample}
            self.say(json.dumps(record))
            return
        if self.bar is not None:
            val = f"  val~ {self.last_val:.4f}" if self.last_val is not None else ""
            self.bar.update(self.task, completed=e.step,
                            info=f"loss {e.train_loss:.4f}{val}  {e.chars_per_s:,.0f} chars/s")
        elif e.step % max(self.args.log_every, 1) == 0 or e.val_loss is not None or e.step == e.total_steps:
            val = f"  val_loss~ {e.val_loss:.4f}" if e.val_loss is not None else ""
            self.say(f"step {e.step}/{e.total_steps}  loss {e.train_loss:.4f}{val}  "
                     f"{e.chars_per_s:,.0f} chars/s  {e.elapsed:.1f}s")
        if sample is not None:
            cut = (f", top-k {self.args.top_k}" if self.args.top_k else "") + (
                f", top-p {self.args.top_p:g}" if self.args.top_p < 1 else "")
            text = (f"--- sample at step {e.step:,}, scale factor {self.args.scale_factor:g}{cut} ---\n"
                    f"{self.args.seed_text}{sample}\n")
            if self.bar is not None:  # above the bar, which stays at the bottom
                self.bar.console.print(text, markup=False, highlight=False)
            else:
                self.say(text)

    def done(self, interrupted: bool) -> None:
        self.close()
        word = "stopped" if interrupted else "done"
        if self.failed:
            kept = f"saved {self.out}" if self.out.exists() else "nothing was saved"
            self.say(f"rnntui: error: {self.failed}; training stopped at step {self.trainer.step}; {kept}",
                     to_stderr=True)
            return
        if self.output_closed:
            self.say(f"rnntui: the output was closed, so training stopped at step {self.trainer.step}; "
                     f"saved {self.out}", to_stderr=True)
            return
        self.say(f"{word} at step {self.trainer.step}; saved {self.out}", to_stderr=self.args.json)


class EpochReporter(Reporter):
    """The reporter of a run counted in epochs over reviews: its records and lines name the
    validation figure (``figure``, shown with ``figure_format``, as ``figure_label`` in the bar)
    and the throughput (``rate``, the event's ``<rate>_per_s``)."""

    figure, figure_digits, figure_format, figure_label = "val_accuracy", 5, ".4f", "val acc"
    rate = "reviews"
    epoch_format = ".2f"
    bar_loss_format = ".4f"

    def total_steps(self) -> int:
        return self.trainer.total_steps

    def event(self, e, sample: str | None = None) -> None:
        value, per_s = getattr(e, self.figure), getattr(e, f"{self.rate}_per_s")
        record = {"step": e.step, "epoch": round(e.epoch, 4), "train_loss": round(e.train_loss, 5),
                  "val_loss": None if e.val_loss is None else round(e.val_loss, 5),
                  self.figure: None if value is None else round(value, self.figure_digits),
                  f"{self.rate}_per_s": round(per_s, 1), "elapsed": round(e.elapsed, 3)}
        if value is not None:
            self.last_val = value
        if self.metrics is not None:
            self.write_metrics(record, flush=e.val_loss is not None)
        if self.args.json:
            self.say(json.dumps(record))
            return
        if self.bar is not None:
            val = f"  {self.figure_label} {self.last_val:{self.figure_format}}" if self.last_val is not None else ""
            self.bar.update(self.task, completed=e.step,
                            info=f"epoch {e.epoch:{self.epoch_format}}  loss {e.train_loss:{self.bar_loss_format}}"
                                 f"{val}  {per_s:,.0f} {self.rate}/s")
        elif e.step % max(self.args.log_every, 1) == 0 or e.val_loss is not None or e.step == e.total_steps:
            val = (f"  val_loss {e.val_loss:.4f}  {self.figure} {value:{self.figure_format}}"
                   if e.val_loss is not None else "")
            self.say(f"step {e.step}/{e.total_steps}  epoch {e.epoch:{self.epoch_format}}  loss {e.train_loss:.4f}"
                     f"{val}  {per_s:,.0f} {self.rate}/s  {e.elapsed:.1f}s")
