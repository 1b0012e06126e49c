"""``rnntui generate``: stream text from a model, adapted to its seed text or picked by hand."""

from __future__ import annotations

import argparse
import sys

from rnntui.cli.common import dynamic_config, load_model_checkpoint
from rnntui.errors import RnntuiError


def cmd_generate(args: argparse.Namespace) -> int:
    from rnntui.sampling import Sampler, check_random_seed, check_scale_factor, check_top_k, check_top_p

    scale_factors = [check_scale_factor(value) for value in args.scale_factor]
    check_random_seed(args.random_seed)
    top_k, top_p = check_top_k(args.top_k), check_top_p(args.top_p)
    if args.length < 0:
        raise RnntuiError(f"--length must be 0 or more, got {args.length}")
    if args.num_samples < 1:
        raise RnntuiError(f"--num-samples must be at least 1, got {args.num_samples}")
    if args.pick and (args.num_samples > 1 or len(scale_factors) > 1):
        raise RnntuiError("--pick writes one sample at one scale factor")
    adapt = dynamic_config(args) if args.adapt else None
    if args.seed_file is not None:
        from rnntui.corpus import read_seed_file

        args.seed_text = read_seed_file(args.seed_file)
    checkpoint = load_model_checkpoint(args.checkpoint)
    checkpoint.vocab.check(args.seed_text)
    model = checkpoint.build_model()
    if adapt is not None:
        model = adapted_to_seed_text(model, checkpoint, args.seed_text, adapt)
    # One generator for all samples: with --random-seed the whole output repeats.
    sampler = Sampler(model, checkpoint.vocab, scale_factors[0], args.random_seed, top_k=top_k, top_p=top_p)
    out = sys.stdout
    if args.pick:
        text, interrupted = pick_interactively(sampler, args.seed_text, args.length, sys.stdin, sys.stderr)
        out.write(text + "\n")  # on ctrl+c too: what was picked is not lost
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
            for sampled in sampler.stream(args.seed_text, args.length):
                out.write(sampled.char)
                out.flush()
            out.write("\n")
            out.flush()
    return 0


def adapted_to_seed_text(model, checkpoint, seed_text: str, config):
    """A copy of ``model`` that has read ``seed_text`` learning as dynamic evaluation does. The
    rms rule's gradient statistics come from the model's training text where it is at hand,
    else from the seed text itself (said on stderr)."""
    from rnntui.dynamic import adapted_copy, gradient_statistics

    ids = checkpoint.vocab.encode(seed_text)
    statistics = None
    if config.rule == "rms":
        from rnntui.trainers import training_ids_at_hand

        train_ids = training_ids_at_hand(checkpoint)
        if train_ids is None:
            print("rnntui: note: the model's training text is not at hand; the rms rule's gradient statistics "
                  "come from the seed text", file=sys.stderr)
        else:
            statistics = gradient_statistics(model, train_ids, config)
    return adapted_copy(model, ids, config, statistics)


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
