"""The review language model (``rnntui sentiment pretrain``): its training, exact resume and
checkpoints, on made-up reviews."""

from __future__ import annotations

import pytest
import torch

from rnntui.core.errors import CheckpointError
from rnntui.sentiment.checkpoint import load_sentiment_checkpoint
from rnntui.sentiment.model import SentimentRNN
from rnntui.sentiment.pretrain.build import lm_trainer_checkpoint, new_lm_trainer, prepare_text, resume_lm_trainer
from rnntui.sentiment.pretrain.checkpoint import LMCheckpoint, load_lm_checkpoint, save_lm_checkpoint
from rnntui.sentiment.pretrain.model import ReviewLM, ReviewLMConfig, reverse_ids
from rnntui.sentiment.pretrain.trainer import PretrainConfig, evaluate_lm
from rnntui.sentiment.reviews import read_reviews, read_unlabelled
from tests.helpers import reviews_tarball

SMALL = {"embed_dim": 8, "hidden_size": 16}


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    path = reviews_tarball(tmp_path_factory.mktemp("lm") / "reviews.tar.gz", per_folder=50, unlabelled=120)
    return read_reviews(path), read_unlabelled(path)


def config(**changes) -> PretrainConfig:
    return PretrainConfig(**{"epochs": 2, "batch_size": 16, "lr": 0.01, "valid_reviews": 20, "eval_every": 5,
                             **changes})


@pytest.fixture(scope="module")
def prepared(reviews):
    return prepare_text(*reviews, config(), "made-up")


def test_it_reads_the_training_and_unlabelled_reviews_and_holds_some_out(prepared):
    # The classifier's 80 training reviews of 100 (its 20 validation ones and the test ones are
    # never read) and 100 of the 120 unlabelled ones; 20 unlabelled ones measure perplexity.
    assert prepared.data["train_reviews"] == 80 and prepared.data["unlabelled_reviews"] == 100
    assert len(prepared.train) == 180 and len(prepared.valid) == 20 == prepared.data["valid_reviews"]
    assert prepared.data["train_words"] == prepared.train.words == sum(prepared.train.lengths)


def test_a_tiny_language_model_learns_in_seconds(prepared):
    trainer = new_lm_trainer(prepared, config(eval_every=0), **SMALL)
    before = evaluate_lm(trainer.model, prepared.valid)
    events = list(trainer.run())
    validated = [e for e in events if e.val_loss is not None]
    # The made-up reviews have 16 words: from about log(18) nats a word to well under it.
    assert before > 2.7 and validated[-1].val_loss < 2.45 and validated[-1].val_perplexity < 11.6
    assert [e.step for e in validated] == [12, 24] and events[-1].step == trainer.total_steps == 2 * 12


@pytest.mark.parametrize("softmax", ["adaptive", "full", "tied"])
def test_each_softmax_gives_the_mean_loss_of_each_direction(softmax):
    torch.manual_seed(0)
    model = ReviewLM(ReviewLMConfig(vocab_size=40, embed_dim=6, hidden_size=10, softmax=softmax, dropout=0.0)).eval()
    ids = torch.randint(2, 40, (3, 7))
    lengths = torch.tensor([7, 4, 2])
    ids[1, 4:] = 0
    ids[2, 2:] = 0
    total, count = model(ids, lengths)
    assert count == 2 * (6 + 3 + 1)  # each direction predicts every word of a review but its first
    # The same as each review alone, read from its own first word (padding is never read).
    alone = sum(model(ids[i:i + 1, :n], lengths[i:i + 1])[0] for i, n in enumerate(lengths.tolist()))
    assert torch.allclose(total, alone, atol=1e-4)


def test_the_backward_direction_reads_each_review_reversed():
    ids = torch.tensor([[5, 6, 7, 0], [8, 9, 0, 0]])
    assert reverse_ids(ids, torch.tensor([3, 2])).tolist() == [[7, 6, 5, 0], [9, 8, 0, 0]]


def test_its_layers_are_the_classifiers():
    """The embedding and recurrent layer have the classifier's names and shapes."""
    lm = ReviewLM(ReviewLMConfig(vocab_size=50, **SMALL))
    classifier = SentimentRNN(lm.config.classifier_config())
    shared = {k: v.shape for k, v in lm.state_dict().items() if k.startswith(("embedding.", "rnn."))}
    assert shared == {k: v.shape for k, v in classifier.state_dict().items() if k.startswith(("embedding.", "rnn."))}
    assert "rnn.weight_hh_l0_reverse" in shared


