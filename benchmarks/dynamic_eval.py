"""Dynamic evaluation of the bundled model: tuning, the held-out tail, adapting to a passage,
and general-purpose compressors on the same tail as quality anchors.

    python benchmarks/dynamic_eval.py [--corpus PATH] [--out docs/dynamic-evaluation.md] [--quick] [--tail-diagnosis]

``--out`` writes the tables to a new file, or into docs/dynamic-evaluation.md after its marker
line (``REPORT_MARKER``), keeping the page's own text above it.

1. The update rule's settings are tuned on a slice of the *training* text, never on the tail
   they are scored on: single learners over a grid of rates and decays, then the mixtures of
   any two of them (and of the trained model itself, rate 0), computed from each learner's
   losses on each character, as a mixture's learners never affect each other. The best is
   scored on the tail and is the default (``DynamicConfig``,
   set by hand from this run's "Chosen:" line, which a test compares with it). The slice
   is the training text's last 30,000 characters, which the bundled model has learnt, so it
   favours small steps. With ``--twin CHECKPOINT`` the settings are tuned instead on a twin: a
   model of the same architecture trained on the training text less its last 10 %, scored on
   that 10 % (text it never saw, as the tail is unseen by the bundled model):

       python benchmarks/dynamic_eval.py --twin-text twin.txt     # writes the twin's text
       rnntui train --corpus twin.txt --out twin.ckpt ...          # the command it prints
       python benchmarks/dynamic_eval.py --twin twin.ckpt --out docs/dynamic-evaluation.md
2. The static and dynamic losses on the held-out tail, nats/char and bits/char, and the time.
3. What adapting to a passage buys: the loss of the next 500 characters after reading 2,000,
   with and without adapting to those 2,000. The setting (one learner) is chosen on passages of
   never-seen texts (two licences, two standard-library modules), then reported on the tail and
   on other never-seen texts (the GPL-3 and ``argparse.py``).
4. Compressors given the training text: ``8 * (C(train + tail) - C(train)) / len(tail)`` bits per
   character for xz (preset 9, extreme), bzip2 (level 9) and PPMd (order 8; ``pip install
   pyppmd``, else the row is skipped).
"""

from __future__ import annotations

import argparse
import bz2
import hashlib
import inspect
import lzma
import math
import shlex
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import torch

from rnntui.charlm.checkpoint import load_checkpoint
from rnntui.charlm.corpus import Corpus, load_corpus, read_text
from rnntui.charlm.dynamic import DynamicConfig, adapted_copy, dynamic_loss, gradient_statistics, mixture_loss
from rnntui.charlm.evaluate import evaluate_ids
from rnntui.core.paths import bundled_model_path

ROOT = Path(__file__).resolve().parents[1]
SHARED_BOOK = ROOT.parent / "shared" / "corpora" / "mysterious-island-1268-0.txt"
LN2 = math.log(2)
TUNE_CHARS = 30_000


def single(lr: float, decay: float = 0.0, rule: str = "rms", segment: int = 100) -> DynamicConfig:
    return DynamicConfig(rule=rule, lrs=(lr,), decays=(decay,), segment=segment)


def tuning_grid(quick: bool) -> list[DynamicConfig]:
    """The first stage, single learners at 100-character segments: the rms rule's rate (doubling)
    and decay, and sgd's rate."""
    if quick:
        return [single(1e-4), single(4e-4, 0.003), single(0.1, rule="sgd")]
    grid = [single(lr, decay) for lr in (5e-5, 1e-4, 2e-4, 4e-4, 8e-4, 1.6e-3) for decay in (0.0, 0.001, 0.003, 0.01)]
    grid += [single(lr, rule="sgd") for lr in (0.05, 0.1, 0.2)]
    return grid


def segment_grid(best: DynamicConfig, quick: bool) -> list[DynamicConfig]:
    """The second stage: the best single learner at other segment lengths, its rate and decay
    scaled with the segment so that each character moves the weights as much (as Krause et al.'s
    search does)."""
    if quick:
        return []
    (lr, decay), = best.learners()
    return [single(lr * segment / best.segment, min(decay * segment / best.segment, 0.5), best.rule, segment)
            for segment in (25, 50, 200)]


SHARES = (0.01, 0.1, 1.0)


