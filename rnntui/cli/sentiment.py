"""``rnntui sentiment train|evaluate|predict``: the movie-review model from the command line, with
the language model's safety: rnntui's own files only, a lock, a save however the run ends."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rnntui.cli.common import apply_threads, progress_bar, standard_input
from rnntui.cli.report import Reporter
from rnntui.cli.train import RunFile, RunHooks, best_path, check_outputs, resumed_provenance, train_and_save
from rnntui.core.errors import RnntuiError

TRAIN_SETTINGS = ("epochs", "batch_size", "lr", "max_tokens", "max_words", "min_count", "eval_every",
                  "patience", "grad_clip", "random_seed", "init_embedding", "layer_lr_decay", "gradual_unfreezing")
MODEL_SETTINGS = ("cell", "bidirectional", "embed_dim", "hidden_size", "fc_hidden", "dropout", "pooling")
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

@dataclass
class SentimentRun:
    trainer: object
    prepared: object
    out: Path
    provenance: dict
    resumed: bool  # out is the file the run was resumed from
    may_replace: bool
    test_reviews: list | None = None  # --test: the reviews measured once training ends
    before: dict | None = None  # the resumed checkpoint's provenance: the runs before this one


def cmd_train(args: argparse.Namespace, hooks: RunHooks | None = None) -> int:
    """``rnntui sentiment train``; ``hooks``: see cli/train.RunHooks."""
    hooks = hooks or RunHooks()
    apply_threads(args.threads)
    if args.tensorboard is not None:
        from rnntui.core.tensorboard import require

        require()
    run = hooks.run = plan_run(args)
    if run is None:
        return 0
    run.provenance.update(hooks.provenance or {})
    from rnntui.core.files import check_writable
    from rnntui.core.lock import OutputLock

    check_writable(run.out, "; choose another file with --out PATH")
    with OutputLock(run.out, "; or choose another file with --out PATH") as lock:
        check_outputs(args, run, lock.acquired_at)
        return run_training(args, run, hooks.observers, hooks.to_stderr)


def run_provenance() -> dict:
    """How a run was made: its command line and the machine it ran on."""
    import os

    import torch

    from rnntui.core.device import cpu_name

    return {"command": "rnntui " + " ".join(sys.argv[1:]) if sys.argv[0].endswith("rnntui") else " ".join(sys.argv),
            "machine": f"{cpu_name()}, {torch.get_num_threads()} of {os.cpu_count()} cores, torch {torch.__version__}"}


def plan_run(args: argparse.Namespace) -> SentimentRun | None:
    from rnntui.core.files import output_target, same_file
    from rnntui.core.paths import checkpoints_dir
    from rnntui.sentiment.build import new_trainer, prepare, resume_trainer, resumed_config
    from rnntui.sentiment.checkpoint import load_sentiment_checkpoint
    from rnntui.sentiment.trainer import SentimentTrainConfig

    overrides = {name: getattr(args, name) for name in TRAIN_SETTINGS}
    model_settings = {name: getattr(args, name) for name in MODEL_SETTINGS if getattr(args, name) is not None}
    if args.save_every is not None and args.save_every < 0:
        raise RnntuiError(f"--save-every must be 0 or more, got {args.save_every}")
    provenance = run_provenance()
    if args.resume is not None:
        if args.from_lm is not None:
            raise RnntuiError("--from-lm starts a new model from a language model: drop it when resuming")
        if args.unlabelled is not None:
            raise RnntuiError("--unlabelled only starts a new model's embedding: drop it when resuming")
        checkpoint = load_sentiment_checkpoint(args.resume)
        if model_settings:
            flags = ", ".join("--" + name.replace("_", "-") for name in model_settings)
            raise RnntuiError(f"the model's settings are fixed once trained: drop {flags} when resuming")
        config = resumed_config(checkpoint, **overrides)
        config.validate()
        reviews, name = reviews_from(args.data, args.json)
        prepared = prepare(reviews, config, name, vocab=checkpoint.vocab)
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
        if ppmi:
            trainer = ppmi_trainer(prepared, config, model_settings, args.json)
        else:
            trainer = new_trainer(prepared, config, **model_settings)
        if lm is not None:
            from rnntui.sentiment.from_lm import copy_lm_layers, lm_provenance

            copy_lm_layers(trainer.model, lm)
            provenance["from_lm"] = lm_provenance(lm, args.from_lm)
        model = trainer.model.config
        kind = f"{'bi' if model.bidirectional else ''}{model.cell}{model.hidden_size}"
        out = args.out or checkpoints_dir() / f"imdb-{kind}-{time.strftime('%Y%m%d-%H%M%S')}.ckpt"
    out = output_target(Path(out))
    resumed = args.resume is not None and same_file(out, args.resume)
    if args.resume is not None and trainer.step >= trainer.total_steps:
        print(f"{args.resume} is already at epoch {trainer.step / trainer.batches_per_epoch:g}: nothing to train "
              "(--epochs is the total to train to)", file=sys.stderr if args.json else sys.stdout)
        return None
    return SentimentRun(trainer, prepared, out, provenance, resumed, may_replace=args.overwrite or resumed,
                        test_reviews=reviews.test if args.test else None,
                        before=checkpoint.provenance if args.resume is not None else None)


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


def run_training(args: argparse.Namespace, run: SentimentRun, observers: tuple = (), to_stderr: bool = False) -> int:
    """Train ``run`` (see cli/train.run_training: ``observers``, ``to_stderr``)."""
    from rnntui.sentiment.build import trainer_checkpoint
    from rnntui.sentiment.checkpoint import save_sentiment_checkpoint

    trainer, out = run.trainer, run.out
    started_wall = time.perf_counter()

    def write(path: Path) -> None:
        provenance = {**run.provenance, "wall_time_s": round(time.perf_counter() - started_wall, 1)}
        if run.before is not None:
            provenance = resumed_provenance(run.before, provenance)
        save_sentiment_checkpoint(trainer_checkpoint(trainer, run.prepared, provenance), path)

    saver = RunFile(trainer, out, write, run.resumed)
    report = SentimentReporter(args, trainer, out, to_stderr)

    def each(event) -> None:
        report.event(event)
        saver.after(event, args.save_every, args.save_best)
        for observe in observers:
            observe(event)

    code = train_and_save(trainer, report, saver, each)
    if code is not None:
        return code
    if run.test_reviews is not None and (trainer.early_stopped or not trainer.stopping):  # not when interrupted
        record_test(args, run, saver)
    if trainer.early_stopped:
        step, value = max(trainer.history.accuracy, key=lambda point: (point[1], -point[0]))
        where = f" ({best_path(out)})" if args.save_best else ""
        print(f"stopped early: no better validation accuracy in the last {trainer.config.patience} validations; "
              f"the best was {value:.4f} at step {step:,}{where}", file=sys.stderr if args.json else sys.stdout)
    return 2 if report.failed else 0


def record_test(args: argparse.Namespace, run: SentimentRun, saver: RunFile) -> None:
    """--test: the trained model's accuracy on the test reviews, printed and saved in the
    checkpoint's provenance (``rnntui info`` shows it)."""
    trainer = run.trainer
    loss, accuracy, count = test_accuracy(trainer.model, run.test_reviews, run.prepared.vocab,
                                          trainer.config.max_tokens, quiet=args.json)
    run.provenance.update(test_accuracy=accuracy, test_loss=loss, test_reviews=count)
    saver.save()
    if args.json:
        print(json.dumps({"test_accuracy": accuracy, "test_loss": loss, "reviews": count, "step": trainer.step}))
    else:
        print(f"test accuracy {accuracy:.4f}, loss {loss:.4f} on the {count:,} test reviews (step {trainer.step:,}); "
              f"recorded in {run.out}")


