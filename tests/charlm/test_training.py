import math
import threading

import pytest
import torch

from rnntui.charlm.build import new_trainer, resume_trainer, resumed_config, trainer_checkpoint
from rnntui.charlm.checkpoint import load_checkpoint, save_checkpoint
from rnntui.charlm.corpus import load_corpus
from rnntui.charlm.trainer import TrainConfig, learning_rate
from rnntui.core.errors import RnntuiError
from rnntui.core.training import TrainingDiverged
from tests.helpers import TINY_MODEL, run


def tiny_config(**overrides) -> TrainConfig:
    values = dict(steps=40, batch_size=16, seq_length=20, lr=0.01, eval_every=10, device="cpu",
                  precision="fp32", eval_windows=4, eval_length=64)
    values.update(overrides)
    return TrainConfig(**values)


def test_loss_falls_well_below_uniform(corpus_file):
    corpus = load_corpus(corpus_file)
    trainer = new_trainer(corpus, tiny_config(steps=60), **TINY_MODEL)
    events = list(trainer.run())
    uniform = math.log(len(corpus.vocab))
    assert len(events) == 60 and events[-1].step == 60
    assert sum(e.train_loss for e in events[-10:]) / 10 < 0.75 * uniform
    vals = [e.val_loss for e in events if e.val_loss is not None]
    assert len(vals) == 6 and vals[-1] < 0.8 * uniform
    assert all(e.chars_per_s > 0 and e.elapsed > 0 for e in events)


def test_same_seed_same_weights_and_windows(corpus_file):
    corpus = load_corpus(corpus_file)
    runs = []
    for _ in range(2):
        trainer = new_trainer(corpus, tiny_config(steps=5), **TINY_MODEL)
        losses = [e.train_loss for e in trainer.run()]
        runs.append((losses, trainer.model.fc.weight.detach().clone()))
    assert runs[0][0] == runs[1][0]
    assert torch.equal(runs[0][1], runs[1][1])
    other = new_trainer(corpus, tiny_config(steps=5, random_seed=2), **TINY_MODEL)
    assert [e.train_loss for e in other.run()] != runs[0][0]


@pytest.mark.parametrize("layers, dropout, carry_state", [
    (2, 0.0, False), (2, 0.3, False),
    (1, 0.0, True),  # the CPU fast path, state carried across windows and a pass over the streams
    (2, 0.3, True),
])
def test_resume_is_exact(corpus_file, tmp_path, layers, dropout, carry_state):
    corpus = load_corpus(corpus_file)
    model = dict(TINY_MODEL, layers=layers, dropout=dropout)
    # 32 streams of ~560 characters: a pass takes 28 windows, so the runs cross into a second.
    settings = dict(carry_state=carry_state, batch_size=32 if carry_state else 16)
    straight = new_trainer(corpus, tiny_config(steps=40, **settings), **model)
    list(straight.run())
    assert straight.stream_epoch == (1 if carry_state else 0)

    first = new_trainer(corpus, tiny_config(steps=20, **settings), **model)
    list(first.run())
    path = save_checkpoint(trainer_checkpoint(first, corpus), tmp_path / "half.ckpt")
    torch.manual_seed(12345)  # disturb the global RNG: resume must restore it
    checkpoint = load_checkpoint(path)
    second = resume_trainer(checkpoint, corpus, resumed_config(checkpoint, steps=40))
    assert second.step == 20 and second.config.carry_state == carry_state
    if carry_state:
        assert torch.equal(second.carried[0], first.carried[0])
    list(second.run())
    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, second.model.state_dict()[key]), key
    assert second.history.train == straight.history.train
    assert second.history.val == straight.history.val


def test_nan_loss_stops_with_last_good_weights(corpus_file):
    corpus = load_corpus(corpus_file)
    trainer = new_trainer(corpus, tiny_config(steps=50, lr=1e6), **TINY_MODEL)
    with pytest.raises(TrainingDiverged, match="lower --lr") as info:
        for _ in trainer.run():
            pass
    assert trainer.step < 50
    assert f"diverged at step {trainer.step + 1}" in str(info.value)


