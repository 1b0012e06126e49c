"""Fine-tuning a trained model on another text, and training a model on its own text again."""

import json
import subprocess

import pytest
import torch

from rnntui.charlm.build import finetune_trainer, new_trainer, trainer_checkpoint
from rnntui.charlm.checkpoint import load_checkpoint, save_checkpoint
from rnntui.charlm.corpus import load_corpus
from rnntui.charlm.evaluate import evaluate_ids
from rnntui.charlm.session import Session
from rnntui.charlm.trainer import TrainConfig
from rnntui.cli import main
from rnntui.core.errors import RnntuiError
from rnntui.core.paths import bundled_model_path
from tests.helpers import TINY_MODEL, make_text


def tiny_config(**changes) -> TrainConfig:
    values = dict(batch_size=8, seq_length=16, eval_every=0, device="cpu", precision="fp32", steps=5)
    return TrainConfig(**(values | changes))


@pytest.fixture
def base(tmp_path):
    """A tiny model trained for a few steps on a text of lower-case words."""
    text = tmp_path / "base.txt"
    text.write_text(make_text(5_000).lower(), encoding="utf-8")
    corpus = load_corpus(text)
    trainer = new_trainer(corpus, tiny_config(), **TINY_MODEL)
    list(trainer.run())
    return save_checkpoint(trainer_checkpoint(trainer, corpus), tmp_path / "base.ckpt")


@pytest.fixture
def other_text(tmp_path):
    """Another text, with characters the base model never saw (capitals, Ω)."""
    path = tmp_path / "other.txt"
    path.write_text(make_text(5_000, seed=3).replace("sea", "seΩ"), encoding="utf-8")
    return path


def test_finetuning_keeps_what_the_model_knows_and_adds_rows_for_new_characters(base, other_text):
    checkpoint = load_checkpoint(base)
    trainer, corpus = finetune_trainer(checkpoint, load_corpus(other_text), tiny_config())
    vocab, old = corpus.vocab, checkpoint.vocab
    assert set(vocab.char_array) == set(old.char_array) | set(other_text.read_text(encoding="utf-8"))
    assert "Ω" in vocab and "T" in vocab and "Ω" not in old
    assert trainer.step == 0 and trainer.history.train == [] and not trainer.optimizer.state
    state = trainer.model.state_dict()
    rows = torch.tensor([vocab.char2int[c] for c in old.char_array])
    for name in ("embedding.weight", "fc.weight", "fc.bias"):  # one row per character
        assert torch.equal(state[name][rows], checkpoint.model_state[name]), name
    for name, weights in checkpoint.model_state.items():
        if not name.startswith(("embedding", "fc")):
            assert torch.equal(state[name], weights), name
    new = vocab.char2int["Ω"]
    assert state["embedding.weight"][new].abs().sum() > 0  # initialised, not left at zero
    # The ids are in the new vocabulary: decoding them gives the text back.
    own = load_corpus(other_text)
    assert vocab.decode(corpus.ids[:200]) == own.vocab.decode(own.ids[:200])


def test_a_finetuned_model_starts_far_ahead_of_a_fresh_one(tmp_path):
    """The point of fine-tuning: the bundled model already writes English, so on a new English
    text it is far better than a fresh model after the same few steps."""
    bundled = bundled_model_path()
    if not bundled.is_file():
        pytest.skip("no bundled model in this checkout")
    text = tmp_path / "letters.txt"
    text.write_text(make_text(6_000, seed=5) + " {braces} and |bars| are new here.", encoding="utf-8")
    config = tiny_config(steps=3, batch_size=4, seq_length=32, lr=0.002)
    finetuned, corpus = finetune_trainer(load_checkpoint(bundled), load_corpus(text), config)
    torch.manual_seed(0)
    fresh = new_trainer(load_corpus(text), config)
    for trainer in (finetuned, fresh):
        list(trainer.run())
    finetuned_loss, _ = evaluate_ids(finetuned.model, corpus.split(0.1)[1])
    fresh_loss, _ = evaluate_ids(fresh.model, load_corpus(text).split(0.1)[1])
    assert finetuned_loss < fresh_loss - 1.0, (finetuned_loss, fresh_loss)


@pytest.fixture
def rnntui(capsys):
    """Run the command line in this process: (exit status, stdout, stderr)."""
    def run(*args: str) -> subprocess.CompletedProcess:
        code = main(list(args))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)
    return run