def pair_grid(singles: dict[DynamicConfig, np.ndarray]) -> list[tuple[float, DynamicConfig]]:
    """The third stage: every mixture of two rms learners of the first stage (or of one and the
    trained model, rate 0) at each share, scored from their losses on each character."""
    rms = sorted(((config.learners()[0], losses) for config, losses in singles.items()
                  if config.rule == "rms" and config.segment == 100), key=lambda item: item[0])
    found = []
    for i, ((lr_a, decay_a), losses_a) in enumerate(rms):
        for (lr_b, decay_b), losses_b in rms[i + 1:]:
            for share in SHARES:
                config = DynamicConfig(lrs=(lr_a, lr_b), decays=(decay_a, decay_b), share=share)
                found.append((mixture_loss([losses_a, losses_b], share), config))
    return sorted(found, key=lambda item: item[0])


def compressed_bits(train: bytes, tail_chars: int, text: bytes, compress) -> float:
    return 8 * (len(compress(text)) - len(compress(train))) / tail_chars


def ppmd(data: bytes) -> bytes:
    import pyppmd

    encoder = pyppmd.Ppmd8Encoder(8, 256 << 20)
    return encoder.encode(data) + encoder.flush()


def passages(ids: np.ndarray, count: int, read: int = 2000, predict: int = 500) -> list[np.ndarray]:
    """``count`` evenly spaced windows of ``read + predict`` characters."""
    span = read + predict
    starts = np.linspace(0, len(ids) - span - 1, count).astype(int)
    return [ids[s:s + span + 1] for s in starts]


def unseen_text(path: Path, vocab) -> np.ndarray:
    """A text's ids in the model's vocabulary, characters it does not know dropped."""
    text, _ = read_text(path)
    return vocab.encode("".join(c for c in text if c in vocab))


def next_500(model, window: np.ndarray) -> float:
    """The summed loss of a window's last 500 characters, read after its first 2,000."""
    return evaluate_ids(model, window)[0] * 2500 - evaluate_ids(model, window[:2001])[0] * 2000


def plain_loss(model, ids: np.ndarray, count: int) -> float:
    """Mean loss of the 500 characters after 2,000, without adapting."""
    return float(np.mean([next_500(model, window) for window in passages(ids, count)])) / 500


def adapted_loss(model, statistics, ids: np.ndarray, config: DynamicConfig, count: int) -> float:
    """The same, for a copy adapted to the 2,000 first; it reads them again to carry its state."""
    return float(np.mean([next_500(adapted_copy(model, window[:2001], config, statistics), window)
                          for window in passages(ids, count)])) / 500


DIAGNOSIS = [(2e-4, 0.0), (3e-4, 0.0), (4e-4, 0.001), (5e-4, 0.003), (1e-3, 0.01)]
# The bundled model's recipe (docs/bundled-model.md; its first run here 3,200 steps, then 1,600 at
# the final rate instead of 4,000 and 800), on the training text less its last 10 %.
_RESUME = "rnntui train --resume {out} --corpus {text} --eval-every 200 --save-every 200 --keep 10"
TWIN_COMMANDS = [
    "rnntui train --corpus {text} --out {out} --steps 3200 --seq-length 100 --dropout 0.25 --weight-dropout 0.15 "
    "--lr 0.005 --lr-decay-steps 3200 --carry-state --eval-every 200 --save-every 200 --random-seed 1",
    _RESUME + " --steps 4800",
    *(_RESUME + f" --lr 0.005 --lr-decay-steps {steps} --steps {steps}" for steps in (6400, 8000, 9600, 11200)),
    _RESUME + " --lr 0.002 --lr-decay-steps 16000 --steps 16000",
]


def text_files(files: list[tuple[str, Path]], vocab) -> list[tuple[str, np.ndarray]]:
    return [(name, unseen_text(path, vocab)) for name, path in files if path.is_file()]


# Never-seen texts the seed-text setting is chosen on, none of them one the report is made on
# (the GPL family and argparse.py are left out).
SEED_TUNING_TEXTS = [("Apache-2.0", Path("/usr/share/common-licenses/Apache-2.0")),
                     ("MPL-2.0", Path("/usr/share/common-licenses/MPL-2.0")),
                     ("textwrap.py", Path(inspect.getfile(textwrap))), ("shlex.py", Path(inspect.getfile(shlex)))]