def test_pause_resume_and_stop_from_another_thread(corpus_file):
    corpus = load_corpus(corpus_file)
    trainer = new_trainer(corpus, tiny_config(steps=10_000), **TINY_MODEL)
    seen = []
    paused = threading.Event()
    go_on = threading.Event()

    def consume():
        for event in trainer.run():
            seen.append(event.step)
            if event.step == 3:
                trainer.pause()
                paused.set()
                go_on.wait(5)

    worker = threading.Thread(target=consume)
    worker.start()
    assert paused.wait(10)
    go_on.set()
    # Paused: no step happens however long we wait.
    worker.join(0.3)
    assert seen == [1, 2, 3] and trainer.paused
    trainer.resume()
    while len(seen) < 6:
        worker.join(0.01)
    trainer.stop()
    worker.join(10)
    assert not worker.is_alive()
    # Every step that started finished and was reported; none was lost.
    assert seen == list(range(1, trainer.step + 1))


def test_wait_until_paused_waits_for_the_step_in_flight(corpus_file):
    trainer = new_trainer(load_corpus(corpus_file), tiny_config(steps=10_000), **TINY_MODEL)
    in_step, release = threading.Event(), threading.Event()
    train_step = trainer.train_step

    def held_step(batch):
        in_step.set()
        release.wait(10)
        return train_step(batch)

    trainer.train_step = held_step
    worker = threading.Thread(target=lambda: list(trainer.run()))
    worker.start()
    assert in_step.wait(10)
    trainer.pause()
    assert not trainer.wait_until_paused(0.2)  # the first step is still running
    release.set()
    assert trainer.wait_until_paused(10)
    assert trainer.step == 1  # it finished, and no other began
    worker.join(0.2)
    assert trainer.step == 1 and worker.is_alive()
    trainer.stop()
    worker.join(10)
    assert not worker.is_alive() and trainer.step == 1


def test_cosine_schedule():
    config = TrainConfig(lr=0.01, lr_decay_steps=100, lr_min_ratio=0.1)
    assert learning_rate(config, 0) == pytest.approx(0.01)
    assert learning_rate(config, 50) == pytest.approx(0.0055)
    assert learning_rate(config, 100) == learning_rate(config, 500) == pytest.approx(0.001)
    assert learning_rate(TrainConfig(lr=0.005), 1234) == 0.005


@pytest.mark.parametrize("field, value, match", [
    ("steps", 0, "--steps"), ("steps", -3, "--steps"), ("batch_size", 0, "--batch-size"),
    ("lr", float("nan"), "--lr"), ("val_fraction", 1.0, "--val-fraction"),
])
def test_bad_settings(corpus_file, field, value, match):
    from rnntui.core.errors import RnntuiError

    with pytest.raises(RnntuiError, match=match):
        new_trainer(load_corpus(corpus_file), tiny_config(**{field: value}), **TINY_MODEL)


def test_seq_length_longer_than_text(tmp_path):
    from rnntui.core.errors import RnntuiError

    path = tmp_path / "short.txt"
    path.write_text("a short text, but two words", encoding="utf-8")
    with pytest.raises(RnntuiError, match="--seq-length"):
        new_trainer(load_corpus(path), tiny_config(seq_length=100), **TINY_MODEL)


