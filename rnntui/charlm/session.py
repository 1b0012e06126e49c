"""The state behind an interactive session: one model, its loss history, and maybe a trainer.

The app drives this from worker threads; nothing here knows about the UI. Every method that
touches the model takes ``lock``, so loading, saving and sampling see a consistent model even
while a training thread steps it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from rnntui.charlm.build import (
    CHANGEABLE_ON_RESUME,
    corpus_change_note,
    finetune_provenance,
    finetune_trainer,
    new_trainer,
    recorded_corpus_path,
    recorded_encoding,
    resume_trainer,
    resumed_config,
    trainer_checkpoint,
    training_ids_at_hand,
    with_model_changes,
)
from rnntui.charlm.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from rnntui.charlm.corpus import Corpus, example_seed, load_corpus, looks_hard_wrapped
from rnntui.charlm.evaluate import held_out_tail
from rnntui.charlm.info import checkpoint_info
from rnntui.charlm.model import CharRNN
from rnntui.charlm.sampling import Sampler
from rnntui.charlm.trainer import TrainConfig, Trainer, learning_rate
from rnntui.charlm.views import HeldOut, ModelInfo
from rnntui.charlm.vocab import Vocab
from rnntui.core.errors import RnntuiError
from rnntui.core.files import same_file
from rnntui.core.history import History
from rnntui.core.paths import bundled_model_path, checkpoints_dir, default_corpus_path
from rnntui.core.save import save_checkpoint_safely
from rnntui.core.settings import live_settings

# The app trains until it is paused; this is "for ever" for a person watching.
OPEN_ENDED_STEPS = 10**9
# What a person may change between two steps in the app: `rnntui train`'s flags of these names.
TRAIN_SETTINGS = live_settings(TrainConfig)
MODEL_SETTINGS = CHANGEABLE_ON_RESUME


class Session:
    def __init__(self, train_config: TrainConfig | None = None, model_options: dict | None = None) -> None:
        self.lock = threading.RLock()
        self.model_options = model_options or {}  # sizes for fresh models (the book's by default)
        self.base_config = train_config or TrainConfig(eval_every=50)
        self.checkpoint: Checkpoint | None = None
        self.model: CharRNN | None = None
        self.corpus: Corpus | None = None
        self.corpus_path: Path | None = None
        self.trainer: Trainer | None = None
        self.name = "untrained"
        self.path: Path | None = None
        self.history = History()
        self.saved_step = 0
        self.finetuned_from: dict | None = None  # what the current model was fine-tuned from
        self.save_to: Path | None = None  # where the person chose to save this model (save as)
        self.overrides: dict = {}  # training settings changed for this model (TRAIN_ and MODEL_SETTINGS)
        # Counts the models installed: a save that ends after another model came in (a save is
        # written outside the lock) must not mark that model as saved, or give it its file.
        self.generation = 0
        # Said once when training starts on a text edited since the model was saved (session.corpus_change_note).
        self.corpus_note: str | None = None
        self.encoding: str | None = None  # how the text the app was given is read (--encoding)
        self._dynamic_statistics: tuple | None = None  # ((generation, step), statistics) for replies that adapt

    # -- loading ----------------------------------------------------------------------------
    def open(self, checkpoint: Path | None = None, corpus: Path | None = None, finetune: bool = False,
             encoding: str | None = None) -> ModelInfo:
        """Start from a checkpoint, a fresh model for ``corpus``, or the bundled model; with
        ``finetune``, a new run on ``corpus`` from the checkpoint's (or bundled model's) weights.
        ``encoding``: how ``corpus`` is read, when it is not UTF-8."""
        self.encoding = encoding
        if finetune and corpus is not None:
            self.load(checkpoint if checkpoint is not None else self._bundled())
            return self.finetune(Path(corpus), load_corpus(corpus, encoding))
        if checkpoint is not None:
            if corpus is not None:
                self.corpus_path = Path(corpus)
            return self.load(checkpoint)
        if corpus is not None:
            text = load_corpus(corpus, encoding)
            if self._is_the_bundled_models_book(text):
                # A copy of the book the bundled model was trained on (offline, say): continue
                # and evaluate that model on it rather than start an untrained one.
                self.corpus_path = Path(corpus)
                return self.load(self._bundled())
            return self.fresh(corpus, text)
        return self.load(self._bundled())

    @staticmethod
    def _is_the_bundled_models_book(corpus: Corpus) -> bool:
        from rnntui.core.checkpoint import read_header

        bundled = bundled_model_path()
        if not bundled.is_file():
            return False
        return corpus.sha256 == ((read_header(bundled)[0].get("corpus") or {}).get("sha256"))

    @staticmethod
    def _bundled() -> Path:
        bundled = bundled_model_path()
        if not bundled.is_file():
            raise RnntuiError("no bundled model in this installation; start with --corpus PATH")
        return bundled

    def load(self, path: Path) -> ModelInfo:
        """Replace the model and its loss history with a checkpoint's (training must be stopped)."""
        return self.install(*self.read(path), path)

    @staticmethod
    def read(path: Path) -> tuple[Checkpoint, CharRNN]:
        """Load and check a checkpoint without touching the current model."""
        checkpoint = load_checkpoint(path)
        return checkpoint, checkpoint.build_model()

    def install(self, checkpoint: Checkpoint, model: CharRNN, path: Path) -> ModelInfo:
        with self.lock:
            self.generation += 1
            self.checkpoint, self.model, self.trainer = checkpoint, model, None
            self.overrides = {}  # settings changed for the previous model are its own
            self.path = Path(path)
            self.name = Path(path).name
            self.save_to = None
            self.history = History.from_dict(checkpoint.history)
            self.saved_step = checkpoint.step
            self.finetuned_from = (checkpoint.provenance or {}).get("finetuned_from")
            if self.corpus is not None and self.corpus.vocab != checkpoint.vocab:
                # That text cannot train this model: training it falls back to its own corpus
                # (the book for the bundled model) instead of failing on the other text.
                self.corpus, self.corpus_path = None, None
            return self.info()

    def fresh(self, corpus_path: Path, corpus: Corpus | None = None) -> ModelInfo:
        """A new model of the book's size for ``corpus_path`` (``corpus``, if it is already
        read), ready to train."""
        corpus = corpus if corpus is not None else load_corpus(corpus_path)
        self.encoding = corpus.encoding
        # A new model starts from the book's settings, not the current model's changes.
        trainer = new_trainer(corpus, self._config(None, overrides={}), **self.model_options)
        return self._install_run(trainer, corpus, corpus_path, f"new model for {corpus.name}")

    def finetune(self, corpus_path: Path, corpus: Corpus | None = None) -> ModelInfo:
        """A new run on ``corpus_path`` that starts from the current model's weights, as they
        are now (``session.finetune_trainer``); the current model itself is left as it is."""
        corpus = corpus if corpus is not None else load_corpus(corpus_path)
        self.encoding = corpus.encoding
        with self.lock:
            if self.trainer is not None:
                base = trainer_checkpoint(self.trainer, self.corpus)
            else:
                base = self.checkpoint
            base_name = self.name
            config = self._config(None, overrides={})  # a new run starts from the book's settings
        trainer, corpus = finetune_trainer(base, corpus, config)
        return self._install_run(trainer, corpus, corpus_path, f"{Path(base_name).stem} fine-tuned on {corpus.name}",
                                 finetuned_from=finetune_provenance(base, Path(base_name)))

    def _install_run(self, trainer: Trainer, corpus: Corpus, corpus_path: Path, name: str,
                     finetuned_from: dict | None = None) -> ModelInfo:
        """Make a new, unsaved run (fresh or fine-tuned) the current model."""
        with self.lock:
            self.generation += 1
            self.overrides = {}
            self.corpus, self.corpus_path = corpus, Path(corpus_path)
            self.trainer, self.model, self.checkpoint = trainer, trainer.model, None
            self.history = trainer.history
            self.name = name
            self.path = self.save_to = None
            self.saved_step = 0
            self.finetuned_from = finetuned_from
            return self.info()

    def _config(self, checkpoint: Checkpoint | None = None, overrides: dict | None = None) -> TrainConfig:
        """The settings to train with: ``checkpoint``'s (else the base ones), with this model's
        changes (``overrides``, default ``self.overrides``)."""
        overrides = self.overrides if overrides is None else overrides
        changes = {k: v for k, v in overrides.items() if k in TRAIN_SETTINGS}
        if checkpoint is None:
            config = TrainConfig(**self.base_config.to_dict())
            config.steps = OPEN_ENDED_STEPS
            return replace(config, **changes)
        # The app trains open-ended, while you watch: a run's --patience does not carry over.
        return resumed_config(checkpoint, steps=OPEN_ENDED_STEPS, device=self.base_config.device,
                              eval_every=self.base_config.eval_every, patience=0, **changes)

    def _build_trainer(self, checkpoint: Checkpoint, corpus: Corpus) -> Trainer:
        checkpoint = with_model_changes(checkpoint, self.overrides)
        return resume_trainer(checkpoint, corpus, self._config(checkpoint))

    def settings(self) -> dict:
        """The training settings the next step uses (TRAIN_ and MODEL_SETTINGS)."""
        with self.lock:
            config = self.trainer.config if self.trainer is not None else self._config(self.checkpoint)
            current = {k: getattr(config, k) for k in TRAIN_SETTINGS}
            current["lr"] = learning_rate(config, self.step)  # the rate now, wherever the schedule is
            current.update({k: getattr(self.model.config, k) for k in MODEL_SETTINGS})
            return {**current, **{k: v for k, v in self.overrides.items() if k in MODEL_SETTINGS}}

    def change_settings(self, **changes) -> None:
        """Train with new settings from the next step on (training must be stopped). The
        trainer is rebuilt from the current weights, optimizer state and step, as ``rnntui train
        --resume`` with those flags would; settings that do not fit raise and change nothing.
        A new ``lr`` is the rate from now on: it ends the run's decay schedule."""
        unknown = set(changes) - set(TRAIN_SETTINGS) - set(MODEL_SETTINGS)
        if unknown:
            raise RnntuiError(f"not a training setting: {', '.join(sorted(unknown))}")
        if "lr" in changes:
            changes = {**changes, "lr_decay_steps": 0}
        with self.lock:
            previous = dict(self.overrides)
            self.overrides.update(changes)
            try:
                if self.trainer is None:  # checked now; the trainer is built by the next ensure_trainer
                    self._config(self.checkpoint).validate()
                    with_model_changes(self.checkpoint, self.overrides)
                    return
                state = trainer_checkpoint(self.trainer, self.corpus)
                trainer = self._build_trainer(state, self.corpus)
            except RnntuiError:
                self.overrides = previous
                raise
            self.checkpoint, self.trainer, self.model = state, trainer, trainer.model
            self.history = trainer.history

    def info(self) -> ModelInfo:
        with self.lock:
            config = self.model.config
            device = str(self.trainer.device) if self.trainer else "cpu"
            if self.corpus is not None:
                corpus = self.corpus.name
            elif self.checkpoint is not None:
                corpus = (self.checkpoint.corpus or {}).get("name")
            else:
                corpus = None
            book = corpus in (None, default_corpus_path().name)
            ids = self.corpus.ids if self.corpus is not None else None
            # The start of the text it trains on, decoded once for both a seed to suggest and how
            # replies show line breaks; a loaded model's wrapping is judged from its recorded file.
            # The book's models, and a model whose text is not at hand, keep the book's ways.
            head = None if book or ids is None else self.vocab.decode(ids[:100_000])
            judged = head if head is not None or book else self._recorded_head()
            wrapped = True if judged is None else looks_hard_wrapped(judged)
            return ModelInfo(self.name, self.step, device, config.cell, config.hidden_size,
                             config.vocab_size, corpus, example_seed(self.vocab, head, book), wrapped)

    def _recorded_head(self) -> str | None:
        """The first 100,000 bytes of the text the loaded model was trained on, if that file is
        still there (None otherwise)."""
        from rnntui.core.files import open_regular

        path = ((self.checkpoint.corpus if self.checkpoint is not None else None) or {}).get("path")
        try:
            with open_regular(Path(path), "corpus") as f:
                head = f.read(100_000).decode(recorded_encoding(self.checkpoint) or "utf-8", errors="replace")
        except (RnntuiError, OSError, TypeError, LookupError):
            return None
        return head.replace("\r\n", "\n")

    @property
    def step(self) -> int:
        if self.trainer is not None:
            return self.trainer.step
        return self.checkpoint.step if self.checkpoint else 0

    @property
    def vocab(self) -> Vocab:
        """The model's vocabulary (a fresh model's is its corpus's)."""
        with self.lock:
            return self.checkpoint.vocab if self.checkpoint is not None else self.corpus.vocab

    @property
    def unsaved_steps(self) -> int:
        return self.step - self.saved_step

    # -- training ---------------------------------------------------------------------------
    def ensure_trainer(self, corpus_path: Path | None = None) -> Trainer:
        """The trainer, built on first use; the corpus defaults to the one the app was given,
        else to the default book (which must already be downloaded: see ``needs_download``)."""
        with self.lock:
            if self.trainer is not None:
                return self.trainer
            path = corpus_path or self.training_corpus_path()
            if path is None:
                from rnntui.charlm.book import ensure_default_corpus

                path = ensure_default_corpus()
            corpus = self.corpus if self.corpus is not None else load_corpus(path, self._encoding_of(path),
                                                                              vocab=self.checkpoint.vocab)
            trainer = self._build_trainer(self.checkpoint, corpus)
            self.corpus_note = corpus_change_note(self.checkpoint, corpus)
            self.corpus, self.corpus_path, self.trainer = corpus, Path(path), trainer
            self.model = trainer.model
            self.history = trainer.history
            return trainer

    def _encoding_of(self, path: Path) -> str | None:
        """How to read ``path``: as the person said for the text they gave, else as the model's
        record says its text was read."""
        if self.encoding and self.corpus_path is not None and same_file(path, self.corpus_path):
            return self.encoding
        return recorded_encoding(self.checkpoint)

    def training_corpus_path(self) -> Path | None:
        """The text training uses: the one the app was given, else the one the model was
        trained on (if it is still there); None for the default book."""
        if self.corpus_path is not None or self.checkpoint is None:
            return self.corpus_path
        return recorded_corpus_path(self.checkpoint)

    def needs_download(self) -> bool:
        return (self.trainer is None and self.training_corpus_path() is None
                and not default_corpus_path().is_file())

    @staticmethod
    def fetch_training_text(progress) -> None:
        """Download the book training uses when no text is given (``progress(done, total)``)."""
        from rnntui.charlm.book import ensure_default_corpus

        ensure_default_corpus(progress)

    def training_text_name(self) -> str | None:
        """The name of the text the trainer reads (for the loss panel's title)."""
        return getattr(self.corpus, "name", None)

    def training_device(self) -> str:
        """Where and in what precision the trainer runs, for the loss panel."""
        return f"{self.trainer.device} ({self.trainer.precision})"

    def take_corpus_note(self) -> str | None:
        """What to know about the text the trainer was built on (it changed since the model was
        saved), said once."""
        note, self.corpus_note = self.corpus_note, None
        return note

    # -- sampling and saving ----------------------------------------------------------------
    def sampler(self, scale_factor: float, random_seed: int | None = None, candidates: int = 5,
                top_k: int = 0, top_p: float = 1.0, adapt_to: str | None = None) -> Sampler:
        """A sampler over a consistent copy of the current weights; with ``adapt_to``, over a
        copy that has first read that text learning from it (dynamic evaluation's update rule:
        ``dynamic.adapted_copy``), so that the reply continues it in its own style."""
        with self.lock:
            model, vocab = self._steady_model(), self.vocab
            key = (self.generation, self.step)
        if adapt_to is not None:
            from rnntui.charlm.dynamic import SEED_TEXT_CONFIG, adapted_copy

            config = SEED_TEXT_CONFIG
            ids = vocab.encode(adapt_to)
            model = adapted_copy(model, ids, config, self._statistics(key, model, config))
        return Sampler(model, vocab, scale_factor, random_seed, candidates, top_k, top_p)

    def _statistics(self, key: tuple, model: CharRNN, config) -> list | None:
        """The rms rule's gradient statistics for these weights, from the training text where it
        is at hand (None: the text being read gives them); kept until the weights change."""
        from rnntui.charlm.dynamic import gradient_statistics

        if self._dynamic_statistics is not None and self._dynamic_statistics[0] == key:
            return self._dynamic_statistics[1]
        train_ids = self._training_ids()
        statistics = None if train_ids is None else gradient_statistics(model, train_ids, config)
        self._dynamic_statistics = (key, statistics)
        return statistics

    def _training_ids(self) -> np.ndarray | None:
        """The training split of the text the model learns from, if it is at hand."""
        with self.lock:
            corpus = self.corpus
            fraction = self.trainer.config.val_fraction if self.trainer is not None else None
        if corpus is not None:
            return corpus.split(fraction if fraction is not None and 0.0 <= fraction < 1.0 else 0.1)[0]
        try:
            path = self.training_corpus_path()
        except RnntuiError:  # its text has gone: the statistics come from the text being read
            return None
        return training_ids_at_hand(self.checkpoint, path, self._encoding_of(path) if path else None, fraction)

    def _steady_model(self) -> CharRNN:
        """The current weights, in a model no training step changes: a copy while a trainer
        steps the model; the model itself otherwise (a trainer, once built, trains a model of
        its own). Call with the lock held."""
        if self.trainer is None:
            return self.model
        model = CharRNN(self.model.config)
        model.load_state_dict(self.trainer.snapshot())
        return model

    def held_out(self) -> HeldOut:
        """A consistent copy of the current weights and the held-out tail of the text they are
        judged on: the text it trains on, else the one it was trained on, else the book (which
        must already be downloaded). Raises RnntuiError saying which text is missing."""
        with self.lock:
            model = self._steady_model()
            step, vocab, corpus = self.step, self.vocab, self.corpus
            config = self.trainer.config if self.trainer is not None else self._config(self.checkpoint)
            path = self.training_corpus_path() if corpus is None else None
        if corpus is None:  # loaded outside the lock: a book takes a moment to read and encode
            if path is None:
                path = default_corpus_path()
                if not path.is_file():
                    raise RnntuiError("the model is judged on the held-out end of The Mysterious Island, "
                                      "which is not downloaded yet")
            corpus = load_corpus(path, self._encoding_of(path), vocab=vocab)
        fraction = config.val_fraction if 0.0 < config.val_fraction < 1.0 else 0.1
        return HeldOut(model, held_out_tail(corpus, fraction), fraction, corpus.name, step,
                       corpus.split(fraction)[0])

    def save(self, path: Path | None = None) -> Path:
        """Save the current state (resumable when a trainer exists) and return the file. A
        ``path`` given is where later saves of this model go too, as an editor's "save as"; the
        person has confirmed replacing it if it exists. Otherwise an existing file is replaced
        only if it is this model's own. Either way only an rnntui checkpoint is ever replaced,
        and never while another rnntui run holds its lock."""
        with self.lock:
            chosen = path is not None
            if path is None:
                path = self._default_save_path()
            own = chosen or same_file(path, self.path) or same_file(path, self.save_to)
            checkpoint = self._checkpoint_now()
            step, generation = checkpoint.step, self.generation
        hint = "" if own else "; save it under another name with f4"
        path = save_checkpoint_safely(path, lambda target: save_checkpoint(checkpoint, target), own, hint)
        with self.lock:
            if generation == self.generation:  # still the model that was saved
                self.saved_step = max(self.saved_step, step)  # two saves may end out of order
                self.path = Path(path)
                self.name = Path(path).name
                if chosen:
                    self.save_to = Path(path)
        return Path(path)

    def _checkpoint_now(self) -> Checkpoint:
        """The current state as a checkpoint: a copy while a trainer steps the model (call
        with the lock held)."""
        if self.trainer is None:
            return self.checkpoint
        provenance = {"command": "rnntui (app)"}
        if self.finetuned_from:
            provenance["finetuned_from"] = self.finetuned_from
        return trainer_checkpoint(self.trainer, self.corpus, provenance)

    def describe(self) -> dict:
        """``info.checkpoint_info`` of the current state, with its file only if that file
        holds this very state (nothing trained since it was written)."""
        with self.lock:
            checkpoint = self._checkpoint_now()
            path = self.path if self.unsaved_steps == 0 else None
        return checkpoint_info(checkpoint, path)

    def next_save_path(self) -> Path:
        """Where ctrl+s would save now: the file chosen with save as, the file the model was
        opened from or last saved to, or (for the bundled model and a new one) a new file in the
        data folder named after the text and the time."""
        with self.lock:
            return self._default_save_path()

    def _default_save_path(self) -> Path:
        if self.save_to is not None:
            return self.save_to
        folder = checkpoints_dir()
        if self.path is not None and not same_file(self.path, bundled_model_path()):
            # A model opened from a file saves back to it, as an editor does; the bundled model
            # lives in the package, and goes to the data folder.
            return self.path
        if self.corpus is not None:
            corpus = self.corpus.name
        else:  # a loaded model not trained here yet: the text it was trained on
            corpus = (self.checkpoint.corpus or {}).get("name") if self.checkpoint is not None else None
        stem = Path(corpus).stem if corpus else "model"
        return folder / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}.ckpt"