SEED_REPORT_TEXTS = [("GPL-3 (never seen)", Path("/usr/share/common-licenses/GPL-3")),
                     ("Python: argparse.py (never seen)", Path(inspect.getfile(argparse)))]


def seed_text_rows(model, train: np.ndarray, tail: np.ndarray, vocab, quick: bool) -> list[str]:
    """What adapting to a seed text buys: one learner's setting, chosen by the mean change over
    passages of never-seen texts, then reported on the tail and on other never-seen texts."""
    statistics = gradient_statistics(model, train, DynamicConfig())
    count = 1 if quick else 6
    tuning = text_files(SEED_TUNING_TEXTS, vocab)
    if not tuning:
        return ["### Adapting to a seed text: skipped (none of the tuning texts is on this machine)", ""]
    lines = [f"### Adapting to a seed text: the next 500 characters after reading 2,000 ({count} passage(s) a text, "
             "nats/char)", "", f"Tuning on never-seen texts ({', '.join(name for name, _ in tuning)}): the change "
             "in the next 500 characters' loss, for single learners (a mixture has no single copy to continue "
             "with).", "", "| lr | decay | " + " | ".join(name for name, _ in tuning) + " | mean |",
             "| ---: | ---: |" + " ---: |" * (len(tuning) + 1)]
    plain = [plain_loss(model, ids, count) for _, ids in tuning]
    found = []
    for config in tuning_grid(quick):
        if config.rule != "rms":
            continue
        changes = [adapted_loss(model, statistics, ids, config, count) - without
                   for (_, ids), without in zip(tuning, plain, strict=True)]
        found.append((float(np.mean(changes)), config))
        (lr, decay), = config.learners()
        cells = " | ".join(f"{change:+.4f}" for change in changes)
        lines.append(f"| {lr:g} | {decay:g} | {cells} | {found[-1][0]:+.4f} |")
        print(lines[-1], flush=True)
    chosen = min(found, key=lambda item: item[0])[1]
    lines += ["", f"Chosen for seed texts: {chosen.describe()}. rnntui's `SEED_TEXT_CONFIG` is set to it by hand; "
              "a test checks that they agree.", "",
              "| text | without adapting | adapted to the 2,000 | change |", "| --- | ---: | ---: | ---: |"]
    for name, ids in [("the held-out tail", tail), *text_files(SEED_REPORT_TEXTS, vocab)]:
        plain, adapted = plain_loss(model, ids, count), adapted_loss(model, statistics, ids, chosen, count)
        lines.append(f"| {name} | {plain:.4f} ({plain / LN2:.3f} bits) | {adapted:.4f} ({adapted / LN2:.3f} bits) | "
                     f"{adapted - plain:+.4f} |")
        print(lines[-1], flush=True)
    return [*lines, ""]


def tuning_text(args: argparse.Namespace, model, train: np.ndarray, vocab) -> tuple:
    """What the settings are tuned on: (model, the slice it is scored on, the text its gradient
    statistics come from, a heading)."""
    if args.twin is None:
        return (model, train[-TUNE_CHARS:], train[:-TUNE_CHARS],
                f"the last {TUNE_CHARS:,} characters of the training text, which the bundled model has learnt")
    twin = load_checkpoint(args.twin)
    text = vocab.decode(train)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()  # as the twin's file was read
    if twin.corpus is None or twin.corpus.get("sha256") != digest:
        sys.exit(f"{args.twin} was not trained on the training text (write it with --twin-text PATH)")
    if twin.model_config != model.config:
        sys.exit(f"{args.twin} is not the bundled model's architecture")
    # The twin's own held-out text, cut as its training run cut it.
    own = Corpus(name=args.twin.name, sha256=digest, vocab=twin.vocab, ids=twin.vocab.encode(text))
    own_train, own_tail = own.split(twin.train_config["val_fraction"])
    return (twin.build_model().eval(), own_tail, own_train,
            f"a twin (step {twin.step:,}, `{args.twin.name}`) trained on the training text less its last 10 %, "
            f"scored on that 10 % ({len(own_tail):,} characters), which it never saw")