def test_carry_state_reads_consecutive_windows_from_the_carried_state(corpus_file):
    corpus = load_corpus(corpus_file)
    config = tiny_config(carry_state=True, batch_size=8, seq_length=20)
    trainer = new_trainer(corpus, config, **TINY_MODEL)
    model, text = trainer.model, trainer.train_data.long()
    first = trainer.batch()
    # Eight streams, equally spaced through the text, each window where the last one ended.
    starts = [int(torch.nonzero((text.unfold(0, 21, 1) == row).all(1))[0]) for row in first]
    stream_length = starts[1] - starts[0]
    assert stream_length >= len(text) // 8 - 20
    assert starts == [starts[0] + i * stream_length for i in range(8)] and starts[0] < 20

    with torch.no_grad():
        model.train()
        _, expected_state = model(first[:, :-1])
    trainer.train_step(first)
    assert torch.allclose(trainer.carried[0], expected_state[0], atol=1e-6)
    assert not trainer.carried[0].requires_grad

    second = trainer.batch()
    assert torch.equal(second[:, 0], first[:, -1])
    with torch.no_grad():
        logits, _ = model(second[:, :-1], trainer.carried)
        from_carried = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                         second[:, 1:].reshape(-1)).item()
        logits, _ = model(second[:, :-1])
        from_zeros = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                       second[:, 1:].reshape(-1)).item()
    assert trainer.train_step(second) == pytest.approx(from_carried, abs=1e-5)
    assert abs(from_carried - from_zeros) > 1e-4

    # At the end of a pass: a new offset, the streams from their starts, the state from zeros.
    while trainer.stream_epoch == 0:
        window = trainer.batch()
    assert trainer.carried is None and trainer.stream_pos == 20
    restart = int(torch.nonzero((text.unfold(0, 21, 1) == window[0]).all(1))[0])
    assert restart < 20


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_carried_state_saved_as_a_list_by_older_versions_resumes(corpus_file, cell):
    """Files written before 2026-11-29 hold the carried state as a list: [h, c] for an LSTM,
    [h] for a GRU or plain RNN, [] before the first step of a pass."""
    corpus = load_corpus(corpus_file)
    config = tiny_config(carry_state=True, batch_size=8, seq_length=20)
    trainer = new_trainer(corpus, config, cell=cell, **TINY_MODEL)
    start = trainer.rng_state()
    trainer.train_step(trainer.batch())
    saved = trainer.rng_state()
    carried = trainer.carried
    as_list = list(carried) if isinstance(carried, tuple) else [carried]
    old_format = {**saved, "streams": {**saved["streams"], "carried": as_list}}
    resumed = new_trainer(corpus, config, cell=cell, **TINY_MODEL)
    resumed.set_rng_state(old_format)
    assert type(resumed.carried) is type(carried)
    for a, b in zip(_tensors(resumed.carried), _tensors(carried), strict=True):
        assert torch.equal(a, b)
    resumed.model.load_state_dict(trainer.model.state_dict())
    window = trainer.batch()
    assert torch.equal(resumed.batch(), window)
    resumed.train_step(window)  # runs from the carried state

    fresh = new_trainer(corpus, config, cell=cell, **TINY_MODEL)
    fresh.set_rng_state({**start, "streams": {**start["streams"], "carried": []}})
    assert fresh.carried is None


def _tensors(state):
    return list(state) if isinstance(state, tuple) else [state]


@pytest.mark.parametrize("change", [dict(batch_size=4), dict(seq_length=32)])
def test_resuming_streams_cut_another_way_starts_a_fresh_pass(corpus_file, change):
    """A --carry-state run resumed with another batch size (once: a crash, the state's shape
    no longer fitting) or window length starts the next pass; the same settings go on."""
    corpus = load_corpus(corpus_file)
    first = new_trainer(corpus, tiny_config(steps=3, carry_state=True, batch_size=8), **TINY_MODEL)
    list(first.run())
    checkpoint = trainer_checkpoint(first, corpus)
    same = resume_trainer(checkpoint, corpus, resumed_config(checkpoint, steps=5))
    assert (same.stream_epoch, same.stream_pos) == (first.stream_epoch, first.stream_pos) == (0, 60)
    other = resume_trainer(checkpoint, corpus, resumed_config(checkpoint, steps=5, **change))
    assert (other.stream_epoch, other.stream_pos, other.carried) == (1, -1, None)
    events = list(other.run())
    assert [e.step for e in events] == [4, 5] and math.isfinite(events[-1].train_loss)
    assert other.carried[0].shape[1] == other.config.batch_size
    assert other.stream_pos == 2 * other.config.seq_length


