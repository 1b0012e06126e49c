"""A classifier started from a review language model (``rnntui sentiment train --from-lm``):
the language model's vocabulary, its embedding and its recurrent layer (each direction it read),
so that the classifier begins knowing how reviews go (Dai & Le 2015; Howard & Ruder 2018)."""

from __future__ import annotations

from pathlib import Path

import torch

from rnntui.core.errors import RnntuiError
from rnntui.core.settings import flag as setting_flag
from rnntui.sentiment.build import Prepared, new_trainer
from rnntui.sentiment.model import SentimentRNN
from rnntui.sentiment.pretrain.checkpoint import LMCheckpoint
from rnntui.sentiment.trainer import SentimentTrainConfig, SentimentTrainer

COPIED = ("embedding.", "rnn.")  # the language model's layers a classifier starts from
# The fine-tuning that validation chose for the bundled model (docs/sentiment-model.md), for a new
# model the app starts from a language model: every layer learning from the start at Adam's 0.001,
# the gradient norm clipped at 1, dropout 0.5 on concat pooling's summary and 0.3 on the embedded
# words, 8 epochs (its best validation came at 7.5, and later epochs only overfit).
RECIPE_TRAINING = {"lr": 0.001, "grad_clip": 1.0, "epochs": 8}
RECIPE_MODEL = {"pooling": "concat", "dropout": 0.5, "word_dropout": 0.3}
# A language model of the reviews trained on knows nearly all their words (all but the rarest,
# cut by --max-words); one that knows fewer than half learned the language of other text, and a
# classifier started from it would read mostly unknown words.
MIN_KNOWN_SHARE = 0.5


def classifier_settings(lm: LMCheckpoint, path: Path, config: SentimentTrainConfig, model_settings: dict) -> dict:
    """The model settings of a classifier started from ``lm`` (read from ``path``): its sizes,
    with the given classifier settings; a setting or vocabulary that contradicts it is one line."""
    sizes = {"embed_dim": lm.model_config.embed_dim, "hidden_size": lm.model_config.hidden_size, "cell": "lstm"}
    for name, value in sizes.items():
        if name in model_settings and model_settings[name] != value:
            flag = setting_flag(name)
            what = {"embed_dim": "embedding size", "hidden_size": "hidden size"}.get(name, name)
            raise RnntuiError(f"{flag} {model_settings[name]}: the language model in {path} has {value}, and a "
                              f"classifier started from it keeps its {what}; drop {flag}")
    words = len(lm.vocab) - 2  # after padding and the unknown word
    if config.max_words and config.max_words != words:
        raise RnntuiError(f"--max-words {config.max_words}: the language model in {path} knows {words:,} words, "
                          "and a classifier started from it reads its vocabulary; drop --max-words")
    if config.min_count > 1:
        raise RnntuiError(f"--min-count {config.min_count}: a classifier started from the language model in {path} "
                          "reads its vocabulary; drop --min-count")
    if config.init_embedding != "random":
        raise RnntuiError("--from-lm starts the embedding from the language model: drop --init-embedding")
    bidirectional = bool(model_settings.get("bidirectional")) or lm.model_config.bidirectional
    return {**model_settings, **sizes, "bidirectional": bidirectional}


def copy_lm_layers(model: SentimentRNN, lm: LMCheckpoint) -> list[str]:
    """Copy the language model's embedding and recurrent weights into ``model``; the names copied
    (a forward-only language model leaves a bidirectional classifier's backward direction as it was)."""
    state = model.state_dict()
    names = [name for name in lm.model_state if name.startswith(COPIED)]
    with torch.no_grad():
        for name in names:
            if name not in state or state[name].shape != lm.model_state[name].shape:
                raise RnntuiError(f"the language model's {name} does not fit the classifier")
            state[name].copy_(lm.model_state[name])  # the state dict's tensors are the model's weights
    return names


def check_lm_knows_the_reviews(path: Path, prepared: Prepared) -> None:
    """Refuse a language model (read from ``path``) that knows fewer than half of the words of the
    training reviews, ``prepared`` with its vocabulary: it learned another vocabulary."""
    known = 1 - prepared.vocab.unknown_share(prepared.train.ids)
    if known < MIN_KNOWN_SHARE:
        raise RnntuiError(f"the language model in {path} knows {known:.0%} of the words of the training "
                          f"reviews in {prepared.data.get('name', 'the data')}: it learned the language of other "
                          "text; pretrain one on these reviews (rnntui sentiment pretrain --data)")


def lm_provenance(lm: LMCheckpoint, path: Path) -> dict:
    """What the classifier records of the language model it started from: its whole path, which
    the app's ctrl+g finds it by wherever the app is started (scripts/bundle_sentiment_model.py
    keeps only the name of the bundled model's)."""
    return {"checkpoint": str(Path(path).absolute()), "step": lm.step, "val_loss": lm.best_val_loss(),
            "train_words": (lm.data or {}).get("train_words")}


def lm_trainer(lm: LMCheckpoint, path: Path, prepared: Prepared, config: SentimentTrainConfig,
               model_settings: dict) -> tuple[SentimentTrainer, dict]:
    """A new classifier's trainer started from ``lm`` (read from ``path``; ``prepared`` with its
    vocabulary, ``model_settings`` from ``classifier_settings``), and what its provenance records
    of the language model."""
    check_lm_knows_the_reviews(path, prepared)
    trainer = new_trainer(prepared, config, **model_settings)
    copy_lm_layers(trainer.model, lm)
    return trainer, lm_provenance(lm, path)
