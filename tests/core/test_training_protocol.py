"""One training protocol for the three trainers (the character model, the review classifier and
the review language model): each is a ``Trainer``, yields ``StepEvent``s and keeps one
``History`` of named curves, stored in its checkpoints in the form each task has always had."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from rnntui.charlm.build import new_trainer as new_char_trainer
from rnntui.charlm.corpus import load_corpus
from rnntui.core.history import LOSS_CURVES, History
from rnntui.core.training import StepEvent, Trainer
from rnntui.sentiment.build import new_trainer as new_review_trainer
from rnntui.sentiment.build import prepare
from rnntui.sentiment.pretrain.build import new_lm_trainer, prepare_text
from rnntui.sentiment.pretrain.trainer import PretrainConfig
from rnntui.sentiment.reviews import read_reviews, read_unlabelled
from rnntui.sentiment.trainer import CLASSIFIER_CURVES, SentimentTrainConfig
from tests.helpers import TINY_MODEL, reviews_tarball, tiny_train_config


@pytest.fixture(scope="module")
def trainers(tmp_path_factory) -> dict:
    """A few steps of each model's trainer, on made-up text and reviews."""
    from tests.helpers import make_text

    folder = tmp_path_factory.mktemp("trainers")
    (folder / "tiny.txt").write_text(make_text(), encoding="utf-8")
    char = new_char_trainer(load_corpus(folder / "tiny.txt"), tiny_train_config(steps=6, eval_every=3), **TINY_MODEL)
    path = reviews_tarball(folder / "reviews.tar.gz", per_folder=20, unlabelled=40)
    reviews, unlabelled = read_reviews(path), read_unlabelled(path)
    review_config = SentimentTrainConfig(epochs=2, batch_size=8, lr=0.01)
    classifier = new_review_trainer(prepare(reviews, review_config, "made-up"), review_config,
                                    embed_dim=8, hidden_size=16, fc_hidden=16)
    lm_config = PretrainConfig(epochs=1, batch_size=8, valid_reviews=10, eval_every=3)
    lm = new_lm_trainer(prepare_text(reviews, unlabelled, lm_config, "made-up"), lm_config, embed_dim=8, hidden_size=16)
    found = {"charlm": char, "sentiment": classifier, "review-lm": lm}
    return {task: (trainer, list(trainer.run())) for task, trainer in found.items()}


@pytest.mark.parametrize("task", ["charlm", "sentiment", "review-lm"])
def test_each_trainer_is_a_trainer_and_reports_each_step(trainers, task):
    trainer, events = trainers[task]
    assert isinstance(trainer, Trainer)
    assert all(isinstance(event, StepEvent) for event in events)
    assert [event.step for event in events] == list(range(1, trainer.total_steps + 1))
    assert trainer.step == trainer.total_steps and not trainer.early_stopped
    # The history holds what the events said, step for step.
    assert trainer.history.train == [(event.step, event.train_loss) for event in events]
    assert trainer.history.val == [(event.step, event.val_loss) for event in events if event.val_loss is not None]
    assert trainer.history.val  # each validated at least once


def test_something_that_lacks_part_of_the_protocol_is_not_a_trainer(trainers):
    class NoTotal:  # everything a trainer has but total_steps
        model = optimizer = config = None
        step, elapsed, early_stopped, history, lock = 0, 0.0, False, History(), threading.RLock()
        run = snapshot = rng_state = set_rng_state = pause = resume = stop = wait_until_paused = lambda *a: None
        paused = stopping = False

    assert not isinstance(NoTotal(), Trainer)
    NoTotal.total_steps = 3
    assert isinstance(NoTotal(), Trainer)


@pytest.mark.parametrize(("task", "names"), [("charlm", ["train", "val"]), ("sentiment", ["train", "val", "accuracy"]),
                                             ("review-lm", ["train", "val"])])
def test_each_task_keeps_its_curves_in_the_form_its_checkpoints_always_had(trainers, task, names):
    trainer, events = trainers[task]
    stored = trainer.history.to_dict()
    assert list(stored) == names
    assert all(isinstance(point, list) and len(point) == 2 for points in stored.values() for point in points)
    assert History.from_dict(stored, trainer.history.kind) == trainer.history
    if task == "sentiment":
        assert stored["accuracy"] == [[e.step, e.val_accuracy] for e in events if e.val_accuracy is not None]


def test_the_best_point_is_the_first_lowest_loss_or_the_first_highest_accuracy():
    losses = History(LOSS_CURVES, val=[(1, 2.0), (2, 1.5), (3, 1.5), (4, 1.7)])
    assert losses.best() == (2, 1.5) and losses.since_best() == 2
    accuracy = History(CLASSIFIER_CURVES, val=[(1, 0.6), (2, 0.7), (3, 0.5)],
                       accuracy=[(1, 0.8), (2, 0.9), (3, 0.9)])
    assert accuracy.best() == (2, 0.9) and accuracy.since_best() == 1  # the loss does not decide
    assert History().best() is None and History().since_best() == 0


def test_a_history_refuses_a_curve_its_task_does_not_keep_and_fills_those_a_file_lacks():
    with pytest.raises(ValueError, match="accuracy"):
        History(LOSS_CURVES, accuracy=[(1, 0.5)])
    with pytest.raises(AttributeError):
        _ = History().accuracy
    old = History.from_dict({"train": [[1, 2.5]]}, CLASSIFIER_CURVES)
    assert old.train == [(1, 2.5)] and old.val == [] and old.accuracy == []
    assert old.to_dict() == {"train": [[1, 2.5]], "val": [], "accuracy": []}


def test_the_review_trainers_import_nothing_of_the_character_model():
    code = ("import sys, rnntui.sentiment.trainer, rnntui.sentiment.pretrain.trainer, rnntui.sentiment.epochs; "
            "print(sorted(m for m in sys.modules if m.startswith('rnntui.charlm')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