def test_resuming_is_exact_bit_for_bit(prepared, tmp_path):
    straight = new_lm_trainer(prepared, config(), **SMALL)
    list(straight.run())
    first = new_lm_trainer(prepared, config(), **SMALL)
    for event in first.run():
        if event.step == first.batches_per_epoch + 3:  # in the middle of the second epoch
            first.stop()
    path = save_lm_checkpoint(lm_trainer_checkpoint(first, prepared), tmp_path / "half.ckpt")
    torch.manual_seed(12345)  # whatever the generator holds now, the file's state is restored
    resumed = resume_lm_trainer(load_lm_checkpoint(path), prepared, config())
    list(resumed.run())
    assert resumed.step == straight.step == 24
    for name, tensor in straight.model.state_dict().items():
        assert torch.equal(tensor, resumed.model.state_dict()[name]), name
    assert resumed.history.train == straight.history.train and resumed.history.val == straight.history.val


@pytest.fixture(scope="module")
def lm_file(prepared, tmp_path_factory):
    trainer = new_lm_trainer(prepared, config(epochs=1), **SMALL)
    list(trainer.run())
    path = tmp_path_factory.mktemp("lm-file") / "lm.ckpt"
    return save_lm_checkpoint(lm_trainer_checkpoint(trainer, prepared, {"command": "test"}), path)


def test_the_other_tasks_refuse_a_review_language_model_in_one_line(lm_file, tiny_checkpoint_file):
    from rnntui.charlm.checkpoint import load_checkpoint

    with pytest.raises(CheckpointError, match="is a language model of movie reviews .*not a sentiment model"):
        load_sentiment_checkpoint(lm_file)
    with pytest.raises(CheckpointError, match="is a language model of movie reviews .*not a language model"):
        load_checkpoint(lm_file)
    with pytest.raises(CheckpointError, match="is a language model .*not a language model of movie reviews"):
        load_lm_checkpoint(tiny_checkpoint_file)


def crafted(path, out, change) -> LMCheckpoint:
    checkpoint = load_lm_checkpoint(path)
    change(checkpoint)
    return save_lm_checkpoint(checkpoint, out)


@pytest.mark.parametrize("change, match", [
    (lambda c: c.model_state.update({"rnn.weight_hh_l0": torch.zeros(3, 3)}), "rnn.weight_hh_l0 has shape"),
    (lambda c: c.model_state.pop("embedding.weight"), "missing embedding.weight"),
    (lambda c: c.model_state["embedding.weight"].fill_(float("inf")), "infinite"),
    (lambda c: setattr(c, "vocab", type(c.vocab)(c.vocab.words[:-1])), "vocab has"),
    (lambda c: setattr(c, "train_config", {"epochs": 0}), "training settings"),
    (lambda c: setattr(c, "model_config", ReviewLMConfig(c.model_config.vocab_size, softmax="full", **SMALL)),
     "does not fit|has shape"),
    (lambda c: c.optimizer_state["state"][0].update({"exp_avg": torch.zeros(2)}), "optimizer_state's exp_avg"),
    (lambda c: setattr(c, "data", {"train_words": -1}), "data's train_words"),
    (lambda c: c.rng_state.update({"torch": torch.zeros(5, dtype=torch.uint8)}), "rng_state's torch is not"),
])
def test_crafted_checkpoints_are_refused_before_a_model_is_built(lm_file, tmp_path, change, match):
    path = crafted(lm_file, tmp_path / "bad.ckpt", change)
    with pytest.raises(CheckpointError, match=match):
        load_lm_checkpoint(path)


def test_a_forward_language_model_starts_the_forward_direction_only(tmp_path):
    from rnntui.sentiment.from_lm import classifier_settings, copy_lm_layers
    from rnntui.sentiment.model import SentimentConfig
    from rnntui.sentiment.tokens import WordVocab
    from rnntui.sentiment.trainer import SentimentTrainConfig

    torch.manual_seed(0)
    lm_model = ReviewLM(ReviewLMConfig(vocab_size=12, bidirectional=False, **SMALL))
    lm = LMCheckpoint(lm_model.config, WordVocab(("<pad>", "<unk>", *"abcdefghij")), lm_model.state_dict())
    settings = classifier_settings(lm, tmp_path / "lm.ckpt", SentimentTrainConfig(), {"bidirectional": True})
    assert settings == {"embed_dim": 8, "hidden_size": 16, "cell": "lstm", "bidirectional": True}
    classifier = SentimentRNN(SentimentConfig(vocab_size=12, **settings))
    backward_before = classifier.rnn.weight_hh_l0_reverse.detach().clone()
    assert copy_lm_layers(classifier, lm) == ["embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0",
                                              "rnn.bias_ih_l0", "rnn.bias_hh_l0"]
    assert torch.equal(classifier.rnn.weight_hh_l0, lm_model.rnn.weight_hh_l0)
    assert torch.equal(classifier.embedding.weight, lm_model.embedding.weight)
    assert torch.equal(classifier.rnn.weight_hh_l0_reverse, backward_before)
