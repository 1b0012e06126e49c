"""``rnntui neurons find|show|ablate``: inside a character model (this module) or a review model
(``neurons_reviews``), as text for people or JSON for scripts."""

from __future__ import annotations

import argparse
import json
import sys

from rnntui.cli.common import LN2, apply_threads, corpus_path, levels, load_model_checkpoint, progress_bar, text_file
from rnntui.core.errors import RnntuiError
from rnntui.core.tasks import SENTIMENT_TASK

DEFAULT_CHARS = {"find": 100_000, "show": 1_000, "ablate": None}
BAR = 20  # characters of a full bar (|score| = 1)


def is_sentiment(args: argparse.Namespace) -> bool:
    """Whether the command is for a review model (after setting ``--threads``: each command asks first)."""
    apply_threads(args.threads)
    if args.sentiment or args.checkpoint is None:
        return args.sentiment
    from rnntui.core.checkpoint import read_header

    return read_header(args.checkpoint)[0].get("task") == SENTIMENT_TASK


def cmd_find(args: argparse.Namespace) -> int:
    if is_sentiment(args):
        from rnntui.cli.neurons_reviews import cmd_find_reviews

        return cmd_find_reviews(args)
    from rnntui.neurons.find import find_units

    feature, pattern = chosen_feature(args, required=args.span is None)
    span = parse_span(args.span) if args.span is not None else None
    if feature is not None and span is not None:
        raise RnntuiError("give a feature or a span (--span START:END), not both")
    if args.top < 1:
        raise RnntuiError(f"--top must be at least 1, got {args.top}")
    checkpoint, model = char_model(args)
    text, ids, where = model_text(args, checkpoint, "find")
    with progress_bar("reading", enabled=not args.json) as progress:
        found = find_units(model, text, ids, feature, pattern, span, args.top, args.layer, progress=progress)
    if args.json:
        print(json.dumps({**found.to_dict(), "text": where}))
        return 0
    print(f"units tracking {found.what}, by {found.measure}, over {where}")
    for state, ranked in found.ranked.items():
        print(f"\n{state} state    {found.measure[:11]:>11}   mean on  mean off")
        for r in ranked:
            bar = "█" * round(abs(r.score) * BAR) if found.measure == "correlation" else ""
            print(f"  unit {r.unit:5d}   {r.score:+11.3f}  {r.mean_on:+8.3f}  {r.mean_off:+8.3f}  {bar}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    if is_sentiment(args):
        from rnntui.cli.neurons_reviews import cmd_show_reviews

        return cmd_show_reviews(args)
    from rnntui.neurons.ablate import check_units
    from rnntui.neurons.activations import read

    checkpoint, model = char_model(args)
    state = chosen_state(args, model.config.cell)
    unit = check_units([args.unit], model.config.hidden_size)[0]
    text, ids, where = model_text(args, checkpoint, "show")
    reading = read(model, ids, layer=args.layer, keep=(state,))[0]
    values = reading.state(state)[:, unit].tolist()
    step = None
    if args.at is not None:
        from rnntui.neurons.step import look_at_step

        step = look_at_step(model, checkpoint.vocab, ids, args.at, [unit], args.layer)
    if args.json:
        result = {"unit": unit, "state": state, "text": text, "values": [round(v, 5) for v in values],
                  "source": where}
        if step is not None:
            result["step"] = step.to_dict()
        print(json.dumps(result))
        return 0
    print(f"{state} state of unit {unit} over {where}")
    print_coloured(text, values)
    if step is not None:
        print_step(step)
    return 0


def cmd_ablate(args: argparse.Namespace) -> int:
    if is_sentiment(args):
        from rnntui.cli.neurons_reviews import cmd_ablate_reviews

        return cmd_ablate_reviews(args)
    from rnntui.neurons.ablate import ablate
    from rnntui.neurons.features import TARGETS, target_mask

    feature, pattern = chosen_feature(args, required=True)
    checkpoint, model = char_model(args)
    state = chosen_state(args, model.config.cell)
    text, ids, where = model_text(args, checkpoint, "ablate")
    mask = target_mask(text, feature, pattern)
    with progress_bar("reading", enabled=not args.json) as progress:
        result = ablate(model, ids, args.unit, mask, state, args.value, args.random_sets, args.seed, args.layer,
                        progress=progress)
    if args.json:
        print(json.dumps({**result.to_dict(), "feature": feature, "feature_characters_are": TARGETS[feature],
                          "text": where}))
        return 0
    units = ", ".join(map(str, result.clamped.units))
    targets = f"{TARGETS[feature]} ({result.feature_characters:,})"
    print(f"{state}-state unit{'s' if len(result.clamped.units) > 1 else ''} {units} held at {result.value:g} "
          f"at every step, over {where}; loss in nats/char ({result.characters:,} characters predicted)")
    print(f"{'':24}{'all characters':>16}  {targets}")
    rows = [("as trained", result.base), ("units switched off", result.clamped)]
    for label, loss in rows:
        print(f"{label:24}{loss.text:16.4f}  {_on_feature(loss)}")
    for k, loss in enumerate(result.random, 1):
        drawn = ", ".join(map(str, loss.units))
        print(f"{'random set ' + str(k):24}{loss.text:16.4f}  {_on_feature(loss)}  (units {drawn})")
    if result.random:
        measured_on = "whole text" if result.feature_characters == 0 else TARGETS[feature]
        print(f"{result.random_as_harmful} of {len(result.random)} random sets raised the loss on the {measured_on} "
              f"as much as these units do (+{_change(result):.4f} nats/char, "
              f"{_change(result) / LN2:+.4f} bits)")
    return 0


def _on_feature(loss) -> str:
    """The loss on the feature's characters, or a dash where the text has none (a NaN)."""
    return f"{loss.feature:.4f}" if loss.feature == loss.feature else "-"


def _change(result) -> float:
    key = "text" if result.feature_characters == 0 else "feature"
    return getattr(result.clamped, key) - getattr(result.base, key)


# -- shared --------------------------------------------------------------------------------------

def chosen_feature(args: argparse.Namespace, required: bool) -> tuple[str | None, str | None]:
    """The feature and regular expression asked for (``--regex`` alone means ``--feature regex``)."""
    from rnntui.neurons.features import compile_regex

    feature = args.feature
    if args.regex is not None:
        if feature not in (None, "regex"):
            raise RnntuiError(f"--regex goes with --feature regex, not --feature {feature}")
        compile_regex(args.regex)
        feature = "regex"
    elif feature == "regex":
        raise RnntuiError("--feature regex needs --regex PATTERN")
    if feature is None and required:
        raise RnntuiError("choose what to track: --feature NAME (see --help), --regex R or --span START:END")
    return feature, args.regex


def parse_span(span: str) -> tuple[int, int]:
    start, colon, end = span.partition(":")
    try:
        if not colon:
            raise ValueError
        return int(start), int(end)
    except ValueError:
        raise RnntuiError(f"--span {span!r} is not START:END (two character positions, e.g. 120:180)") from None


def chosen_state(args: argparse.Namespace, cell: str) -> str:
    state = args.state or ("cell" if cell == "lstm" else "hidden")
    if state == "cell" and cell != "lstm":
        raise RnntuiError(f"a {cell.upper()} has no cell state: use --state hidden")
    return state


def char_model(args: argparse.Namespace):
    checkpoint = load_model_checkpoint(args.checkpoint)
    layers = checkpoint.model_config.layers
    if not -layers <= args.layer < layers:
        raise RnntuiError(f"--layer {args.layer} does not exist: this model has {layers} layer(s)")
    return checkpoint, checkpoint.build_model()


def model_text(args: argparse.Namespace, checkpoint, command: str) -> tuple[str, object, str]:
    """The text to read, its ids and where it comes from: ``--text-file``, or the held-out tail of
    ``--corpus`` (default: the model's own text, or the book), its first ``--chars`` characters."""
    from rnntui.charlm.build import recorded_corpus_path, recorded_encoding

    chars = args.chars if args.chars is not None else DEFAULT_CHARS[command]
    if chars is not None and chars < 2:
        raise RnntuiError(f"--chars must be at least 2, got {chars}")
    vocab = checkpoint.vocab
    if args.text_file is not None:
        text = text_file(args.text_file)[:chars]
        unknown = vocab.unknown_chars(text)
        if unknown:
            shown = ", ".join(repr(c) for c in unknown[:8])
            raise RnntuiError(f"{args.text_file} has {len(unknown)} character(s) the model never saw ({shown}); "
                              "give a text in the characters of the model's training text")
        return text, vocab.encode(text), f"the first {len(text):,} characters of {args.text_file}"
    from rnntui.charlm.corpus import load_corpus
    from rnntui.charlm.evaluate import held_out_tail

    path = corpus_path(args.corpus or recorded_corpus_path(checkpoint), args.json)
    corpus = load_corpus(path, args.encoding or recorded_encoding(checkpoint), vocab=vocab)
    fraction = (checkpoint.train_config or {}).get("val_fraction", 0.1)
    tail = held_out_tail(corpus, fraction, hint="; pass a longer text with --corpus or --text-file")[:chars]
    return vocab.decode(tail), tail, f"the first {len(tail):,} characters of the held-out tail of {corpus.name}"


def print_coloured(text: str, values: list[float]) -> None:
    """On a terminal, each character on a diverging background (blue below zero, red above, white
    at zero, with black letters, readable in any theme); piped, each line of text with a line of
    levels under it."""
    found, top = levels(values)
    if not sys.stdout.isatty():
        print(f"levels: 1 = {-top:.3f}, 5 = 0, 9 = {top:.3f}")
        start = 0
        lines = text.split("\n")
        for line in lines[:-1] if len(lines) > 1 and not lines[-1] else lines:
            print(line)
            print("".join(str(level) for level in found[start:start + len(line)]))
            start += len(line) + 1
        return
    from rich.console import Console
    from rich.text import Text

    shown = Text()
    for char, value in zip(text, values, strict=True):
        if char == "\n":
            shown.append("\n")
            continue
        t = min(abs(value) / top, 1.0)
        fade = round(255 - 200 * t)
        colour = f"rgb(255,{fade},{fade})" if value > 0 else f"rgb({fade},{fade},255)"
        shown.append(char, style=f"black on {colour}")
    console = Console(highlight=False)
    console.print(shown)
    console.print(f"scale: blue {-top:.3f} … white 0 … red {top:.3f}")


def print_step(step) -> None:
    print(f"\nat character {step.position} ({step.char!r}), unit {step.units[0]}:")
    for name, values in step.values.items():
        print(f"  {name:8} {values[0]:+.4f}")
    if step.sum_terms is not None:
        terms = {name: values[0] for name, values in step.sum_terms.items()}
        print(f"  h_t = tanh(W_xh x_t + W_hh h_(t-1) + b) = tanh({terms['input']:+.4f} {terms['recurrent']:+.4f} "
              f"{terms['bias']:+.4f}) = tanh({terms['sum']:+.4f}) = {terms['tanh']:+.4f}")
    print("  next character: " + "  ".join(f"{char!r} {p:.1%}" for char, p in step.next_chars))
