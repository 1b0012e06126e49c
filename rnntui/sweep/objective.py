"""What a trial trains and how it is judged, for either model: the command line of the ``train``
run it is (its settings, a budget fair across them, when it validates), and where its validation
estimates go on Optuna's common scale of progress so that the pruner compares like with like."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rnntui.core.errors import RnntuiError
from rnntui.core.tasks import SENTIMENT_TASK, TEXT_TASK

# Validation estimates per text trial: the pruner's checkpoints, at the same share of the budget
# in every trial whatever its batch and window.
ESTIMATES = 20


@dataclass(frozen=True)
class Task:
    name: str  # "text" or "reviews"
    direction: str  # Optuna's: "minimize" or "maximize"
    objective: str  # what the value is, for people
    unit: str  # what the budget counts
    model: str  # the task of the checkpoints its trials write (rnntui.core.tasks)


TEXT = Task("text", "minimize", "held-out loss (nats/char, exact)", "characters", TEXT_TASK)
REVIEWS = Task("reviews", "maximize", "validation accuracy", "reviews", SENTIMENT_TASK)
TASKS = {task.name: task for task in (TEXT, REVIEWS)}


def default_text_budget() -> int:
    """The book's run: its steps of its batch × window."""
    from rnntui.charlm.trainer import TrainConfig

    config = TrainConfig()
    return config.steps * config.batch_size * config.seq_length


def text_steps(budget: int, settings: dict) -> int:
    """Steps that train ``budget`` characters with this trial's batch and window (at least one)."""
    from rnntui.charlm.trainer import TrainConfig

    default = TrainConfig()
    per_step = settings.get("batch_size", default.batch_size) * settings.get("seq_length", default.seq_length)
    return max(1, round(budget / per_step))


def text_eval_every(steps: int) -> int:
    return max(1, steps // ESTIMATES)


def progress_key(step: int, eval_every: int) -> int:
    """The pruner's step for an estimate at ``step``: which of the trial's estimates it is."""
    return step // eval_every


def check_settings(task: Task, corners: list[dict]) -> None:
    """Refuse settings no trial could train with, before the study starts: each listed value and
    each range's ends, with the fixed settings, go through the train configs' own checks."""
    for settings in corners:
        if task is TEXT:
            from rnntui.charlm.model import ModelConfig
            from rnntui.charlm.trainer import TrainConfig

            train_fields, model_fields = TrainConfig.__dataclass_fields__, ModelConfig.__dataclass_fields__
            TrainConfig(**{k: v for k, v in settings.items() if k in train_fields}).validate()
            model = {k: v for k, v in settings.items() if k in model_fields}
            try:
                ModelConfig(vocab_size=2, **model)
            except (ValueError, TypeError) as error:
                raise RnntuiError(f"{error} (in the sweep's settings)") from None
        else:
            from rnntui.sentiment.model import SentimentConfig
            from rnntui.sentiment.trainer import SentimentTrainConfig

            train_fields = SentimentTrainConfig.__dataclass_fields__
            SentimentTrainConfig(**{k: v for k, v in settings.items() if k in train_fields}).validate()
            model = {k: v for k, v in settings.items() if k in SentimentConfig.__dataclass_fields__}
            try:
                SentimentConfig(vocab_size=2, **model)
            except (ValueError, TypeError) as error:
                raise RnntuiError(f"{error} (in the sweep's settings)") from None


def setting_words(settings: dict) -> list[str]:
    """``settings`` as train flags: ``--seq-length 40``, ``--carry-state`` / ``--no-carry-state``."""
    words = []
    for name, value in settings.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            if name == "carry_state":
                words.append(flag if value else "--no-carry-state")
            elif value:
                words.append(flag)
        else:
            words += [flag, repr(value) if isinstance(value, float) else str(value)]
    return words


def trial_argv(task: Task, settings: dict, out: Path, budget: int, source: dict) -> list[str]:
    """The ``rnntui train`` (or ``sentiment train``) command line of a trial: its ``settings``,
    the budget (text: steps for ``budget`` characters; reviews: ``budget`` epochs), its checkpoint
    ``out``, and ``source`` (corpus, encoding or data, tensorboard: given or None)."""
    words = setting_words(settings) + ["--out", str(out)]
    for name, value in source.items():
        if value is not None:
            words += ["--" + name, str(value)]
    if task is TEXT:
        steps = text_steps(budget, settings)
        every = text_eval_every(steps)
        return ["train", *words, "--steps", str(steps), "--eval-every", str(every), "--log-every", str(every)]
    return ["sentiment", "train", *words, "--epochs", str(budget), "--log-every", str(10**9)]


def reported(task: Task, event, trainer) -> tuple[int, float] | None:
    """``(progress, value)`` to report to the pruner for a training event, or None (no estimate)."""
    if task is TEXT:
        if event.val_loss is None:
            return None
        return progress_key(event.step, trainer.config.eval_every), event.val_loss
    if event.val_accuracy is None:
        return None
    return round(event.epoch * 1000), event.val_accuracy
