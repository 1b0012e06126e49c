"""The app's engine state, without the UI."""

from rnntui.paths import bundled_model_path
from rnntui.training import TrainConfig
from rnntui.workbench import Workbench

from .conftest import TINY_MODEL


def test_loading_a_model_of_another_text_forgets_the_old_text(corpus_file, tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("abc cab bca! " * 300, encoding="utf-8")
    workbench = Workbench(TrainConfig(batch_size=4, seq_length=8, device="cpu"), TINY_MODEL)
    workbench.open(corpus=other)  # a new model for a text with another alphabet
    assert workbench.corpus_path == other
    workbench.load(bundled_model_path())  # trained on the book: the other text cannot train it
    assert workbench.corpus is None and workbench.corpus_path is None
    assert workbench.needs_download()  # training it would fetch the book, not read other.txt


def test_loading_a_model_of_the_same_text_keeps_it(corpus_file, tmp_path):
    workbench = Workbench(TrainConfig(batch_size=4, seq_length=8, eval_every=0, steps=2, device="cpu"),
                          TINY_MODEL)
    workbench.open(corpus=corpus_file)
    saved = workbench.save(tmp_path / "m.ckpt")
    workbench.load(saved)
    assert workbench.corpus_path == corpus_file
    workbench.ensure_trainer()  # trains on that text again, no download
    assert workbench.corpus.name == corpus_file.name and workbench.trainer.step == 0