def test_cli_finetunes_then_resumes_on_the_recorded_text(base, other_text, tmp_path, rnntui):
    out = tmp_path / "tuned.ckpt"
    flags = ["--batch-size", "8", "--seq-length", "16", "--eval-every", "0", "--device", "cpu"]
    done = rnntui("train", "--finetune", str(base), "--corpus", str(other_text), "--steps", "2",
                  "--out", str(out), *flags)
    assert done.returncode == 0, done.stderr
    tuned = load_checkpoint(out)
    assert tuned.step == 2 and "Ω" in tuned.vocab and tuned.corpus["name"] == "other.txt"
    assert tuned.provenance["finetuned_from"]["checkpoint"] == "base.ckpt"
    assert tuned.provenance["finetuned_from"]["step"] == load_checkpoint(base).step
    # Its new characters can start a seed text.
    generated = rnntui("generate", "--checkpoint", str(out), "--seed-text", "Ω", "--length", "20",
                       "--random-seed", "1")
    assert generated.returncode == 0 and generated.stdout.startswith("Ω"), generated.stderr
    # Resumed without --corpus, it trains on the text it was fine-tuned on, not the default book.
    resumed = rnntui("train", "--resume", str(out), "--steps", "3", *flags)
    assert resumed.returncode == 0, resumed.stderr
    again = load_checkpoint(out)
    assert again.step == 3 and again.corpus["name"] == "other.txt"
    assert again.provenance["finetuned_from"] == tuned.provenance["finetuned_from"]
    # So does evaluate: the loss on the held-out tail of that text.
    evaluated = rnntui("evaluate", "--checkpoint", str(out), "--json")
    assert evaluated.returncode == 0 and json.loads(evaluated.stdout)["corpus"] == "other.txt", evaluated.stderr
    # That text gone: one line that names it and says what to pass, and nothing written.
    other_text.rename(tmp_path / "moved.txt")
    gone = rnntui("train", "--resume", str(out), "--steps", "4", *flags)
    assert gone.returncode == 2 and "Traceback" not in gone.stderr
    assert gone.stderr.count("\n") == 1 and "other.txt" in gone.stderr and "--corpus" in gone.stderr
    assert load_checkpoint(out).step == 3


def test_cli_refuses_finetune_with_resume_or_another_architecture(base, other_text, tmp_path, rnntui):
    both = rnntui("train", "--finetune", str(base), "--resume", str(base), "--corpus", str(other_text))
    assert both.returncode == 2 and "one of them" in both.stderr
    shape = rnntui("train", "--finetune", str(base), "--corpus", str(other_text), "--hidden-size", "64")
    assert shape.returncode == 2 and "--hidden-size 64" in shape.stderr and "Traceback" not in shape.stderr
    assert not list(tmp_path.glob("data/checkpoints/*"))


def test_a_json_run_can_finetune_the_bundled_model_by_default(other_text, tmp_path, rnntui):
    if not bundled_model_path().is_file():
        pytest.skip("no bundled model in this checkout")
    out = tmp_path / "b.ckpt"
    done = rnntui("train", "--finetune", "--corpus", str(other_text), "--steps", "1", "--batch-size", "2",
                  "--seq-length", "8", "--eval-every", "0", "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["step"] == 1
    tuned = load_checkpoint(out)
    assert tuned.model_config.hidden_size == 512 and tuned.provenance["finetuned_from"]["checkpoint"] == \
        bundled_model_path().name


def test_the_app_engine_trains_a_loaded_model_on_the_text_it_was_trained_on(base, tmp_path):
    session = Session(tiny_config(), TINY_MODEL)
    session.open(checkpoint=base)
    assert not session.needs_download()  # its own text is there: no book to fetch
    session.ensure_trainer()
    assert session.corpus.name == "base.txt"
    (tmp_path / "base.txt").unlink()
    later = Session(tiny_config(), TINY_MODEL)  # another session, after the text has gone
    later.open(checkpoint=base)
    with pytest.raises(RnntuiError, match="trained on base.txt, which is no longer at .*base.txt"):
        later.needs_download()
    with pytest.raises(RnntuiError, match="--corpus"):
        later.ensure_trainer()


def test_the_app_engine_finetunes_the_current_model(base, other_text, tmp_path):
    session = Session(tiny_config(), TINY_MODEL)
    session.open(checkpoint=base)
    before = {k: v.clone() for k, v in session.model.state_dict().items()}
    info = session.finetune(other_text)
    assert info.name == "base fine-tuned on other.txt" and info.step == 0 and "Ω" in session.vocab
    assert session.unsaved_steps == 0 and session.trainer is not None
    assert torch.equal(session.model.state_dict()["rnn.weight_hh_l0"], before["rnn.weight_hh_l0"])
    trainer = session.trainer
    for event in trainer.run():
        if event.step >= 2:
            trainer.stop()
    saved = load_checkpoint(session.save(tmp_path / "t.ckpt"))
    assert saved.step == 2 and saved.provenance["finetuned_from"]["checkpoint"] == "base.ckpt"
    assert saved.corpus["name"] == "other.txt"
