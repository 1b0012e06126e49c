"""The checkpoint file every task shares (rnntui.core.checkpoint): read without either model, and
each task's payload checked by the same rules."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnntui.core.checkpoint import TASKS, read_payload, write_file
from rnntui.core.errors import CheckpointError
from rnntui.sentiment.pretrain.checkpoint import load_lm_checkpoint

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_every_task_s_file_is_listed_without_importing_a_model():
    # The picker lists every file of a folder by its header alone: reading one must not need
    # the model it holds.
    code = (
        "import sys\n"
        "from rnntui.core.checkpoint import list_checkpoints\n"
        f"tasks = sorted(header.get('task') for _, header in list_checkpoints({str(FIXTURES)!r}))\n"
        "models = sorted(m for m in sys.modules if m.startswith(('rnntui.charlm', 'rnntui.sentiment')))\n"
        "print(tasks, models)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "['review-lm', 'sentiment', 'text'] []"


@pytest.mark.parametrize("task", sorted(TASKS))
def test_a_file_is_refused_by_every_other_task_in_words(task):
    path = FIXTURES / {"text": "text-model.ckpt", "sentiment": "review-model.ckpt", "review-lm": "review-lm.ckpt"}[task]
    for other in set(TASKS) - {task}:
        with pytest.raises(CheckpointError) as refused:
            read_payload(path, other)
        assert str(refused.value) == (f"{path} is {TASKS[task].words}, not {TASKS[other].words}; "
                                      f"use it with {TASKS[task].commands}")


def test_a_review_language_model_with_an_expanded_tensor_is_refused(tmp_path):
    # A tensor whose shape spans one stored number declares elements its file does not hold;
    # every task's payload is refused for it before anything copies it.
    header, payload = read_payload(FIXTURES / "review-lm.ckpt", "review-lm")
    name, weight = next((k, v) for k, v in payload["model_state"].items() if v.dim() == 2)
    payload["model_state"][name] = torch.zeros(1, dtype=weight.dtype).expand(weight.shape)
    kept = {k: v for k, v in header.items() if k not in ("format_version", "sha256", "payload_bytes")}
    path = write_file(tmp_path / "expanded.ckpt", kept, payload)
    with pytest.raises(CheckpointError, match=re.escape(f"model_state's {name}") + ".* repeats its elements"):
        load_lm_checkpoint(path)
