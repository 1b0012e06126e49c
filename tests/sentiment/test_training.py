"""The sentiment model's training, checkpoints and predictions, on made-up reviews."""

from __future__ import annotations

import random
import threading

import pytest
import torch

from rnntui.charlm.checkpoint import load_checkpoint, save_checkpoint
from rnntui.core.errors import CheckpointError
from rnntui.core.training import TrainingDiverged
from rnntui.sentiment.build import new_trainer, prepare, resume_trainer, trainer_checkpoint
from rnntui.sentiment.checkpoint import SentimentCheckpoint, load_sentiment_checkpoint, save_sentiment_checkpoint
from rnntui.sentiment.model import SentimentConfig, SentimentRNN
from rnntui.sentiment.predict import EmptyReview, Predictor
from rnntui.sentiment.reviews import read_reviews
from rnntui.sentiment.trainer import SentimentTrainConfig, truncate
from tests.helpers import made_up_review

SMALL = {"embed_dim": 8, "hidden_size": 16, "fc_hidden": 16}


@pytest.fixture
def prepared(reviews_file):
    return prepare(read_reviews(reviews_file), SentimentTrainConfig(), "made-up")


def trained(prepared, epochs=2, **settings):
    config = SentimentTrainConfig(epochs=epochs, batch_size=8, lr=0.01)
    trainer = new_trainer(prepared, config, **{**SMALL, **settings})
    events = list(trainer.run())
    return trainer, events


def test_it_learns_made_up_reviews_and_validates_each_epoch(prepared):
    trainer, events = trained(prepared, epochs=8)
    validations = [e for e in events if e.val_accuracy is not None]
    assert [round(e.epoch) for e in validations] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert validations[-1].val_accuracy >= 0.9
    assert events[-1].step == 8 * trainer.batches_per_epoch == trainer.total_steps


def test_eval_every_counts_steps_into_each_epoch(prepared):
    config = SentimentTrainConfig(epochs=2, batch_size=8, lr=0.01, eval_every=7)
    trainer = new_trainer(prepared, config, **SMALL)
    assert trainer.batches_per_epoch == 20  # 160 training reviews
    validated = [event.step for event in trainer.run() if event.val_accuracy is not None]
    assert validated == [7, 14, 20, 27, 34, 40]


@pytest.mark.parametrize("lr_schedule", ["constant", "linear"])
def test_resuming_is_exact_bit_for_bit(prepared, tmp_path, lr_schedule):
    config = SentimentTrainConfig(epochs=2, batch_size=8, lr=0.01, lr_schedule=lr_schedule)
    straight = new_trainer(prepared, config, **SMALL, dropout=0.3)
    list(straight.run())
    first = new_trainer(prepared, config, **SMALL, dropout=0.3)
    for event in first.run():
        if event.step == first.batches_per_epoch + 3:  # in the middle of the second epoch
            first.stop()
    path = save_sentiment_checkpoint(trainer_checkpoint(first, prepared), tmp_path / "half.ckpt")
    torch.manual_seed(12345)  # whatever the generator holds now, the file's state is restored
    resumed = resume_trainer(load_sentiment_checkpoint(path), prepared, config)
    list(resumed.run())
    assert resumed.step == straight.step
    for name, tensor in straight.model.state_dict().items():
        assert torch.equal(tensor, resumed.model.state_dict()[name]), name
    assert resumed.history.train == straight.history.train
    assert resumed.history.accuracy == straight.history.accuracy


def test_pause_resume_and_stop_from_another_thread(prepared):
    trainer = new_trainer(prepared, SentimentTrainConfig(epochs=1000, batch_size=8), **SMALL)
    steps = []
    thread = threading.Thread(target=lambda: steps.extend(e.step for e in trainer.run()))
    thread.start()
    trainer.pause()
    assert trainer.wait_until_paused(10)
    held = trainer.step
    assert not trainer.wait_until_paused(0.2) or trainer.step == held
    trainer.resume()
    trainer.stop()
    thread.join(10)
    assert not thread.is_alive() and steps and steps[-1] < trainer.total_steps