def diagnosis_rows(model, tail: np.ndarray, train: np.ndarray) -> list[str]:
    """The rms rule's loss on the tail at larger steps than the training slice chooses: whether
    the target is within its reach at all. A diagnosis only: never a way to choose a default."""
    lines = ["#### Diagnosis only: larger steps scored on the tail itself (not how any default is chosen)", "",
             "| lr | decay | nats/char | bits/char | seconds |", "| ---: | ---: | ---: | ---: | ---: |"]
    for lr, decay in DIAGNOSIS:
        started = time.perf_counter()
        loss = dynamic_loss(model, tail, single(lr, decay), train).loss
        lines.append(f"| {lr:g} | {decay:g} | {loss:.4f} | {loss / LN2:.4f} | {time.perf_counter() - started:.1f} |")
        print(lines[-1], flush=True)
    return [*lines, ""]


# The page's own text ends at this line; the report replaces whatever follows it.
REPORT_MARKER = "<!-- benchmarks/dynamic_eval.py writes below this line -->"


def write_report(path: Path, report: str) -> None:
    """Write ``report`` to a new file, or in place of what follows REPORT_MARKER in an existing
    one; an existing file without the marker is someone else's and is left alone."""
    head = ""
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if REPORT_MARKER not in text:
            sys.exit(f"{path} exists and has no line {REPORT_MARKER!r} to write below; name a new file")
        head = text[:text.index(REPORT_MARKER) + len(REPORT_MARKER)] + "\n\n"
    path.write_text(head + report + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SHARED_BOOK)
    parser.add_argument("--out", type=Path,
                        help="also write the tables to this Markdown file (a new one, or after its marker line)")
    parser.add_argument("--quick", action="store_true", help="a two-setting grid and one passage a text")
    parser.add_argument("--tail-diagnosis", action="store_true",
                        help="also score larger steps on the tail itself, to see what the rule can reach there "
                        "(a diagnosis: the defaults are never chosen on the tail)")
    parser.add_argument("--twin", type=Path, metavar="CHECKPOINT",
                        help="tune on this twin's own held-out text instead of the bundled model's training slice")
    parser.add_argument("--twin-text", type=Path, metavar="PATH",
                        help="write the text a twin trains on (the training text) to PATH, print the command, and stop")
    args = parser.parse_args()
    if not args.corpus.is_file():
        sys.exit(f"no corpus at {args.corpus}; pass --corpus PATH (The Mysterious Island, Gutenberg #1268)")

    checkpoint = load_checkpoint(bundled_model_path())
    corpus = load_corpus(args.corpus, vocab=checkpoint.vocab)
    train, tail = corpus.split(0.1)
    if args.twin_text is not None:
        if args.twin_text.exists():
            sys.exit(f"{args.twin_text} exists; name a new file")
        args.twin_text.write_text(corpus.vocab.decode(train), encoding="utf-8")
        print("\n".join(command.format(text=args.twin_text, out=args.twin_text.with_suffix(".ckpt"))
                        for command in TWIN_COMMANDS))
        return
    model = checkpoint.build_model().eval()
    flags = "".join(f" {flag}" for flag, on in (("--quick", args.quick), ("--tail-diagnosis", args.tail_diagnosis))
                    if on) + (f" --twin {args.twin.name}" if args.twin else "")
    lines = [f"Bundled model (step {checkpoint.step:,}), {torch.get_num_threads()} torch threads, "
             f"torch {torch.__version__}. `python benchmarks/dynamic_eval.py{flags}`.", ""]
    if args.twin:
        commands = "\n".join(command.format(text="twin.txt", out=args.twin.name) for command in TWIN_COMMANDS)
        lines += ["The twin, trained on the text `--twin-text twin.txt` writes, as the bundled model was "
                  "(docs/bundled-model.md):", "", "```sh", commands, "```", ""]

    # 1. Tuning on the training text.
    tuned_model, slice_ids, stats_ids, heading = tuning_text(args, model, train, corpus.vocab)
    static_slice = evaluate_ids(tuned_model, slice_ids)[0]
    lines += [f"### Tuning: {heading} (static {static_slice:.4f})", "",
              "| rule | lr | decay | segment | loss (nats/char) | seconds |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    best: dict[str, tuple[float, DynamicConfig]] = {}  # the best loss and single learner of each rule
    singles: dict[DynamicConfig, np.ndarray] = {}  # each single learner's loss on each character

    def tune(config: DynamicConfig) -> None:
        started = time.perf_counter()
        result = dynamic_loss(tuned_model, slice_ids, config, stats_ids, keep_char_losses=True)
        seconds, loss = time.perf_counter() - started, result.loss
        singles[config] = result.char_losses[0]
        (lr, decay), = config.learners()
        decay = f"{decay:g}" if config.rule == "rms" else "-"
        lines.append(f"| {config.rule} | {lr:g} | {decay} | {config.segment} | {loss:.4f} | {seconds:.1f} |")
        print(lines[-1], flush=True)
        if lr > 0 and (config.rule not in best or loss < best[config.rule][0]):
            best[config.rule] = (loss, config)

    for config in [single(0.0), *tuning_grid(args.quick)]:  # rate 0: the trained model, for the mixtures
        tune(config)
    for config in segment_grid(best["rms"][1], args.quick):
        tune(config)
    pairs = pair_grid(singles)
    lines += ["", f"Mixtures of two of the rms learners above (rate 0: the trained model as it is), at 100-character "
              f"segments, each share of {', '.join(f'{share:g}' for share in SHARES)}: {len(pairs)} in all, "
              "scored from the learners' losses on each character. The best ten:", "",
              "| learners (lr, decay) | share | loss (nats/char) |", "| --- | ---: | ---: |"]
    for loss, config in pairs[:10]:
        learners = " + ".join(f"{lr:g}, {decay:g}" for lr, decay in config.learners())
        lines.append(f"| {learners} | {config.share:g} | {loss:.4f} |")
    print("\n".join(lines[-12:]), flush=True)
    candidates = [*best.values(), *pairs[:1]]
    chosen = min(candidates, key=lambda found: found[0])[1]
    lines += ["", f"Chosen: {chosen.describe()}. rnntui's defaults (`DynamicConfig`) are set to the choice by "
              "hand; a test checks that they agree with this line.", ""]

    # 2. The held-out tail.
    started = time.perf_counter()
    static = evaluate_ids(model, tail)[0]
    static_seconds = time.perf_counter() - started
    lines += [f"### The held-out tail ({len(tail) - 1:,} characters)", "",
              "| evaluation | nats/char | bits/char | seconds |", "| --- | ---: | ---: | ---: |",
              f"| static (`rnntui evaluate`) | {static:.4f} | {static / LN2:.4f} | {static_seconds:.1f} |"]
    for config in dict.fromkeys((chosen, best["rms"][1], best["sgd"][1])):  # the choice, each rule's best
        started = time.perf_counter()
        result = dynamic_loss(model, tail, config, train)
        lines.append(f"| dynamic, {config.describe()} | {result.loss:.4f} | {result.loss / LN2:.4f} | "
                     f"{time.perf_counter() - started:.1f} |")
        print(lines[-1], flush=True)
        if len(result.learner_losses) > 1:
            alone = "; ".join(f"lr {lr:g} {loss:.4f}" for lr, loss in zip(config.lrs, result.learner_losses,
                                                                            strict=True))
            lines.append(f"| (each of its learners alone: {alone}) | | | |")
    lines.append("")
    if args.tail_diagnosis:
        lines += diagnosis_rows(model, tail, train)

    # 3. Adapting to a passage.
    lines += seed_text_rows(model, train, tail, checkpoint.vocab, args.quick)

    # 4. Compressors on the same tail, given the training text.
    text = corpus.vocab.decode(corpus.ids).encode("utf-8")
    head = corpus.vocab.decode(train).encode("utf-8")
    chars = len(tail)
    lines += ["### Compressors on the same tail, given the training text", "",
              "| model | bits/char | nats/char |", "| --- | ---: | ---: |"]
    rows = [("xz (preset 9, extreme)", lambda b: lzma.compress(b, preset=9 | lzma.PRESET_EXTREME)),
            ("bzip2 (level 9)", lambda b: bz2.compress(b, 9))]
    try:
        import pyppmd  # noqa: F401

        rows.append(("PPMd (order 8)", ppmd))
    except ImportError:
        lines.append("| PPMd (order 8) | skipped: `pip install pyppmd` | |")
    for name, compress in rows:
        bits = compressed_bits(head, chars, text, compress)
        lines.append(f"| {name} | {bits:.3f} | {bits * LN2:.4f} |")
        print(lines[-1], flush=True)
    lines.append(f"| rnntui, static | {static / LN2:.3f} | {static:.4f} |")
    lines.append("")
    report = "\n".join(lines)
    print(report)
    if args.out:
        write_report(args.out, report)


if __name__ == "__main__":
    main()
