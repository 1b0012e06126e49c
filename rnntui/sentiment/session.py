"""The state behind the app's reviews mode: the sentiment model that judges reviews, and maybe a
trainer making a new one (what rnntui.charlm.session.Session is for the chat's language model).

The app drives this from worker threads; nothing here knows about the UI. Every method that
reads or replaces the model takes ``lock``, so judging and saving see a consistent model even
while a training thread steps it.
"""

from __future__ import annotations

import threading
from pathlib import Path

from rnntui.core.errors import RnntuiError
from rnntui.core.files import output_target, same_file
from rnntui.core.history import History
from rnntui.core.info import counted
from rnntui.core.paths import bundled_sentiment_model_path
from rnntui.core.provenance import kept_starts
from rnntui.core.save import save_checkpoint_safely
from rnntui.sentiment.build import (
    Prepared,
    held_out_reviews,
    new_checkpoint_path,
    new_trainer,
    prepare,
    resume_trainer,
    resumed_config,
    trainer_checkpoint,
)
from rnntui.sentiment.checkpoint import SentimentCheckpoint, load_sentiment_checkpoint, save_sentiment_checkpoint
from rnntui.sentiment.dataset import cached_dataset_path, ensure_dataset, load_reviews
from rnntui.sentiment.predict import Predictor
from rnntui.sentiment.reviews import Reviews
from rnntui.sentiment.trainer import CLASSIFIER_CURVES, Encoded, SentimentTrainConfig, SentimentTrainer


