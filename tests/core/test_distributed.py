"""A real two-process gloo run under torchrun on the CPU, against one process with twice the batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import torch

from rnntui.charlm.build import new_trainer
from rnntui.charlm.checkpoint import load_checkpoint
from rnntui.charlm.corpus import load_corpus
from rnntui.charlm.trainer import TrainConfig
from rnntui.cli import main
from rnntui.core.distributed import window_seed
from tests.helpers import TINY_MODEL

B, SEQ, STEPS, SEED = 4, 16, 5, 3
TRAIN_ARGS = ["--batch-size", str(B), "--seq-length", str(SEQ), "--embed-dim", "16", "--hidden-size", "32",
              "--eval-every", "0", "--device", "cpu", "--precision", "fp32", "--random-seed", str(SEED)]


def torchrun(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "rnntui", "train", *args]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def two_ranks(*args: str) -> subprocess.CompletedProcess:
    """The two ranks torchrun would start, started directly with the environment it gives them
    (rank, world size, rendezvous address): the same run without the launcher's process, whose
    own import of torch took a third of each run's time. One run a test goes through torchrun."""
    import socket

    with socket.socket() as probe:  # a free port for the rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ranks = []
    for rank in (0, 1):
        env = dict(os.environ, OMP_NUM_THREADS="1", RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2",
                   LOCAL_WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        ranks.append(subprocess.Popen([sys.executable, "-m", "rnntui", "train", *args], env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    results = [(rank.communicate(timeout=180), rank.returncode) for rank in ranks]
    for (_, err), code in results:
        assert code == 0, err[-3000:]
    (out, err), _ = results[0]
    return subprocess.CompletedProcess(ranks[0].args, 0, out, err)


def test_two_ranks_match_one_process_with_double_batch(corpus_file, tmp_path, capsys):
    out = tmp_path / "ddp.ckpt"
    result = torchrun("--corpus", str(corpus_file), "--steps", str(STEPS), "--out", str(out), "--json",
                      *TRAIN_ARGS)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [r["step"] for r in lines] == list(range(1, STEPS + 1))  # rank 0 alone reports
    assert all(r["ranks"] == 2 for r in lines)
    checkpoint = load_checkpoint(out)
    assert checkpoint.step == STEPS
    assert not any(key.startswith("module.") for key in checkpoint.model_state)
    metrics = (tmp_path / "ddp.ckpt.metrics.jsonl").read_text().splitlines()
    assert len(metrics) == STEPS and json.loads(metrics[-1])["ranks"] == 2

    # One process, batch 2B, on exactly the windows the two ranks drew.
    corpus = load_corpus(corpus_file)
    config = TrainConfig(steps=STEPS, batch_size=2 * B, seq_length=SEQ, eval_every=0, device="cpu",
                         precision="fp32", random_seed=SEED)
    trainer = new_trainer(corpus, config, **TINY_MODEL)
    generators = [torch.Generator().manual_seed(window_seed(SEED, rank)) for rank in (0, 1)]
    high = len(trainer.train_data) - SEQ
    losses = []
    for _ in range(STEPS):
        starts = torch.cat([torch.randint(0, high, (B,), generator=g) for g in generators])
        losses.append(trainer.train_step(trainer.train_data[starts[:, None] + trainer._offsets].long()))
    for key, value in trainer.model.state_dict().items():
        assert torch.allclose(value, checkpoint.model_state[key], atol=1e-5), key
    assert [round(r["train_loss"], 3) for r in lines] == [round(v, 3) for v in losses]

    # The distributed checkpoint resumes in one process, and a one-process one under two ranks.
    assert main(["train", "--corpus", str(corpus_file), "--resume", str(out), "--steps", str(STEPS + 2),
                 "--json"]) == 0
    capsys.readouterr()
    assert load_checkpoint(out).step == STEPS + 2
    two_ranks("--corpus", str(corpus_file), "--resume", str(out), "--out", str(out), "--steps", str(STEPS + 4))
    assert load_checkpoint(out).step == STEPS + 4


def test_two_ranks_carrying_state_match_one_process_with_double_batch(corpus_file, tmp_path):
    """With --carry-state the ranks split the 2B streams between them, each carrying its own
    state, so the run is one process reading all 2B streams."""
    out = tmp_path / "ddp.ckpt"
    two_ranks("--corpus", str(corpus_file), "--steps", str(STEPS), "--out", str(out), "--carry-state",
              *TRAIN_ARGS)
    checkpoint = load_checkpoint(out)
    assert checkpoint.train_config["carry_state"] is True

    corpus = load_corpus(corpus_file)
    config = TrainConfig(steps=STEPS, batch_size=2 * B, seq_length=SEQ, eval_every=0, device="cpu",
                         precision="fp32", random_seed=SEED, carry_state=True)
    trainer = new_trainer(corpus, config, **TINY_MODEL)
    list(trainer.run())
    for key, value in trainer.model.state_dict().items():
        assert torch.allclose(value, checkpoint.model_state[key], atol=1e-5), key
    # Rank 0's carried state is the first B streams'.
    assert torch.allclose(checkpoint.rng_state["streams"]["carried"][0], trainer.carried[0][:, :B], atol=1e-5)
