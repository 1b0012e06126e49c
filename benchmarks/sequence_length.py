"""The chapter's open question, which sequence length: a sweep of the book's model over sequence
lengths at an equal character budget, each trial's exact held-out loss and a short sample, written
as ``docs/sequence-length.md``.

    python benchmarks/sequence_length.py [--budget CHARACTERS] [--lengths 10 20 40 80 160]
                                         [--corpus PATH] [--out docs/sequence-length.md]

It runs ``rnntui sweep`` (the command is printed on the page), every trial to its end
(``--no-prune``: each length gets its figure) and every checkpoint kept (``--keep-all``: each
gives its sample). The study is named ``sequence-length-<budget>``: interrupted, the same command
continues it. Every trial reads the same number of characters, so a window of 160 takes a quarter
of the steps a window of 40 takes.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import shlex
import sys
import time
from pathlib import Path

BOOK_BUDGET = 10_000 * 64 * 40  # the book's run: 10,000 steps of batch 64 × 40 characters
SEED_TEXT = "The island"
SAMPLE_LENGTH = 200


def sweep_argv(args: argparse.Namespace) -> list[str]:
    argv = ["sweep", "--study", f"sequence-length-{args.budget}", "--seq-length", *map(str, args.lengths),
            "--budget", str(args.budget), "--no-prune", "--keep-all", "--json"]
    if args.corpus is not None:
        argv += ["--corpus", str(args.corpus)]
    return argv + args.sweep_flags


def sample(path: str) -> str:
    """``SAMPLE_LENGTH`` characters after the seed text, scale factor 1 (as the book), seed 1."""
    from rnntui.charlm.checkpoint import load_checkpoint
    from rnntui.charlm.sampling import Sampler

    checkpoint = load_checkpoint(path)
    sampler = Sampler(checkpoint.build_model(), checkpoint.vocab, 1.0, random_seed=1)
    return SEED_TEXT + "".join(s.char for s in sampler.stream(SEED_TEXT, SAMPLE_LENGTH))


def page(args: argparse.Namespace, result: dict, seconds: float) -> str:
    import torch

    from rnntui.core.device import cpu_name

    trials = sorted((t for t in result["trials"] if t["state"] == "complete"),
                    key=lambda t: t["settings"]["seq_length"])
    best = min(trials, key=lambda t: t["objective"])
    command = "rnntui " + shlex.join(sweep_argv(args))
    lines = [
        "# Which sequence length? The chapter's question, measured",
        "",
        "The chapter trains on windows of 40 characters and leaves the choice open: \"finding a sweet spot "
        "and good value for the sequence length is a hyperparameter optimization problem, which we have to "
        "evaluate empirically\". This page is that evaluation: the book's model (LSTM, 512 units, embedding "
        "256, batch 64, Adam at 0.005) trained once per length on *The Mysterious Island*, every run reading "
        f"the same {args.budget:,} characters (steps = characters / (batch × length)), judged by the exact loss "
        "on the held-out last 10 % of the book (`rnntui evaluate`'s figure)"
        + (f", with `{shlex.join(args.sweep_flags)}` besides." if args.sweep_flags else "."),
        "",
        f"Measured by `python {shlex.join(sys.argv)}` on {cpu_name()} "
        f"({torch.get_num_threads()} torch threads), torch {torch.__version__}, in {seconds / 3600:.1f} hours; "
        "the sweep it runs is:",
        "",
        "```sh",
        command,
        "```",
        "",
        "| sequence length | steps | held-out loss (nats/char) | bits/char | training (chars/s) | time |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for t in trials:
        length = t["settings"]["seq_length"]
        mark = " (best)" if t is best else ""
        lines.append(f"| {length}{mark} | {t['steps']:,} | {t['objective']:.4f} | "
                     f"{t['objective'] / math.log(2):.4f} | {t['per_s']:,.0f} | {t['seconds'] / 60:.0f} min |")
    chapter = next((t for t in trials if t["settings"]["seq_length"] == 40), None)
    lines.append("")
    if chapter is not None and chapter is not best:
        cost = chapter["objective"] - best["objective"]
        lines.append(f"The chapter's 40 costs {cost:.4f} nats/char ({100 * cost / best['objective']:.1f} %) against "
                     f"the best length found, {best['settings']['seq_length']}, at this budget.")
    elif chapter is not None:
        lines.append("The chapter's 40 is the best length found at this budget.")
    lines += ["", f"## Samples ({SAMPLE_LENGTH} characters after \"{SEED_TEXT}\", scale factor 1, seed 1)", ""]
    for t in trials:
        lines += [f"**{t['settings']['seq_length']}**", "", "```text", sample(t["checkpoint"]), "```", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=BOOK_BUDGET, help=f"characters per trial ({BOOK_BUDGET:,})")
    parser.add_argument("--lengths", type=int, nargs="+", default=[10, 20, 40, 80, 160])
    parser.add_argument("--corpus", type=Path, help="the book (default: the copy rnntui downloads)")
    parser.add_argument("--out", type=Path, default=Path("docs/sequence-length.md"))
    parser.add_argument("sweep_flags", nargs="*", help="more rnntui sweep flags, after -- (e.g. -- --hidden-size 64)")
    args = parser.parse_args()
    from rnntui.cli import main as rnntui

    started = time.perf_counter()
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = rnntui(sweep_argv(args))
    if code != 0:
        sys.exit(code)
    text = page(args, json.loads(output.getvalue()), time.perf_counter() - started)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
