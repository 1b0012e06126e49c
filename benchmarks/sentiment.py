"""The sentiment model's benchmark: training speed against the book's loop (same model, same
reviews, same run), what an epoch costs here, pretraining the review language model and
fine-tuning a classifier from it beside them, the bundled model's test accuracy against a
bag-of-words anchor measured on the same split, and the time to judge a 300-word review.

    python benchmarks/sentiment.py [--data aclImdb_v1.tar.gz] [--batches 150] [--out results.md]

Every figure is measured in this run, on this machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.sentiment_baselines import BookSentimentRNN, book_loader, book_train, unigram_baseline  # noqa: E402
from rnntui.core.device import cpu_name  # noqa: E402
from rnntui.core.paths import bundled_sentiment_model_path  # noqa: E402
from rnntui.sentiment.build import SPLIT_SEED, prepare  # noqa: E402
from rnntui.sentiment.checkpoint import load_sentiment_checkpoint  # noqa: E402
from rnntui.sentiment.model import SentimentConfig, SentimentRNN  # noqa: E402
from rnntui.sentiment.predict import Predictor  # noqa: E402
from rnntui.sentiment.reviews import read_reviews  # noqa: E402
from rnntui.sentiment.trainer import SentimentTrainConfig, SentimentTrainer, encode, evaluate_reviews  # noqa: E402

SHARED = ROOT.parent / "shared" / "datasets" / "aclImdb_v1-labelled.tar.gz"


def bench_training(reviews, batches: int) -> dict:
    """Reviews per second, rnntui's trainer (batches bucketed by length, reviews tokenized once)
    against the book's loop (shuffled batches tokenized and padded in collate_fn), on the book's
    model with the same weights, one after the other, twice each (the better run counts)."""
    config = SentimentTrainConfig(batch_size=32)
    started = time.perf_counter()
    prepared = prepare(reviews, config, "bench")
    encode_seconds = time.perf_counter() - started
    vocab = prepared.vocab
    from rnntui.sentiment.reviews import split_train_valid

    train, _ = split_train_valid(reviews.train, seed=SPLIT_SEED)
    pairs = [(review.label, review.text) for review in train]
    torch.manual_seed(0)
    initial = SentimentRNN(SentimentConfig(len(vocab))).state_dict()
    book_rates, rnntui_rates = [], []
    for _ in range(2):
        book = BookSentimentRNN(len(vocab))
        book.load_state_dict({k: v for k, v in initial.items()})
        begun = time.perf_counter()
        seen = book_train(book, book_loader(pairs, vocab), batches)
        book_rates.append(seen / (time.perf_counter() - begun))

        model = SentimentRNN(SentimentConfig(len(vocab)))
        model.load_state_dict(initial)
        trainer = SentimentTrainer(model, prepared.train, prepared.valid, SentimentTrainConfig(epochs=1))
        begun, seen = time.perf_counter(), 0
        for number, batch in enumerate(trainer.batches(0)):
            if number == batches:
                break
            trainer.train_step(batch)
            seen += len(batch)
        rnntui_rates.append(seen / (time.perf_counter() - begun))
    book_rate, rnntui_rate = max(book_rates), max(rnntui_rates)
    return {"book": book_rate, "rnntui": rnntui_rate, "encode_seconds": encode_seconds, "prepared": prepared,
            "epoch_minutes": len(prepared.train) / rnntui_rate / 60}


def bench_pretraining(reviews, prepared, batches: int) -> dict:
    """Reviews (and words) per second of pretraining the review language model at the recipe's
    sizes (docs/sentiment-model.md), and of fine-tuning a classifier of its sizes (both
    directions, concat pooling, discriminative rates), on the first reviews of the training split."""
    from rnntui.sentiment.pretrain.model import ReviewLM, ReviewLMConfig
    from rnntui.sentiment.pretrain.trainer import PretrainConfig, PretrainTrainer, Texts
    from rnntui.sentiment.reviews import split_train_valid

    train, _ = split_train_valid(reviews.train, seed=SPLIT_SEED)
    texts = Texts(prepared.vocab, [review.text for review in train[:batches * 32]], 400)
    torch.manual_seed(0)
    lm = PretrainTrainer(ReviewLM(ReviewLMConfig(len(prepared.vocab), embed_dim=100, hidden_size=256)), texts,
                         texts, PretrainConfig())
    begun, seen, words = time.perf_counter(), 0, 0
    for batch in lm.batches(0)[:batches]:
        words += lm.train_step(batch)[1]
        seen += len(batch)
    seconds = time.perf_counter() - begun
    found = {"pretrain": seen / seconds, "pretrain_words": words / seconds}
    model = SentimentRNN(SentimentConfig(len(prepared.vocab), embed_dim=100, hidden_size=256, bidirectional=True,
                                         pooling="concat", dropout=0.5))
    tuner = SentimentTrainer(model, prepared.train, prepared.valid,
                             SentimentTrainConfig(epochs=1, layer_lr_decay=2.6, grad_clip=1.0))
    begun, seen = time.perf_counter(), 0
    for batch in tuner.batches(0)[:batches]:
        tuner.train_step(batch)
        seen += len(batch)
    found["finetune"] = seen / (time.perf_counter() - begun)
    return found


def bench_accuracy(reviews, prepared) -> dict:
    found = {}
    test = encode(reviews.test, prepared.vocab)
    started = time.perf_counter()
    baseline = unigram_baseline(prepared.train.ids, prepared.train.labels, prepared.valid.ids, prepared.valid.labels,
                                test.ids, test.labels, len(prepared.vocab))
    found["unigram"], found["unigram_l2"] = baseline["test"], baseline["l2"]
    found["unigram_seconds"] = time.perf_counter() - started
    path = bundled_sentiment_model_path()
    if path.is_file():
        checkpoint = load_sentiment_checkpoint(path)
        max_tokens = (checkpoint.train_config or {}).get("max_tokens", 0)
        loss, accuracy = evaluate_reviews(checkpoint.build_model(), encode(reviews.test, checkpoint.vocab, max_tokens))
        found["bundled"], found["bundled_loss"], found["checkpoint"] = accuracy, loss, checkpoint
    return found


def bench_prediction(checkpoint, reviews, repeats: int = 20) -> dict:
    """Milliseconds to judge a 300-word review, and to explain it (the probability after each word)."""
    words = " ".join(review.text for review in reviews.test[:20]).split()[:300]
    text = " ".join(words)
    predictor = Predictor(checkpoint.build_model(), checkpoint.vocab)
    found = {}
    for name, fn in (("predict", predictor.predict), ("explain", predictor.explain)):
        fn(text)
        times = []
        for _ in range(repeats):
            begun = time.perf_counter()
            fn(text)
            times.append(time.perf_counter() - begun)
        found[name] = statistics.median(times) * 1000
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--batches", type=int, default=150, help="timed training batches per contender")
    parser.add_argument("--lm-batches", type=int, default=30, help="timed batches of pretraining and fine-tuning")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(f"no reviews at {args.data}: pass --data aclImdb_v1.tar.gz")
    reviews = read_reviews(args.data)
    rows = []
    speed = bench_training(reviews, args.batches)
    rows += [
        ("training, book's loop (reviews/s)", f"{speed['book']:,.0f}",
         "DataLoader + collate_fn + pack_padded_sequence, batch 32"),
        ("training, rnntui trainer (reviews/s)", f"{speed['rnntui']:,.0f}", "batches bucketed by length, same model"),
        ("training speed-up (rnntui / book)", f"{speed['rnntui'] / speed['book']:.2f}x", "target >= 2x"),
        (f"an epoch of {len(speed['prepared'].train):,} reviews, rnntui (minutes)", f"{speed['epoch_minutes']:.1f}",
         f"the book's model; plus {speed['encode_seconds']:.1f} s to tokenize once"),
    ]
    tuned = bench_pretraining(reviews, speed["prepared"], args.lm_batches)
    rows += [
        ("pretraining the review language model (reviews/s)", f"{tuned['pretrain']:,.0f}",
         f"{tuned['pretrain']/ speed['book']:.2f}x the book's loop; LSTM 256 read both ways, embedding 100, adaptive "
         f"softmax, {tuned['pretrain_words']:,.0f} words/s, reviews cut to 400 words"),
        ("fine-tuning a classifier of its sizes (reviews/s)", f"{tuned['finetune']:,.0f}",
         f"{tuned['finetune'] / speed['book']:.2f}x the book's loop; bidirectional LSTM 256, concat pooling"),
    ]
    accuracy = bench_accuracy(reviews, speed["prepared"])
    rows.append(("test accuracy, logistic regression on binary unigrams", f"{accuracy['unigram']:.4f}",
                 f"trained on the same {len(speed['prepared'].train):,} reviews, L2 {accuracy['unigram_l2']:g} chosen "
                 f"on the validation split, {accuracy['unigram_seconds']:.0f} s"))
    if "bundled" in accuracy:
        checkpoint = accuracy["checkpoint"]
        model = checkpoint.model_config
        way = "bidirectional " if model.bidirectional else ""
        rows.append(("test accuracy, bundled model", f"{accuracy['bundled']:.4f}",
                     f"{way}{model.cell}, loss {accuracy['bundled_loss']:.4f}"))
        prediction = bench_prediction(checkpoint, reviews)
        rows += [("judging a 300-word review (ms)", f"{prediction['predict']:.1f}", "bundled model, one thread's "
                  "share of the CPU; a frame is 16.7 ms"),
                 ("explaining it, the probability after each word (ms)", f"{prediction['explain']:.1f}", "")]
    header = (f"Measured {time.strftime('%Y-%m-%d')} on {cpu_name()} ({os.cpu_count()} cores, "
              f"{torch.get_num_threads()} torch threads), torch {torch.__version__}.\n\n")
    table = "| measurement | value | note |\n| --- | ---: | --- |\n" + "".join(
        f"| {name} | {value} | {note} |\n" for name, value, note in rows)
    print(header + table)
    if args.out:
        args.out.write_text(header + table, encoding="utf-8")


if __name__ == "__main__":
    main()
