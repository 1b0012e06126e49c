"""``rnntui sentiment train|evaluate|predict``: the movie-review model from the command line, with
the language model's safety: rnntui's own files only, a lock, a save however the run ends."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rnntui.cli.common import apply_threads, progress_bar, standard_input
from rnntui.cli.report import EpochReporter
from rnntui.cli.run import (
    Run,
    RunHooks,
    check_out_early,
    check_save_every,
    early_stop_note,
    epochs_run,
    provenance_writer,
    refuse_model_settings,
    run_provenance,
    start_run,
    train_run,
)
from rnntui.core.errors import RnntuiError
from rnntui.core.info import counted

MODEL_SETTINGS = ("cell", "bidirectional", "embed_dim", "hidden_size", "fc_hidden", "dropout", "word_dropout",
                  "pooling")
MAX_REVIEW_BYTES = 1 << 20


def load_sentiment_model(path: Path | None):
    """The checkpoint at ``path``, or the bundled sentiment model."""
    from rnntui.sentiment.checkpoint import load_sentiment_checkpoint

    if path is None:
        from rnntui.core.paths import bundled_sentiment_model_path

        path = bundled_sentiment_model_path()
        if not path.is_file():
            raise RnntuiError("no bundled sentiment model in this installation; pass --checkpoint PATH")
    return load_sentiment_checkpoint(path)


def reviews_from(data: Path | None, quiet: bool):
    """The dataset at ``--data``, or the cached copy (downloaded with a progress bar first); a
    failed download says how to give the dataset instead."""
    from rnntui.core.errors import DownloadError

    try:
        return _reviews_from(data, quiet)
    except DownloadError as error:
        raise DownloadError(f"{error}; if you have aclImdb_v1.tar.gz or its aclImdb/ folder, pass it with --data "
                            "PATH") from None


def _reviews_from(data: Path | None, quiet: bool):
    from rnntui.sentiment.dataset import load_reviews

    if data is not None or quiet or not sys.stderr.isatty():
        return load_reviews(data)
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    with Progress(*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(), transient=True) as bar:
        task = bar.add_task("IMDb movie reviews", total=None)
        return load_reviews(None, lambda done, total: bar.update(task, completed=done, total=total))


# -- train -------------------------------------------------------------------------------------

def cmd_train(args: argparse.Namespace, hooks: RunHooks | None = None) -> int:
    """``rnntui sentiment train``; ``hooks``: see cli/run.RunHooks."""
    hooks = hooks or RunHooks()
    apply_threads(args.threads)
    return start_run(args, lambda: plan_run(args),
                     lambda run: run_training(args, run, hooks.observers, hooks.to_stderr), hooks)


def plan_run(args: argparse.Namespace) -> Run | None:
    from rnntui.core.settings import check_model_flags, given
    from rnntui.sentiment.build import (
        NOT_RESUMABLE,
        new_checkpoint_path,
        new_trainer,
        prepare,
        resume_trainer,
        resumed_config,
    )
    from rnntui.sentiment.checkpoint import load_sentiment_checkpoint
    from rnntui.sentiment.config import SentimentTrainConfig
    from rnntui.sentiment.epochs import data_change_note, require_optimizer_state
    from rnntui.sentiment.model import SentimentConfig

    overrides = given(args, SentimentTrainConfig)
    model_settings = {name: getattr(args, name) for name in MODEL_SETTINGS if getattr(args, name) is not None}
    check_save_every(args)
    check_out_early(args)
    provenance = run_provenance()
    if args.resume is not None:
        if args.from_lm is not None:
            raise RnntuiError("--from-lm starts a new model from a language model: drop it when resuming")
        if args.unlabelled is not None:
            raise RnntuiError("--unlabelled only starts a new model's embedding: drop it when resuming")
        checkpoint = load_sentiment_checkpoint(args.resume)
        require_optimizer_state(checkpoint, NOT_RESUMABLE)  # before the reviews are read
        refuse_model_settings(model_settings)
        config = resumed_config(checkpoint, **overrides)
        config.validate()
        reviews, name = reviews_from(args.data, args.json)
        prepared = prepare(reviews, config, name, vocab=checkpoint.vocab)
        note = data_change_note(checkpoint.data, prepared.data, "review model")
        if note:
            print(f"rnntui: note: {note}", file=sys.stderr, flush=True)
        trainer = resume_trainer(checkpoint, prepared, config)
        out = args.out or args.resume
    else:
        config = SentimentTrainConfig(**{k: v for k, v in overrides.items() if v is not None})
        config.validate()
        lm = None
        if args.from_lm is not None:
            from rnntui.sentiment.from_lm import classifier_settings
            from rnntui.sentiment.pretrain.checkpoint import load_lm_checkpoint

            if args.unlabelled is not None:
                raise RnntuiError("--from-lm starts the embedding from the language model, which has read the "
                                  "unlabelled reviews: drop --unlabelled")
            lm = load_lm_checkpoint(args.from_lm)
            model_settings = classifier_settings(lm, args.from_lm, config, model_settings)
        check_model_flags(SentimentConfig, **model_settings)  # before the reviews are read
        ppmi = "ppmi" in config.embedding_starts
        if args.unlabelled is not None and not ppmi:
            raise RnntuiError("--unlabelled is read only to start the embedding: add --init-embedding ppmi "
                              "(or ppmi+nb)")
        reviews, name = reviews_from(args.data, args.json)
        unlabelled = None
        if ppmi:
            from rnntui.sentiment.dataset import load_unlabelled

            unlabelled = load_unlabelled(args.data, args.unlabelled)
        prepared = prepare(reviews, config, name, unlabelled=unlabelled, vocab=lm.vocab if lm else None)
        if lm is not None:
            from rnntui.sentiment.from_lm import lm_trainer

            trainer, provenance["from_lm"] = lm_trainer(lm, args.from_lm, prepared, config, model_settings)
        elif ppmi:
            trainer = ppmi_trainer(prepared, config, model_settings, args.json)
        else:
            trainer = new_trainer(prepared, config, **model_settings)
        out = args.out or new_checkpoint_path(trainer.model.config)
    return epochs_run(args, trainer, prepared, out, provenance, checkpoint.provenance if args.resume is not None
                      else None, test_reviews=reviews.test if args.test else None)


def ppmi_trainer(prepared, config, model_settings: dict, quiet: bool):
    """A new trainer whose embedding starts from co-occurrence vectors, saying on stderr what it
    reads (about 15 s for the whole dataset)."""
    from rnntui.sentiment.build import new_trainer

    started = time.perf_counter()
    extra = len(prepared.unlabelled)
    if not quiet:
        more = f" and {extra:,} unlabelled reviews" if extra else \
            " reviews (no unlabelled ones found: see --unlabelled)"
        print(f"starting the embedding from how words co-occur in {len(prepared.train):,} training{more}",
              file=sys.stderr)
    trainer = new_trainer(prepared, config, **model_settings)
    if not quiet:
        print(f"word vectors ready in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return trainer


def run_training(args: argparse.Namespace, run: Run, observers: tuple = (), to_stderr: bool = False) -> int:
    """Train ``run`` (see cli/run.train_run: ``observers``); ``to_stderr``: the progress goes to stderr."""
    from rnntui.sentiment.build import trainer_checkpoint
    from rnntui.sentiment.checkpoint import save_sentiment_checkpoint

    trainer = run.trainer
    write = provenance_writer(run, lambda provenance, path: save_sentiment_checkpoint(
        trainer_checkpoint(trainer, run.data, provenance), path))
    report = SentimentReporter(args, trainer, run.out, to_stderr)
    code = train_run(run, write, report, args.save_every, args.save_best, observers)
    if code is not None:
        return code
    if run.test_reviews is not None and (trainer.early_stopped or not trainer.stopping):  # not when interrupted
        record_test(args, run)
    if trainer.early_stopped:
        step, value = trainer.history.best()
        early_stop_note(args, run.out, f"no better validation accuracy in the last {trainer.config.patience} "
                        f"validations; the best was {value:.4f} at step {step:,}")
    return 2 if report.failed else 0


def record_test(args: argparse.Namespace, run: Run) -> None:
    """--test: the trained model's accuracy on the test reviews, printed and saved in the
    checkpoint's provenance (``rnntui info`` shows it)."""
    trainer = run.trainer
    loss, accuracy, count, _ = test_accuracy(trainer.model, run.test_reviews, run.data.vocab,
                                          trainer.config.max_tokens, quiet=args.json)
    run.provenance.update(test_accuracy=accuracy, test_loss=loss, test_reviews=count)
    run.file.save()
    if args.json:
        print(json.dumps({"test_accuracy": accuracy, "test_loss": loss, "reviews": count, "step": trainer.step}))
    else:
        print(f"test accuracy {accuracy:.4f}, loss {loss:.4f} on the {count:,} test reviews (step {trainer.step:,}); "
              f"recorded in {run.out}")


