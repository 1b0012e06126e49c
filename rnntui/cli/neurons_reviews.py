"""``rnntui neurons find|show|ablate`` for a sentiment checkpoint: the units of its summary, on the
validation reviews (never the test reviews)."""

from __future__ import annotations

import argparse
import json

from rnntui.cli.common import levels, progress_bar, text_file
from rnntui.core.errors import RnntuiError

CHARACTER_ONLY = {"feature": "--feature", "regex": "--regex", "span": "--span", "corpus": "--corpus",
                  "chars": "--chars", "encoding": "--encoding", "at": "--at"}


def refuse_character_options(args: argparse.Namespace) -> None:
    given = [flag for name, flag in CHARACTER_ONLY.items() if getattr(args, name, None) not in (None, False)]
    # ablate's --feature has a default: it is the character model's, not given by the user.
    given = [flag for flag in given if not (flag == "--feature" and args.neurons_command == "ablate")]
    if given:
        raise RnntuiError(f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for a character model; a "
                          "sentiment model's units are measured on whole reviews")


def sentiment_model(args: argparse.Namespace):
    from rnntui.cli.sentiment import load_sentiment_model

    refuse_character_options(args)
    if args.layer not in (0, -1):
        raise RnntuiError("a sentiment model has one layer: drop --layer")
    checkpoint = load_sentiment_model(args.checkpoint)
    return checkpoint, checkpoint.build_model().eval()


def validation_reviews(args: argparse.Namespace, checkpoint, limit: int | None = None):
    """The validation reviews the checkpoint's training held out (its recorded split), encoded."""
    from rnntui.cli.sentiment import reviews_from
    from rnntui.sentiment.build import held_out_reviews

    if limit is not None and limit < 1:
        raise RnntuiError(f"--reviews must be at least 1, got {limit}")
    reviews, _ = reviews_from(args.data, args.json)
    return held_out_reviews(reviews, checkpoint, limit)


def cmd_find_reviews(args: argparse.Namespace) -> int:
    from rnntui.neurons.sentiment import sentiment_neuron

    if args.top < 1:
        raise RnntuiError(f"--top must be at least 1, got {args.top}")
    checkpoint, model = sentiment_model(args)
    valid = validation_reviews(args, checkpoint)
    with progress_bar("reading", enabled=not args.json, unit="reviews") as progress:
        answer = sentiment_neuron(model, valid, args.top, progress)
    if args.json:
        print(json.dumps(answer.to_dict()))
        return 0
    hidden = model.config.hidden_size
    print(f"units of the summary by correlation with the label (fitted on {answer.fit_reviews:,} validation "
          f"reviews; accuracy on the other {answer.held_out_reviews:,})")
    pools = model.config.pooling != "last"  # each unit gives its last state, max and mean: say whose r it is
    print("                  r   alone" + ("  (r of its)" if pools else ""))
    for score in answer.ranked:
        print(f"  unit {score.unit:4d} {direction(score.unit, hidden)}  {score.correlation:+.3f}  {score.accuracy:.4f}"
              + (f"  {score.part}" if pools else ""))
    best = answer.best_single
    print(f"the best unit alone: {best.unit} {direction(best.unit, hidden).strip()}, accuracy {best.accuracy:.4f}")
    print(f"all {hidden * (2 if model.config.bidirectional else 1)} units together: {answer.all_units:.4f}; "
          f"the model itself: {answer.model:.4f}")
    return 0


def direction(unit: int, hidden: int) -> str:
    return "(forward) " if unit < hidden else "(backward)"


def cmd_show_reviews(args: argparse.Namespace) -> int:
    from rnntui.neurons.ablate import check_units
    from rnntui.neurons.sentiment import units_of, word_activations
    from rnntui.sentiment.predict import Predictor
    from rnntui.sentiment.tokens import tokenize

    checkpoint, model = sentiment_model(args)
    if (args.review is None) == (args.text_file is None):
        raise RnntuiError("give the review to show: --review TEXT or --text-file F (one of them)")
    unit = check_units([args.unit], units_of(model))[0]
    if args.state == "cell":
        raise RnntuiError("show reads a sentiment model's hidden state: drop --state cell")
    text = args.review if args.review is not None else text_file(args.text_file)
    predictor = Predictor(model, checkpoint.vocab)
    trace = predictor.explain(text)  # EmptyReview (one line) when it has no words
    words = tokenize(text)[:len(trace)]
    values = word_activations(model, [checkpoint.vocab.index.get(w, 1) for w in words])[:, unit].tolist()
    if args.json:
        print(json.dumps({"unit": unit, "words": words, "values": [round(v, 5) for v in values],
                          "probability_positive": [round(e.probability, 5) for e in trace]}))
        return 0
    found, top = levels(values)
    print(f"unit {unit} {direction(unit, model.config.hidden_size).strip()} after each word, and P(positive) "
          f"after it (levels 1 = {-top:.3f}, 5 = 0, 9 = {top:.3f})")
    for word, value, level, effect in zip(words, values, found, trace, strict=True):
        print(f"{level}  {value:+.3f}  P {effect.probability:.3f}  {word}")
    return 0


def cmd_ablate_reviews(args: argparse.Namespace) -> int:
    from rnntui.neurons.sentiment import ablate_reviews

    checkpoint, model = sentiment_model(args)
    valid = validation_reviews(args, checkpoint, args.reviews)
    with progress_bar("reading", enabled=not args.json, unit="reviews") as progress:
        result = ablate_reviews(model, valid, args.unit, args.value, args.state or "hidden", args.random_sets,
                                args.seed, progress)
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    units = ", ".join(map(str, result.clamped.units))
    print(f"summary unit(s) {units} held at {result.value:g} at every word, over {result.reviews:,} validation reviews")
    print(f"{'':24}{'loss':>8}  accuracy")
    for label, loss in [("as trained", result.base), ("units switched off", result.clamped)]:
        print(f"{label:24}{loss.text:8.4f}  {loss.feature:.4f}")
    for k, loss in enumerate(result.random, 1):
        drawn = ", ".join(map(str, loss.units))
        print(f"{'random set ' + str(k):24}{loss.text:8.4f}  {loss.feature:.4f}  (units {drawn})")
    if result.random:
        print(f"{result.random_as_harmful} of {len(result.random)} random sets lowered the accuracy as much as these "
              "units do")
    return 0