class ReviewSession:
    """``data``: the reviews to train on (a tarball or an ``aclImdb/`` folder; default: the
    cached dataset, downloaded on first use); ``train_config`` and ``model_settings``: a new
    model's (the book's by default)."""

    def __init__(self, data: Path | None = None, train_config: SentimentTrainConfig | None = None,
                 model_settings: dict | None = None) -> None:
        self.lock = threading.RLock()
        self.data = data
        self.base_config = train_config or SentimentTrainConfig()
        self.model_settings = model_settings or {}
        self.checkpoint: SentimentCheckpoint | None = None
        self.path: Path | None = None  # the file the model came from (or was last saved to)
        self.name = "no model"
        self.trainer: SentimentTrainer | None = None
        self.prepared: Prepared | None = None
        self.saved_step = 0
        self.note: str | None = None  # said once, when training starts
        self.started_new = False  # the trainer is a new model's, not the open model's resumed
        self.from_lm: Path | None = None  # a new model starts from this language model of reviews
        self.provenance: dict = {}  # what the model in training records of how it was started

    # -- the model ----------------------------------------------------------------------------
    def open(self, path: Path | None = None) -> Predictor:
        """Read ``path`` (default: the bundled model); the current model and its trainer stay
        until it has been read and checked."""
        path = bundled_sentiment_model_path() if path is None else Path(path)
        checkpoint = load_sentiment_checkpoint(path)
        predictor = Predictor(checkpoint.build_model(), checkpoint.vocab)
        with self.lock:
            self.checkpoint, self.path, self.name = checkpoint, path, path.name
            self.trainer, self.prepared, self.started_new = None, None, False
            # Kept by a resumed run's saves, as the command line's --resume keeps it.
            self.provenance = kept_starts(checkpoint.provenance)
            self.saved_step = checkpoint.step
        return predictor

    @property
    def step(self) -> int:
        with self.lock:
            if self.trainer is not None:
                return self.trainer.step
            return self.checkpoint.step if self.checkpoint is not None else 0

    @property
    def unsaved_steps(self) -> int:
        with self.lock:
            return self.trainer.step - self.saved_step if self.trainer is not None else 0

    @property
    def history(self) -> History:
        with self.lock:
            if self.trainer is not None:
                return self.trainer.history
            return History.from_dict(self.checkpoint.history if self.checkpoint else None, CLASSIFIER_CURVES)

    @property
    def elapsed(self) -> float:
        with self.lock:
            if self.trainer is not None:
                return self.trainer.elapsed
            return self.checkpoint.elapsed if self.checkpoint is not None else 0.0

    def predictor(self) -> Predictor:
        """A predictor over a copy of the current weights (the trainer's, while one exists)."""
        with self.lock:
            if self.trainer is None:
                return Predictor(self.checkpoint.build_model(), self.checkpoint.vocab)
            model = type(self.trainer.model)(self.trainer.model.config)
            with self.trainer.lock:
                model.load_state_dict(self.trainer.snapshot())
            return Predictor(model, self.prepared.vocab)

    def held_out(self) -> tuple[Predictor, Encoded] | None:
        """The current model (a copy) and the validation reviews its training held out, or None
        when no reviews are at hand (none given and none cached: reading them never downloads)."""
        with self.lock:
            if self.trainer is not None:
                return self.predictor(), self.prepared.valid
            checkpoint = self.checkpoint
            data = self.data if self.data is not None else cached_dataset_path()
        if not Path(data).exists():
            return None
        reviews, _ = load_reviews(data)
        return Predictor(checkpoint.build_model(), checkpoint.vocab), held_out_reviews(reviews, checkpoint)

    # -- training -----------------------------------------------------------------------------
    def needs_download(self) -> bool:
        return self.trainer is None and self.data is None and not cached_dataset_path().is_file()

    @staticmethod
    def fetch_training_text(progress) -> None:
        ensure_dataset(progress)

    def training_text_name(self) -> str | None:
        with self.lock:
            return self.prepared.data["name"] if self.prepared is not None else None

    @staticmethod
    def training_device() -> str:
        return "cpu (fp32)"  # the review trainer runs on the CPU, as the book's model is small

    def take_corpus_note(self) -> str | None:
        note, self.note = self.note, None
        return note

    @property
    def starts_new_model(self) -> bool:
        """Training would start a new model: none trains yet, and the open one cannot resume (the
        bundled one, saved without its optimizer state)."""
        with self.lock:
            return self.trainer is None and (self.checkpoint is None or self.checkpoint.optimizer_state is None)

    def ensure_trainer(self) -> SentimentTrainer:
        """The trainer, built on first use: the open model resumed where it stopped, or, for a
        model saved without its optimizer state (the bundled one), a new model of the book's
        size, saved to a new file."""
        with self.lock:
            if self.trainer is not None:
                return self.trainer
            checkpoint = self.checkpoint
        reviews, name = load_reviews(self.data)
        if checkpoint is not None and checkpoint.optimizer_state is not None:
            config = resumed_config(checkpoint)
            config.validate()
            prepared = prepare(reviews, config, name, vocab=checkpoint.vocab)
            trainer = resume_trainer(checkpoint, prepared, config)
            if trainer.step >= trainer.total_steps:
                raise RnntuiError(f"{self.name} has trained its {counted(config.epochs, 'epoch')}; rnntui "
                                  f"sentiment train --resume {self.path} --epochs N trains it further")
            path, new = self.path, False
        elif self.from_lm is not None:
            trainer, prepared = self.lm_started_trainer(reviews, name)
            path, new = new_checkpoint_path(trainer.model.config), True
        else:
            config = SentimentTrainConfig(**self.base_config.to_dict())
            config.validate()
            prepared = prepare(reviews, config, name)
            trainer = new_trainer(prepared, config, **self.model_settings)
            path, new = new_checkpoint_path(trainer.model.config), True
            self.provenance = {}  # a new model from random weights: the open model's start is not its
            if checkpoint is not None:
                self.note = (f"{self.name} has no optimizer state (it was saved for shipping, or averaged from "
                             "several runs), so it cannot train on: training starts a new model")
        with self.lock:
            self.trainer, self.prepared, self.started_new = trainer, prepared, new
            self.path, self.name = path, path.name
            self.saved_step = trainer.step  # a new model at 0, a resumed one where its file is
        return trainer

    def lm_started_trainer(self, reviews: Reviews, name: str) -> tuple[SentimentTrainer, Prepared]:
        """A new model started from the language model ``from_lm``, fine-tuned as validation chose
        (rnntui.sentiment.from_lm's recipe; the given settings other than the sizes apply too)."""
        from rnntui.sentiment.from_lm import RECIPE_MODEL, RECIPE_TRAINING, classifier_settings, lm_trainer
        from rnntui.sentiment.pretrain.checkpoint import load_lm_checkpoint

        lm = load_lm_checkpoint(self.from_lm)
        config = SentimentTrainConfig(**{**self.base_config.to_dict(), **RECIPE_TRAINING, "max_words": 0,
                                         "init_embedding": "random"})
        config.validate()
        sizes = ("embed_dim", "hidden_size", "cell", "bidirectional")
        settings = {**{k: v for k, v in self.model_settings.items() if k not in sizes}, **RECIPE_MODEL}
        settings = classifier_settings(lm, self.from_lm, config, settings)
        prepared = prepare(reviews, config, name, vocab=lm.vocab)
        trainer, provenance = lm_trainer(lm, self.from_lm, prepared, config, settings)
        self.provenance = {"from_lm": provenance}
        return trainer, prepared

    def describe_model(self) -> str:
        """The model in training (or the one open), in a few words: its layers and sizes."""
        with self.lock:
            config = self.trainer.model.config if self.trainer is not None else self.checkpoint.model_config
        return config.describe()

    def change_settings(self, **changes) -> None:
        raise RnntuiError("the reviews' training settings are rnntui sentiment train's flags; train there and "
                          "open the result with ctrl+o")

    def save(self, path: Path | None = None) -> Path:
        """Save the model in training to its file: only ever a file this session wrote (or the
        checkpoint it was opened from), never while another rnntui run holds its lock."""
        with self.lock:
            if self.trainer is None:
                raise RnntuiError("nothing to save: this model has not trained here")
            path = self.path if path is None else path
            checkpoint = trainer_checkpoint(self.trainer, self.prepared,
                                            {"command": "rnntui (the app's reviews)", **self.provenance})
            step = checkpoint.step
        path = save_checkpoint_safely(path, lambda target: save_sentiment_checkpoint(checkpoint, target),
                                      same_file(output_target(Path(path)), self.path))
        with self.lock:
            self.saved_step = max(self.saved_step, step)
        return Path(path)
