"""TensorBoard event files with the scalars of a run's metrics file, written by torch's own
``SummaryWriter`` (the optional extra ``rnntui[tensorboard]``): live while training
(``--tensorboard DIR``) or from metrics files already written (``rnntui metrics export``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rnntui.core.errors import RnntuiError, StorageError
from rnntui.core.tasks import TASKS

INSTALL = "pip install 'rnntui[tensorboard]'"

# A metrics file's field -> the scalar's tag in TensorBoard. The same names for both models; a
# record has only the fields its model writes.
SCALARS = {
    "train_loss": "loss/train",
    "val_loss": "loss/validation",
    "val_accuracy": "accuracy/validation",
    "val_perplexity": "perplexity/validation",
    "lr": "learning_rate",
    **{task.speed_key: f"throughput/{task.speed_key}" for task in TASKS.values()},
}


def require() -> None:
    """Raise the one-line error that names the extra, before a run starts, if TensorBoard is missing."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise RnntuiError(f"--tensorboard needs TensorBoard, which is not installed: {INSTALL}") from None


class Board:
    """One run's event files in ``folder``: ``add(record)`` for each metrics record."""

    def __init__(self, folder: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise RnntuiError(f"--tensorboard needs TensorBoard, which is not installed: {INSTALL}") from None
        try:
            self.writer = SummaryWriter(log_dir=str(folder))
        except OSError as error:
            from rnntui.core.files import reason

            raise StorageError(f"cannot write TensorBoard files in {folder}: {reason(error)}") from None

    def add(self, record: dict) -> None:
        step = record["step"]
        for field, tag in SCALARS.items():
            value = record.get(field)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < 1e308:
                self.writer.add_scalar(tag, float(value), step)

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def run_folder(root: Path, checkpoint: Path) -> Path:
    """Where a run's events go under ``--tensorboard root``: a folder named after its checkpoint,
    so that several runs in one root show side by side."""
    return Path(root) / Path(checkpoint).stem


def export(metrics_files: Iterable[Path], root: Path) -> list[tuple[Path, int]]:
    """Write each metrics file's records as a run under ``root``: ``(run folder, records)``.
    Every file is read, and every run folder checked, before anything is written: a folder that
    already holds event files (an earlier export) would show each step twice in TensorBoard."""
    from rnntui.core.files import open_regular
    from rnntui.core.metrics import SUFFIX, metrics_record

    runs: dict[Path, tuple[Path, list[dict]]] = {}
    for path in metrics_files:
        path = Path(path)
        if not path.name.endswith(SUFFIX):
            raise RnntuiError(f"{path} is not a metrics file (its name ends in {SUFFIX}, beside its checkpoint)")
        with open_regular(path, "metrics file", StorageError) as f:
            lines = f.read().splitlines()
        # A line cut short by a killed run, or damaged, is skipped: the others still count.
        records = [record for line in lines if (record := metrics_record(line)) is not None]
        if lines and not records:
            raise StorageError(f"{path} holds no rnntui metrics records")
        folder = run_folder(root, Path(path.name[: -len(SUFFIX)]))
        if folder in runs:
            raise RnntuiError(f"{runs[folder][0]} and {path} would both go to {folder}: export them into "
                              "separate --tensorboard folders")
        if folder.is_dir() and any(folder.glob("events.out.tfevents.*")):
            raise RnntuiError(f"{folder} already holds TensorBoard event files, and TensorBoard would show each "
                              "step twice: give another --tensorboard folder (or remove those files first)")
        runs[folder] = (path, records)
    written = []
    for folder, (_, records) in runs.items():
        board = Board(folder)
        try:
            for record in records:
                board.add(record)
        finally:
            board.close()
        written.append((folder, len(records)))
    return written