def test_accuracy(model, reviews: list, vocab, max_tokens: int, quiet: bool) -> tuple[float, float, int, float]:
    """``(loss, accuracy, reviews, unknown)`` of ``model`` on ``reviews`` (each cut to
    ``max_tokens`` words as in training; ``unknown``: the share of their words the vocabulary
    lacks), with a progress bar unless ``quiet``."""
    from rnntui.sentiment.trainer import encode, evaluate_reviews

    test = encode(reviews, vocab, max_tokens)
    if len(test) == 0:
        raise RnntuiError("the data has no test reviews to measure")
    with progress_bar("testing", enabled=not quiet, unit="reviews") as progress:
        loss, accuracy = evaluate_reviews(model, test, progress=progress)
    return loss, accuracy, len(test), vocab.unknown_share(test.ids)


class SentimentReporter(EpochReporter):
    """``rnntui train``'s reporter (bar, lines or JSON, the metrics file), for reviews."""

    def start_line(self) -> str:
        t = self.trainer
        model = t.model.config
        return (f"training {'bidirectional ' if model.bidirectional else ''}{model.cell} on {len(t.train):,} reviews "
                f"from step {t.step:,} to {t.total_steps:,} ({counted(t.config.epochs, 'epoch')} of "
                f"{counted(t.batches_per_epoch, 'step')}); checkpoint {self.out}")


