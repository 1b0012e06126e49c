"""``rnntui generate``: stream text from a model, adapted to its seed text or picked by hand."""

from __future__ import annotations

import argparse
import sys

from rnntui.cli.common import (
    DEFAULT_SEED_TEXT,
    apply_threads,
    dynamic_config,
    load_model_checkpoint,
    progress_bar,
    standard_input,
)
from rnntui.core.errors import RnntuiError


def cmd_generate(args: argparse.Namespace) -> int:
    from rnntui.charlm.sampling import Sampler, check_random_seed, check_scale_factor, check_top_k, check_top_p

    scale_factors = [check_scale_factor(value) for value in args.scale_factor]
    check_random_seed(args.random_seed)
    top_k, top_p = check_top_k(args.top_k), check_top_p(args.top_p)
    if args.length < 0:
        raise RnntuiError(f"--length must be 0 or more, got {args.length}")
    if args.num_samples < 1:
        raise RnntuiError(f"--num-samples must be at least 1, got {args.num_samples}")
    if args.pick and (args.num_samples > 1 or len(scale_factors) > 1):
        raise RnntuiError("--pick writes one sample at one scale factor")
    answers = standard_input("--pick reads your picks from it; leave out --pick to let the model draw") \
        if args.pick else None
    adapt = dynamic_config(args) if args.adapt else None
    apply_threads(args.threads)
    if args.seed_file is not None and args.seed_text is not None:
        raise RnntuiError("--seed-text and --seed-file both give the seed text: pass one of them")
    if args.encoding is not None and args.seed_file is None:
        raise RnntuiError("--encoding says how to read --seed-file: pass it with --seed-file, or leave it out")
    if args.seed_file is not None:
        from rnntui.charlm.corpus import read_seed_file

        args.seed_text = read_seed_file(args.seed_file, args.encoding)
    elif args.seed_text is None:
        args.seed_text = DEFAULT_SEED_TEXT
    checkpoint = load_model_checkpoint(args.checkpoint)
    checkpoint.vocab.check(args.seed_text)
    context = read_part(args.seed_text)  # what the model reads of it
    model = checkpoint.build_model()
    if adapt is not None:
        model = adapted_to_seed_text(model, checkpoint, context, adapt)
    # One generator for all samples: with --random-seed the whole output repeats.
    sampler = Sampler(model, checkpoint.vocab, scale_factors[0], args.random_seed, top_k=top_k, top_p=top_p)
    out = sys.stdout
    if args.pick:
        text, interrupted = pick_interactively(sampler, context, args.length, answers, sys.stderr)
        out.write(args.seed_text[:len(args.seed_text) - len(context)] + text + "\n")  # on ctrl+c too
        if interrupted:
            print("\nrnntui: interrupted", file=sys.stderr)
            return 130
        return 0
    for group, scale_factor in enumerate(scale_factors):
        sampler.scale_factor = scale_factor
        if len(scale_factors) > 1:
            blank = "\n" if group else ""  # a blank line between two scale factors' samples
            out.write(f"{blank}# scale factor {scale_factor:g}\n")
        for number in range(args.num_samples):
            if number:
                out.write("---\n")
            out.write(args.seed_text)
            out.flush()
            for sampled in sampler.stream(context, args.length):
                out.write(sampled.char)
                out.flush()
            out.write("\n")
            out.flush()
    return 0


def read_part(seed_text: str) -> str:
    """The end of ``seed_text`` the model reads before it continues it (and learns from, with
    --adapt): at most ``MAX_SEED_CHARACTERS``, said on stderr when that is less than all."""
    from rnntui.charlm.sampling import MAX_SEED_CHARACTERS

    if len(seed_text) <= MAX_SEED_CHARACTERS:
        return seed_text
    print(f"rnntui: note: the model reads the last {MAX_SEED_CHARACTERS:,} of the seed text's {len(seed_text):,} "
          "characters (its memory is far shorter; --adapt learns from them in under a minute on 2 idle cores)",
          file=sys.stderr)
    return seed_text[-MAX_SEED_CHARACTERS:]


def adapted_to_seed_text(model, checkpoint, seed_text: str, config):
    """A copy of ``model`` that has read ``seed_text`` learning as dynamic evaluation does. The
    rms rule's gradient statistics come from the model's training text where it is at hand,
    else from the seed text itself (said on stderr)."""
    from rnntui.charlm.dynamic import adapted_copy, gradient_statistics

    ids = checkpoint.vocab.encode(seed_text)
    statistics = None
    if config.rule == "rms":
        from rnntui.charlm.build import training_ids_at_hand

        train_ids = training_ids_at_hand(checkpoint)
        if train_ids is None:
            print("rnntui: note: the model's training text is not at hand; the rms rule's gradient statistics "
                  "come from the seed text", file=sys.stderr)
        else:
            statistics = gradient_statistics(model, train_ids, config)
    with progress_bar("adapting to the seed text") as progress:
        return adapted_copy(model, ids, config, statistics, progress)


class StopPicking(Exception):
    """q, or the end of the input, in ``pick_interactively``."""


def pick_interactively(sampler, seed_text: str, length: int, answers, prompts) -> tuple[str, bool]:
    """``seed_text`` and up to ``length`` characters, each picked by the person from the five
    likeliest (read as lines from ``answers``, asked on ``prompts``), or drawn by the model; and
    whether ctrl+c ended it."""
    sampler.candidates = max(sampler.candidates, 5)
    text = [seed_text]

    def choose(top: tuple) -> str | None:
        so_far = "".join(text)[-60:].replace("\n", "⏎")
        options = "   ".join(f"{n} {char!r} {p:.1%}" for n, (char, p) in enumerate(top, start=1))
        while True:
            prompts.write(f"…{so_far}\n {options}\npick 1-{len(top)}, enter: the model draws, q: stop > ")
            prompts.flush()
            line = answers.readline()
            answer = line.strip().lower()
            if not line or answer == "q":
                prompts.write("" if line else "\n")  # at the end of the input, end the prompt's line
                raise StopPicking
            if not answer:
                return None
            if answer.isdigit() and 1 <= int(answer) <= len(top):
                return top[int(answer) - 1][0]
            prompts.write(f"type a number from 1 to {len(top)}, enter or q\n")

    sampler.choose = choose
    try:
        for sampled in sampler.stream(seed_text, length):
            text.append(sampled.char)
    except StopPicking:
        pass
    except KeyboardInterrupt:
        return "".join(text), True
    return "".join(text), False
