"""The app's engine state, without the UI."""

from rnntui.charlm.session import Session
from rnntui.charlm.trainer import TrainConfig
from rnntui.core.paths import bundled_model_path
from tests.helpers import TINY_MODEL


def test_loading_a_model_of_another_text_forgets_the_old_text(corpus_file, tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("abc cab bca! " * 300, encoding="utf-8")
    session = Session(TrainConfig(batch_size=4, seq_length=8, device="cpu"), TINY_MODEL)
    session.open(corpus=other)  # a new model for a text with another alphabet
    assert session.corpus_path == other
    session.load(bundled_model_path())  # trained on the book: the other text cannot train it
    assert session.corpus is None and session.corpus_path is None
    assert session.needs_download()  # training it would fetch the book, not read other.txt


def test_loading_a_model_of_the_same_text_keeps_it(corpus_file, tmp_path):
    session = Session(TrainConfig(batch_size=4, seq_length=8, eval_every=0, steps=2, device="cpu"),
                          TINY_MODEL)
    session.open(corpus=corpus_file)
    saved = session.save(tmp_path / "m.ckpt")
    session.load(saved)
    assert session.corpus_path == corpus_file
    session.ensure_trainer()  # trains on that text again, no download
    assert session.corpus.name == corpus_file.name and session.trainer.step == 0


def run_steps(session: Session, steps: int) -> None:
    trainer = session.ensure_trainer()
    for event in trainer.run():
        if event.step >= steps:
            trainer.stop()


def test_new_training_settings_apply_from_the_next_step_and_keep_the_rest(corpus_file, tmp_path):
    import pytest
    import torch

    from rnntui.core.errors import RnntuiError

    session = Session(TrainConfig(batch_size=4, seq_length=8, eval_every=0, device="cpu",
                                      lr=0.01, lr_decay_steps=100), TINY_MODEL)
    session.open(corpus=corpus_file)
    run_steps(session, 5)
    assert session.settings()["lr"] < 0.01  # the rate now, five steps into the decay
    weights = {k: v.clone() for k, v in session.model.state_dict().items()}
    session.change_settings(lr=0.002, batch_size=6, seq_length=12, dropout=0.2, weight_dropout=0.1,
                              carry_state=True)
    trainer = session.trainer
    assert trainer.step == 5 and len(session.history.train) == 5
    assert (trainer.config.lr, trainer.config.lr_decay_steps, trainer.config.batch_size,
            trainer.config.seq_length, trainer.config.carry_state) == (0.002, 0, 6, 12, True)
    assert (session.model.config.dropout, session.model.config.weight_dropout) == (0.2, 0.1)
    assert all(torch.equal(weights[k], v) for k, v in session.model.state_dict().items())
    assert session.settings() == dict(lr=0.002, lr_decay_steps=0, batch_size=6, seq_length=12,
                                        carry_state=True, dropout=0.2, weight_dropout=0.1)
    run_steps(session, 7)
    assert session.trainer.step == 7
    # Settings that do not fit change nothing.
    for bad in (dict(batch_size=0), dict(dropout=1.5), dict(seq_length=10**6), dict(momentum=0.9)):
        with pytest.raises(RnntuiError):
            session.change_settings(**bad)
        assert session.settings()["batch_size"] == 6 and session.trainer.config.seq_length == 12
    # Saved and loaded, the model keeps them; a loaded model takes new ones when it trains.
    loaded = Session(TrainConfig(eval_every=0, device="cpu"), TINY_MODEL)
    loaded.load(session.save(tmp_path / "m.ckpt"))
    loaded.corpus_path = corpus_file
    loaded.change_settings(batch_size=3)
    assert loaded.trainer is None and loaded.settings()["batch_size"] == 3
    assert loaded.ensure_trainer().config.batch_size == 3 and loaded.model.config.dropout == 0.2
    # Settings belong to the model: another one loaded, or a new one, starts from its own.
    loaded.load(tmp_path / "m.ckpt")
    assert loaded.overrides == {} and loaded.settings()["batch_size"] == 6
    loaded.fresh(corpus_file)
    assert loaded.trainer.config.batch_size == 64 and loaded.model.config.dropout == 0.0


def test_a_save_that_ends_after_another_model_came_in_leaves_that_model_alone(corpus_file, tmp_path, monkeypatch):
    """A save is written outside the session's lock (the app's autosave or ctrl+s, in a
    thread); if a model is loaded meanwhile, that model must not take the saved file's name,
    path and step as its own."""
    import threading
    from itertools import islice

    from rnntui.charlm import session as session_module
    other = tmp_path / "other.ckpt"
    bench = Session(TrainConfig(batch_size=4, seq_length=16, eval_every=0, device="cpu"), TINY_MODEL)
    bench.open(None, corpus_file)
    list(islice(bench.ensure_trainer().run(), 3))
    bench.save(other)  # a checkpoint to load while the next save is being written
    list(islice(bench.trainer.run(), 2))

    writing, loaded = threading.Event(), threading.Event()
    real_save = session_module.save_checkpoint

    def slow_save(checkpoint, path):
        writing.set()
        loaded.wait(10)
        return real_save(checkpoint, path)

    monkeypatch.setattr(session_module, "save_checkpoint", slow_save)
    saver = threading.Thread(target=bench.save)
    saver.start()
    assert writing.wait(10)
    bench.load(other)  # as ctrl+o does
    loaded.set()
    saver.join(10)
    assert (bench.path, bench.name, bench.saved_step) == (other, "other.ckpt", 3)
    assert bench.unsaved_steps == 0


def test_held_out_is_the_current_weights_and_the_tail_that_rnntui_evaluate_uses(corpus_file, tmp_path):
    import pytest
    import torch

    from rnntui.charlm.checkpoint import load_checkpoint
    from rnntui.charlm.corpus import load_corpus
    from rnntui.charlm.evaluate import evaluate_ids, held_out_loss
    from rnntui.core.errors import RnntuiError

    session = Session(TrainConfig(batch_size=4, seq_length=8, eval_every=0, val_fraction=0.2, device="cpu"),
                          TINY_MODEL)
    session.open(corpus=corpus_file)
    run_steps(session, 3)
    held_out = session.held_out()
    assert (held_out.step, held_out.val_fraction, held_out.corpus_name) == (3, 0.2, corpus_file.name)
    for name, tensor in session.trainer.snapshot().items():  # a copy: training may go on
        assert torch.equal(held_out.model.state_dict()[name], tensor)
    assert held_out.model is not session.model
    saved = session.save(tmp_path / "m.ckpt")
    loss, count = evaluate_ids(held_out.model, held_out.ids)
    assert (loss, count) == held_out_loss(load_checkpoint(saved), load_corpus(corpus_file))[:2]
    # The bundled model is judged on the book, which a fresh machine has not downloaded.
    session.load(bundled_model_path())
    with pytest.raises(RnntuiError, match="The Mysterious Island, which is not downloaded yet"):
        session.held_out()


def test_a_file_chosen_with_save_as_is_where_the_model_saves_until_another_comes(corpus_file, tmp_path):
    from rnntui.core.paths import checkpoints_dir

    session = Session(TrainConfig(batch_size=4, seq_length=8, eval_every=0, device="cpu"), TINY_MODEL)
    session.open(corpus=corpus_file)
    assert session.next_save_path().parent == checkpoints_dir()
    chosen = session.save(tmp_path / "chosen.ckpt")
    assert session.next_save_path() == chosen and session.save() == chosen
    other = tmp_path / "other.ckpt"
    other.write_bytes(chosen.read_bytes())
    session.load(other)  # a model opened from a file saves back to that file, as an editor does
    assert session.next_save_path() == other
    session.load(bundled_model_path())  # named after the text it was trained on
    assert session.next_save_path().name.startswith("mysterious-island-1268-0-")


def test_describe_names_the_file_only_while_it_holds_the_current_state(corpus_file, tmp_path):
    from rnntui.charlm.info import info_lines

    session = Session(TrainConfig(batch_size=4, seq_length=8, eval_every=0, device="cpu"), TINY_MODEL)
    session.open(corpus=corpus_file)
    run_steps(session, 2)
    info = session.describe()
    assert info["path"] is None and info["step"] == 2 and info["resumable"]
    assert info_lines(info)[0] == "file:        not saved yet"
    saved = session.save(tmp_path / "m.ckpt")
    info = session.describe()
    assert info["path"] == str(saved) and info["bytes"] == saved.stat().st_size
    assert info["train_config"]["batch_size"] == 4 and info["corpus"]["name"] == corpus_file.name
