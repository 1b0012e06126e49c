"""``rnntui evaluate``: the held-out loss, static and dynamic."""

from __future__ import annotations

import argparse
import json
import sys
import time

from rnntui.cli.common import LN2, apply_threads, corpus_path, dynamic_config, load_model_checkpoint, progress_bar


def cmd_evaluate(args: argparse.Namespace) -> int:
    from rnntui.charlm.build import recorded_corpus_path, recorded_encoding
    from rnntui.charlm.corpus import load_corpus
    from rnntui.charlm.dynamic import dynamic_loss
    from rnntui.charlm.evaluate import held_out_loss
    from rnntui.core.device import resolve_device

    config = dynamic_config(args) if args.dynamic else None
    apply_threads(args.threads)
    checkpoint = load_model_checkpoint(args.checkpoint)
    # Without --corpus: the text the model was trained on, if it is still there, else the book.
    text = args.corpus or recorded_corpus_path(checkpoint)
    corpus = load_corpus(corpus_path(text, args.json), args.encoding or recorded_encoding(checkpoint),
                         vocab=checkpoint.vocab)
    started = time.perf_counter()
    with progress_bar("evaluating", enabled=not args.json) as progress:
        loss, count, fraction = held_out_loss(checkpoint, corpus, resolve_device(args.device), args.val_fraction,
                                              progress=progress)
    result = {"val_loss": loss, "bits_per_char": loss / LN2, "characters": count, "val_fraction": fraction,
              "corpus": corpus.name, "step": checkpoint.step, "seconds": round(time.perf_counter() - started, 2)}
    if config is not None:
        started = time.perf_counter()
        train_ids, tail = corpus.split(fraction)
        with progress_bar("adapting", enabled=not args.json) as progress:
            dynamic = dynamic_loss(checkpoint.build_model(), tail, config, train_ids, progress=progress)
        result["dynamic"] = {"val_loss": dynamic.loss, "bits_per_char": dynamic.loss / LN2,
                             "characters": dynamic.characters, "learner_losses": dynamic.learner_losses,
                             **config.to_dict(), "described": config.describe(),
                             "seconds": round(time.perf_counter() - started, 2)}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"validation loss {loss:.4f} nats/char ({loss / LN2:.4f} bits/char) "
          f"over the last {count:,} characters of {corpus.name} (step {checkpoint.step})")
    if config is not None:
        print(f"dynamic evaluation {dynamic.loss:.4f} nats/char ({dynamic.loss / LN2:.4f} bits/char) on the same "
              f"characters, adapting as it reads: {config.describe()} (the checkpoint is unchanged)")
        if len(dynamic.learner_losses) > 1:
            alone = ", ".join(f"lr {lr:g}: {loss:.4f}" for lr, loss in zip(config.lrs, dynamic.learner_losses,
                                                                            strict=True))
            print(f"each learner alone: {alone}")
        if dynamic.loss > loss:
            print(f"note: adapting made the loss worse than the trained model's ({dynamic.loss:.4f} against "
                  f"{loss:.4f} nats/char): the rate is too large for this model; try a smaller --dynamic-lr",
                  file=sys.stderr)
    return 0