def test_carry_state_needs_streams_longer_than_a_window(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("abcdefghij " * 25, encoding="utf-8")
    corpus = load_corpus(path)
    with pytest.raises(RnntuiError, match="--carry-state cuts the training text"):
        new_trainer(corpus, tiny_config(carry_state=True, batch_size=16, seq_length=20), **TINY_MODEL)
    new_trainer(corpus, tiny_config(batch_size=16, seq_length=20), **TINY_MODEL)  # random windows fit


def test_a_save_while_a_step_is_in_flight_resumes_exactly(corpus_file):
    """The app saves from another thread: the copy must be the last finished step's, not
    the weights of one step with the windows (or carried state) of the next."""
    corpus = load_corpus(corpus_file)
    config = dict(carry_state=True, batch_size=8, eval_every=0)
    straight = new_trainer(corpus, tiny_config(steps=10, **config), **TINY_MODEL)
    list(straight.run())

    trainer = new_trainer(corpus, tiny_config(steps=10, **config), **TINY_MODEL)
    events = trainer.run()
    for _ in range(5):
        next(events)
    window = trainer.batch()  # the sixth step has drawn its windows...
    checkpoint = trainer_checkpoint(trainer, corpus)  # ...when the save happens
    adam = {k: v["exp_avg"].clone() for k, v in checkpoint.optimizer_state["state"].items()}
    trainer.train_step(window)
    assert all(torch.equal(checkpoint.optimizer_state["state"][k]["exp_avg"], v) for k, v in adam.items())

    resumed = resume_trainer(checkpoint, corpus, resumed_config(checkpoint, steps=10))
    assert resumed.step == 5
    list(resumed.run())
    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key


def test_history_says_when_the_validation_loss_has_risen_while_training_fell():
    from rnntui.core.history import History

    falling = [(step, 2.0 - step / 1000) for step in range(1, 301)]
    val = [(step, 1.5 if step <= 100 else 1.5 + (step - 100) / 1000) for step in range(10, 301, 10)]
    note = History(train=falling, val=val).overfitting()
    assert note and "best 1.5000 at step 10" in note and "learning its text by heart" in note
    assert History(train=falling, val=val[:12]).overfitting() is None  # two estimates since the best: not yet
    rising = [(step, 1.0 + step / 1000) for step in range(1, 301)]
    assert History(train=rising, val=val).overfitting() is None  # the training loss rose too: a bad rate instead
    flat = [(step, 1.5 + (0.001 if step > 10 else 0)) for step in range(10, 301, 10)]
    assert History(train=falling, val=flat).overfitting() is None  # within 2 % of the best: noise


def test_rnntui_train_says_once_when_the_model_starts_to_overfit(capsys, tmp_path):
    small = tmp_path / "small.txt"
    import random

    rng = random.Random(1)
    words = "the island engineer sailor sea wind coast lake colonists were and of a to was reporter".split()
    small.write_text(" ".join(rng.choice(words) for _ in range(400)), encoding="utf-8")
    code, _, err = run(capsys, "train", "--corpus", str(small), "--out", str(tmp_path / "of.ckpt"), "--steps", "200",
                       "--embed-dim", "16", "--hidden-size", "128", "--batch-size", "16", "--seq-length", "32",
                       "--eval-every", "10", "--device", "cpu", "--precision", "fp32", "--lr", "0.01",
                       "--random-seed", "1")
    assert code == 0
    notes = [line for line in err.splitlines() if "learning its text by heart" in line]
    assert len(notes) == 1 and "--patience N stops a run there" in notes[0] and "--finetune" in notes[0]
