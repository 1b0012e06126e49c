"""A metrics line says which kind of model's run it is by the name of its speed."""

import json

from rnntui.core.metrics import MetricsFollower
from rnntui.core.tasks import REVIEW_LM_TASK, SENTIMENT_TASK, TEXT_TASK


def test_each_model_s_run_is_told_apart_by_its_speed(tmp_path):
    lines = [
        {"step": 1, "train_loss": 3.0, "val_loss": None, "chars_per_s": 900.0, "elapsed": 1.0},
        {"step": 2, "train_loss": 0.69, "val_loss": 0.68, "val_accuracy": 0.61, "reviews_per_s": 150.0, "elapsed": 2.0},
        {"step": 3, "train_loss": 7.5, "val_loss": 7.4, "words_per_s": 4000.0, "elapsed": 3.0},
        {"step": 4, "train_loss": 0.6, "val_accuracy": 1.5, "reviews_per_s": 150.0},  # no accuracy: passed over
        {"step": 5, "train_loss": 2.9},  # written before speeds were named: a text model's
    ]
    path = tmp_path / "run.ckpt.metrics.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    points = MetricsFollower(path).read_new()
    assert [(p.step, p.task, p.speed, p.val_accuracy) for p in points] == [
        (1, TEXT_TASK, 900.0, None), (2, SENTIMENT_TASK, 150.0, 0.61), (3, REVIEW_LM_TASK, 4000.0, None),
        (5, TEXT_TASK, 0.0, None)]
