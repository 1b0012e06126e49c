"""``rnntui sentiment soup``: average classifiers fine-tuned from one language model into one
(sentiment/soup.py), chosen on the validation reviews they held out."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rnntui.cli.common import apply_threads
from rnntui.cli.run import WRITABLE_HINT, replace_hint, run_provenance
from rnntui.cli.sentiment import load_sentiment_model, reviews_from
from rnntui.core.errors import RnntuiError


def cmd_soup(args: argparse.Namespace) -> int:
    from rnntui.core.files import check_writable, output_target, refuse_replacing, same_file
    from rnntui.core.save import save_checkpoint_safely
    from rnntui.sentiment.build import held_out_reviews, reviews_record
    from rnntui.sentiment.checkpoint import save_sentiment_checkpoint
    from rnntui.sentiment.epochs import data_change_note
    from rnntui.sentiment.soup import Ingredient, check_ingredients, greedy_soup, soup_checkpoint
    from rnntui.sentiment.trainer import evaluate_reviews

    apply_threads(args.threads)
    out = output_target(Path(args.out))
    hint = replace_hint(out, resumable=False)
    refuse_replacing(out, args.overwrite, hint)  # before the reviews are read, and again when saving
    for i, path in enumerate(args.checkpoints):
        if same_file(path, out):  # replacing it would lose a classifier the soup's record names
            raise RnntuiError(f"--out {args.out} is one of the classifiers to average; write the soup to another "
                              "file")
        if any(same_file(path, earlier) for earlier in args.checkpoints[:i]):
            raise RnntuiError(f"{path} is given twice: each classifier goes into the soup once")
    ingredients = [Ingredient(Path(path).name, load_sentiment_model(Path(path))) for path in args.checkpoints]
    check_ingredients(ingredients)
    base = ingredients[0].checkpoint
    reviews, name = reviews_from(args.data, args.json)
    # Other reviews split the same way are not those the classifiers held out: choosing on them
    # could choose on reviews they trained on.
    change = data_change_note(base.data, reviews_record(reviews, base, name), "soup's classifiers",
                              "pass the reviews they trained on with --data")
    if change:
        raise RnntuiError(change)
    valid = held_out_reviews(reviews, base)
    if len(valid) == 0:
        raise RnntuiError(f"{name} has no validation reviews to choose the soup on")
    # Now, rather than once every classifier was measured; not before the checks above, since it
    # makes the folder, which a refusal would leave behind.
    check_writable(out, WRITABLE_HINT)
    model = base.build_model()

    def measure(state: dict) -> tuple[float, float]:
        model.load_state_dict(state)
        return evaluate_reviews(model, valid)

    def report(what: str, loss: float, accuracy: float) -> None:
        if not args.json:
            print(f"validation accuracy {accuracy:.4f}, loss {loss:.4f}: {what}", flush=True)

    soup = greedy_soup(ingredients, measure, report)
    checkpoint = soup_checkpoint(soup, run_provenance())
    target = save_checkpoint_safely(out, lambda path: save_sentiment_checkpoint(checkpoint, path), args.overwrite,
                                    hint)
    members = [member.name for member in soup.members]
    if args.json:
        print(json.dumps({"out": str(target), "members": members, "val_accuracy": soup.accuracy,
                          "val_loss": soup.loss, "valid_reviews": len(valid),
                          "tried": [{"members": names, "val_accuracy": accuracy, "val_loss": loss}
                                    for names, loss, accuracy in soup.tried]}))
    elif len(members) == 1:
        print(f"no average did as well as {members[0]} alone on the {len(valid):,} validation reviews "
              f"({soup.accuracy:.4f}); wrote its weights to {target}")
    else:
        print(f"soup of {len(members)} ({', '.join(members)}): validation accuracy {soup.accuracy:.4f} on "
              f"{len(valid):,} reviews; wrote {target}")
    return 0