# -- evaluate ----------------------------------------------------------------------------------

def cmd_evaluate(args: argparse.Namespace) -> int:
    apply_threads(args.threads)
    checkpoint = load_sentiment_model(args.checkpoint)
    reviews, name = reviews_from(args.data, args.json)
    max_tokens = (checkpoint.train_config or {}).get("max_tokens", 0)
    started = time.perf_counter()
    loss, accuracy, count, unknown = test_accuracy(checkpoint.build_model(), reviews.test, checkpoint.vocab,
                                                   max_tokens if isinstance(max_tokens, int) else 0, quiet=args.json)
    result = {"test_accuracy": accuracy, "test_loss": loss, "reviews": count, "data": name,
              "step": checkpoint.step, "seconds": round(time.perf_counter() - started, 2),
              "unknown_words": round(unknown, 4)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"test accuracy {accuracy:.4f}, loss {loss:.4f} on the {count:,} test reviews of {name} "
              f"(step {checkpoint.step:,}); {unknown:.1%} of their words are not in the model's vocabulary")
    return 0


# -- predict -----------------------------------------------------------------------------------

def review_text(args: argparse.Namespace) -> str:
    """The review from the argument, ``--file`` or standard input (``-``): one of them."""
    from rnntui.core.files import open_regular

    given = [source for source in (args.text, args.file) if source is not None]
    if len(given) != 1:
        raise RnntuiError("give the review as text, with --file F, or - to read standard input (one of them)")
    if args.file is not None:
        with open_regular(args.file, "review", RnntuiError) as f:
            data = f.read(MAX_REVIEW_BYTES + 1)
        where = str(args.file)
    elif args.text == "-":
        stdin = standard_input("- reads the review from it: give the review as text or with --file F")
        data = stdin.buffer.read(MAX_REVIEW_BYTES + 1)
        where = "standard input"
    else:
        return args.text
    if len(data) > MAX_REVIEW_BYTES:
        raise RnntuiError(f"the review in {where} is over 1 MB: that is not a review")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RnntuiError(f"{where} is not UTF-8 text (byte {error.start:,} is not); save it as UTF-8") from None


def cmd_predict(args: argparse.Namespace) -> int:
    from rnntui.sentiment.predict import Predictor

    apply_threads(args.threads)
    text = review_text(args)
    checkpoint = load_sentiment_model(args.checkpoint)
    predictor = Predictor(checkpoint.build_model(), checkpoint.vocab)
    prediction = predictor.predict(text)
    note = prediction.note()
    result = {"probability_positive": prediction.probability, "label": prediction.label,
              "words": prediction.words, "unknown_words": prediction.unknown}
    effects = predictor.explain(text) if args.explain else None
    if args.json:
        if effects is not None:
            result["explain"] = [{"word": e.word, "known": e.known, "probability": round(e.probability, 5),
                                  "change": round(e.change, 5)} for e in effects]
        if note:
            result["note"] = note
        print(json.dumps(result))
        return 0
    if effects is not None:
        for effect in effects:
            mark = "" if effect.known else "  (unknown word)"
            print(f"{effect.probability:6.3f}  {effect.change:+.3f}  {effect.word}{mark}")
        if len(effects) < prediction.words:
            print(f"(the first {len(effects):,} of {prediction.words:,} words are explained)")
    print(f"{prediction.label}: P(positive) = {prediction.probability:.3f}")
    if note:
        print(f"rnntui: note: {note}", file=sys.stderr)
    return 0