def test_a_nan_stops_training_with_the_last_good_weights(prepared):
    trainer = new_trainer(prepared, SentimentTrainConfig(epochs=1, batch_size=8), **SMALL)
    with torch.no_grad():
        trainer.model.fc2.weight.fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="diverged at step 1 .*weights are those of step 0"):
        list(trainer.run())
    assert trainer.step == 0


def test_early_stopping_after_patience_validations(prepared):
    config = SentimentTrainConfig(epochs=50, batch_size=8, lr=1e-6, patience=2)
    trainer = new_trainer(prepared, config, **SMALL)
    list(trainer.run())
    assert trainer.early_stopped and trainer.step < trainer.total_steps
    assert trainer.history.since_best() == 2


def test_a_linear_schedule_lowers_the_rate_each_step_to_nearly_zero(prepared):
    config = SentimentTrainConfig(epochs=2, batch_size=8, lr=0.01, lr_schedule="linear", layer_lr_decay=2.0)
    trainer = new_trainer(prepared, config, **SMALL)
    rates = []
    for _ in trainer.run():
        rates.append([group["lr"] for group in trainer.optimizer.param_groups])
    total = trainer.total_steps
    for step, used in enumerate(rates):  # the rates the update of step + 1 was made at
        expected = [lr * (1 - step / total) for lr in (0.0025, 0.005, 0.01)]
        assert used == pytest.approx(expected), step
    assert rates[-1][-1] == pytest.approx(0.01 / total)


@pytest.mark.parametrize("bad", [{"epochs": 0}, {"batch_size": -1}, {"lr": 0.0}, {"lr": float("nan")},
                                 {"max_tokens": 1}, {"grad_clip": -1.0}, {"random_seed": -5}, {"epochs": True},
                                 {"lr_schedule": "cosine"}])
def test_bad_training_settings_are_one_line(bad):
    from rnntui.core.errors import RnntuiError

    with pytest.raises(RnntuiError, match="^--"):
        SentimentTrainConfig(**bad).validate()


def test_long_reviews_keep_their_opening_and_their_verdict():
    assert truncate(list(range(10)), 4) == [0, 1, 8, 9]
    assert truncate(list(range(10)), 5) == [0, 1, 7, 8, 9]
    assert truncate(list(range(3)), 4) == [0, 1, 2] and truncate(list(range(9)), 0) == list(range(9))


# -- checkpoints -------------------------------------------------------------------------------

@pytest.fixture
def sentiment_file(prepared, tmp_path):
    trainer, _ = trained(prepared, epochs=1)
    return save_sentiment_checkpoint(trainer_checkpoint(trainer, prepared, {"command": "test"}), tmp_path / "s.ckpt")


def test_each_task_refuses_the_others_checkpoints_in_one_line(sentiment_file, tiny_checkpoint_file):
    with pytest.raises(CheckpointError, match="is a sentiment model .*not a language model.*rnntui sentiment"):
        load_checkpoint(sentiment_file)
    with pytest.raises(CheckpointError, match="is a language model .*not a sentiment model"):
        load_sentiment_checkpoint(tiny_checkpoint_file)


def test_a_checkpoint_round_trips_and_ships_in_half_precision(sentiment_file, tmp_path):
    checkpoint = load_sentiment_checkpoint(sentiment_file)
    assert checkpoint.vocab.words[:2] == ("<pad>", "<unk>") and checkpoint.provenance == {"command": "test"}
    shipped = save_sentiment_checkpoint(checkpoint, tmp_path / "ship.ckpt", half=True)
    assert shipped.stat().st_size < sentiment_file.stat().st_size
    again = load_sentiment_checkpoint(shipped)
    assert again.optimizer_state is None
    for name, tensor in checkpoint.model_state.items():
        assert torch.allclose(tensor, again.model_state[name], atol=1e-2)


def crafted(checkpoint: SentimentCheckpoint, path, change):
    change(checkpoint)
    return save_sentiment_checkpoint(checkpoint, path)