def test_accuracy(model, reviews: list, vocab, max_tokens: int, quiet: bool) -> tuple[float, float, int]:
    """``(loss, accuracy, reviews)`` of ``model`` on ``reviews`` (each cut to ``max_tokens``
    words as in training), with a progress bar unless ``quiet``."""
    from rnntui.sentiment.trainer import encode, evaluate_reviews

    test = encode(reviews, vocab, max_tokens)
    if len(test) == 0:
        raise RnntuiError("the data has no test reviews to measure")
    with progress_bar("testing", enabled=not quiet, unit="reviews") as progress:
        loss, accuracy = evaluate_reviews(model, test, progress=progress)
    return loss, accuracy, len(test)


class SentimentReporter(Reporter):
    """``rnntui train``'s reporter (bar, lines or JSON, the metrics file), for reviews."""

    def start_line(self) -> str:
        t = self.trainer
        model = t.model.config
        return (f"training {'bidirectional ' if model.bidirectional else ''}{model.cell} on {len(t.train):,} reviews "
                f"from step {t.step:,} to {t.total_steps:,} ({t.config.epochs} epochs of {t.batches_per_epoch:,} "
                f"steps); checkpoint {self.out}")

    def total_steps(self) -> int:
        return self.trainer.total_steps

    def event(self, e, sample: str | None = None) -> None:
        record = {"step": e.step, "epoch": round(e.epoch, 4), "train_loss": round(e.train_loss, 5),
                  "val_loss": None if e.val_loss is None else round(e.val_loss, 5),
                  "val_accuracy": None if e.val_accuracy is None else round(e.val_accuracy, 5),
                  "reviews_per_s": round(e.reviews_per_s, 1), "elapsed": round(e.elapsed, 3)}
        if e.val_accuracy is not None:
            self.last_val = e.val_accuracy
        if self.metrics is not None:
            self.write_metrics(record, flush=e.val_loss is not None)
        if self.args.json:
            self.say(json.dumps(record))
            return
        if self.bar is not None:
            val = f"  val acc {self.last_val:.4f}" if self.last_val is not None else ""
            self.bar.update(self.task, completed=e.step,
                            info=f"epoch {e.epoch:.2f}  loss {e.train_loss:.4f}{val}  {e.reviews_per_s:,.0f} reviews/s")
        elif e.step % max(self.args.log_every, 1) == 0 or e.val_loss is not None or e.step == e.total_steps:
            val = (f"  val_loss {e.val_loss:.4f}  val_accuracy {e.val_accuracy:.4f}" if e.val_loss is not None else "")
            self.say(f"step {e.step}/{e.total_steps}  epoch {e.epoch:.2f}  loss {e.train_loss:.4f}{val}  "
                     f"{e.reviews_per_s:,.0f} reviews/s  {e.elapsed:.1f}s")


# -- evaluate ----------------------------------------------------------------------------------

def cmd_evaluate(args: argparse.Namespace) -> int:
    apply_threads(args.threads)
    checkpoint = load_sentiment_model(args.checkpoint)
    reviews, name = reviews_from(args.data, args.json)
    max_tokens = (checkpoint.train_config or {}).get("max_tokens", 0)
    started = time.perf_counter()
    loss, accuracy, count = test_accuracy(checkpoint.build_model(), reviews.test, checkpoint.vocab,
                                          max_tokens if isinstance(max_tokens, int) else 0, quiet=args.json)
    result = {"test_accuracy": accuracy, "test_loss": loss, "reviews": count, "data": name,
              "step": checkpoint.step, "seconds": round(time.perf_counter() - started, 2)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"test accuracy {accuracy:.4f}, loss {loss:.4f} on the {count:,} test reviews of {name} "
              f"(step {checkpoint.step:,})")
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