@pytest.mark.parametrize("change, match", [
    (lambda c: c.model_state.update({"fc2.weight": torch.zeros(3, 3)}), "fc2.weight has shape"),
    (lambda c: c.model_state.pop("fc1.bias"), "missing fc1.bias"),
    (lambda c: c.model_state["fc1.weight"].fill_(float("nan")), "NaN"),
    (lambda c: setattr(c, "vocab", type(c.vocab)(c.vocab.words[:-1])), "vocab has"),
    (lambda c: setattr(c, "vocab", type(c.vocab)(("a", "b", *c.vocab.words[2:]))), "begin with <pad>"),
    (lambda c: setattr(c, "train_config", {"epochs": -3}), "training settings"),
    (lambda c: setattr(c, "step", -1), "step is -1"),
    (lambda c: setattr(c, "rng_state", {"torch": "x"}), "rng_state"),
    (lambda c: setattr(c, "data", {"train_reviews": "many"}), "data's train_reviews"),
    (lambda c: setattr(c, "model_config", SentimentConfig(c.model_config.vocab_size, cell="gru", **SMALL)),
     "does not fit|has shape"),
    (lambda c: object.__setattr__(c.model_config, "word_dropout", 1.5), "word_dropout must be in"),
    (lambda c: object.__setattr__(c.model_config, "word_dropout", "x"), "word_dropout is 'x', not a rate"),
])
def test_crafted_checkpoints_are_refused_before_a_model_is_built(sentiment_file, tmp_path, change, match):
    path = crafted(load_sentiment_checkpoint(sentiment_file), tmp_path / "bad.ckpt", change)
    with pytest.raises(CheckpointError, match=match):
        load_sentiment_checkpoint(path)


def test_a_language_model_cannot_pose_as_a_sentiment_model_by_its_header(tiny_checkpoint, tmp_path):
    """A file that says "sentiment" but holds a language model's payload is refused by its contents."""
    from rnntui.charlm import checkpoint as module
    real, language_model = module.TASK, load_checkpoint(tiny_checkpoint)
    try:
        module.TASK = "sentiment"
        path = save_checkpoint(language_model, tmp_path / "posing.ckpt")
    finally:
        module.TASK = real
    with pytest.raises(CheckpointError, match="cannot be used"):
        load_sentiment_checkpoint(path)


# -- predictions -------------------------------------------------------------------------------

@pytest.mark.parametrize("bidirectional, pooling", [(False, "last"), (True, "last"), (False, "concat")])
def test_explain_gives_the_probability_of_each_prefix(prepared, bidirectional, pooling, monkeypatch):
    from rnntui.sentiment import predict

    trainer, _ = trained(prepared, epochs=8, bidirectional=bidirectional, pooling=pooling)
    predictor = Predictor(trainer.model, prepared.vocab)
    text = made_up_review(random.Random(5), True) + " zzyzx"
    effects = predictor.explain(text)
    words = [effect.word for effect in effects]
    assert abs(effects[-1].probability - predictor.predict(text).probability) < 1e-5
    for end in (1, 3, len(words) - 1):
        assert abs(effects[end - 1].probability - predictor.predict(" ".join(words[:end])).probability) < 1e-5
    assert abs(sum(e.change for e in effects) - (effects[-1].probability - 0.5)) < 1e-5
    assert effects[-1].word == "zzyzx" and not effects[-1].known
    monkeypatch.setattr(predict, "PREFIX_BATCH", 3)  # prefixes across several batches: the same figures
    assert [e.probability for e in predictor.explain(text)] == pytest.approx([e.probability for e in effects],
                                                                              abs=1e-6)
    # Two reviews alike but for one word: the same effects before it, opposite pulls at it.
    loved, hated = predictor.explain("film plot loved scene"), predictor.explain("film plot hated scene")
    assert [e.probability for e in loved[:2]] == [e.probability for e in hated[:2]]
    assert loved[2].change > hated[2].change + 0.3 and hated[2].change < -0.1


def test_empty_and_unknown_reviews(prepared):
    trainer, _ = trained(prepared, epochs=1)
    predictor = Predictor(trainer.model, prepared.vocab)
    for text in ("", "   ", "<br />"):
        with pytest.raises(EmptyReview, match="empty"):
            predictor.predict(text)
    unknown = predictor.predict("qwerty asdfgh")
    assert unknown.unknown == unknown.words == 2 and "none of the review's 2 words" in unknown.note()
    assert predictor.predict("great film").note() is None


def test_a_long_review_is_judged_and_its_explanation_capped(prepared):
    from rnntui.sentiment import predict

    trainer, _ = trained(prepared, epochs=1, bidirectional=True)
    predictor = Predictor(trainer.model, prepared.vocab)
    text = " ".join(["film"] * (predict.MAX_EXPLAINED_WORDS + 50))
    assert predictor.predict(text).words == predict.MAX_EXPLAINED_WORDS + 50
    assert len(predictor.explain(text)) == predict.MAX_EXPLAINED_WORDS


@pytest.mark.parametrize("pooling", ["last", "concat"])
def test_the_model_reads_padded_batches_as_single_reviews(prepared, pooling):
    model = SentimentRNN(SentimentConfig(len(prepared.vocab), **SMALL, bidirectional=True, pooling=pooling)).eval()
    predictor = Predictor(model, prepared.vocab)
    texts = ["great film", "an awful boring film with a bad plot"]
    from rnntui.sentiment.model import pad_batch

    ids, lengths = pad_batch([prepared.vocab.encode(t) for t in texts])
    with torch.no_grad():
        together = torch.sigmoid(model(ids, lengths)).tolist()
    assert together == pytest.approx([predictor.predict(t).probability for t in texts], abs=1e-6)
    assert model.fc1.in_features == 16 * 2 * (3 if pooling == "concat" else 1)


def test_naive_bayes_embedding_starts_from_each_words_leaning(prepared):
    from rnntui.sentiment.trainer import log_count_ratios

    ratios = log_count_ratios(prepared.train, len(prepared.vocab))
    index = prepared.vocab.index
    assert ratios[index["loved"]] > 1 and ratios[index["hated"]] < -1 and abs(ratios[index["film"]]) < 0.5
    assert ratios[0] == 0
    config = SentimentTrainConfig(init_embedding="nb")
    model = new_trainer(prepared, config, **SMALL).model
    assert torch.equal(model.embedding.weight[:, 0], ratios)
    random_start = new_trainer(prepared, SentimentTrainConfig(), **SMALL).model
    assert torch.equal(random_start.embedding.weight[:, 1:], model.embedding.weight[:, 1:])  # same seed otherwise
    with pytest.raises(Exception, match="--init-embedding must be one of random, nb, ppmi, ppmi\\+nb"):
        SentimentTrainConfig(init_embedding="glove").validate()


def test_word_dropout_drops_embedded_words_in_training_only(prepared):
    from rnntui.sentiment.model import SentimentRNN, pad_batch

    torch.manual_seed(0)
    plain = SentimentRNN(SentimentConfig(len(prepared.vocab), **SMALL))
    dropped = SentimentRNN(SentimentConfig(len(prepared.vocab), **SMALL, word_dropout=0.5))
    dropped.load_state_dict(plain.state_dict())
    ids, lengths = pad_batch(prepared.train.ids[:8])
    plain.eval(), dropped.eval()
    assert torch.equal(plain(ids, lengths), dropped(ids, lengths))  # judging: no dropout
    plain.train(), dropped.train()
    assert torch.equal(plain(ids, lengths), plain(ids, lengths))  # no dropout anywhere in plain
    assert not torch.allclose(plain(ids, lengths), dropped(ids, lengths))
    trainer, _ = trained(prepared, epochs=2, word_dropout=0.3)
    assert trainer.model.config.word_dropout == 0.3 and trainer.history.best()[1] >= 0.6
