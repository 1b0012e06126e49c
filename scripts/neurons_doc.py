"""Write docs/inside-the-network.md: what the bundled models hold, measured by ``rnntui neurons``
(each table under the command that produced it).

    python scripts/neurons_doc.py [--corpus mysterious-island-1268-0.txt] [--data aclImdb_v1-labelled.tar.gz]

About ten minutes on 2 cores: each ``find`` reads 100,000 characters, each ``ablate`` the whole
held-out tail seven times over (as trained, the units off, five random sets), the sentiment
commands the 5,000 validation reviews. Only the validation reviews are read, never the test ones.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnntui.cli import main as rnntui  # noqa: E402
from rnntui.neurons import FEATURE_NAMES  # noqa: E402
from rnntui.neurons.features import TARGETS  # noqa: E402

SHARED = ROOT.parent / "shared"
BOOK = SHARED / "corpora" / "mysterious-island-1268-0.txt"
REVIEWS = SHARED / "datasets" / "aclImdb_v1-labelled.tar.gz"
# A passage written for this page (not the book's), to show units on.
PASSAGE = ("\u201cWhere are we?\u201d asked the sailor, and nobody answered him.\n"
           "The engineer (who had said nothing) looked at the sea. \u201cOn an island,\u201d he said at last.\n")


class Page:
    def __init__(self, paths: dict[str, Path]) -> None:
        self.lines: list[str] = []
        self.paths = paths  # shown by name only: the page names no local folder

    def command(self, *argv: str) -> str:
        """Run ``rnntui argv``, put the command on the page, return its output."""
        shown = " ".join(a if not any(a == str(p) for p in self.paths.values()) else Path(a).name for a in argv)
        output = io.StringIO()
        started = time.perf_counter()
        with contextlib.redirect_stdout(output):
            code = rnntui(list(argv))
        if code != 0:
            raise SystemExit(f"rnntui {shown} failed ({code})")
        seconds = time.perf_counter() - started
        self.lines += ["", "```sh", f"rnntui {shown.replace(' --json', '')}", "```",
                       f"<sub>{seconds:.1f} s</sub>", ""]
        return output.getvalue()

    def add(self, *lines: str) -> None:
        self.lines += lines


def char_model(page: Page, corpus: Path) -> None:
    page.add("", "## The character model", "",
             "The bundled model (`rnntui/assets/mysterious-island-lstm.ckpt`, one LSTM layer of 512 units) "
             "read the first 100,000 characters of the book's held-out tail (the last tenth, which it never "
             "trained on). Each unit of its cell state and of its hidden state is ranked by the |Pearson "
             "correlation| of its value at each character with the feature (`rnntui neurons find`); the top "
             "three of each are listed, with r.")
    found = {}
    for feature in FEATURE_NAMES:
        found[feature] = json.loads(page.command("neurons", "find", "--feature", feature, "--corpus", str(corpus),
                                                 "--top", "3", "--json"))
        page.add("| state | units (r) |", "| --- | --- |")
        for state in ("cell", "hidden"):
            units = ", ".join(f"{r['unit']} ({r['score']:+.2f})" for r in found[feature][state])
            page.add(f"| {state} | {units} |")
    page.add("", "### Switching units off", "",
             "Each unit that tracks a feature best (its cell state) held at 0 at every step, over the whole "
             "held-out tail (`rnntui neurons ablate`): the loss in nats per character on every character, and "
             "on the characters that the feature should help predict, against five random sets of as many "
             "units (seeded).")
    rows = []
    for feature in ("inside-quotes", "line-position", "word-start"):
        unit = found[feature]["cell"][0]["unit"]
        result = json.loads(page.command("neurons", "ablate", "--unit", str(unit), "--feature", feature,
                                         "--corpus", str(corpus), "--random-sets", "5", "--json"))
        rows.append((feature, unit, result))
    page.add("| feature | unit | on | as trained: all / feature's | unit off: all / feature's | "
             "random units off: feature's (range) | random sets as harmful |",
             "| --- | ---: | --- | --- | --- | --- | ---: |")
    for feature, unit, result in rows:
        random_losses = [loss["feature"] for loss in result["random"]]
        page.add(f"| {feature} | {unit} | {TARGETS[feature]} ({result['feature_characters']:,}) | "
                 f"{result['base']['text']:.4f} / {result['base']['feature']:.4f} | "
                 f"{result['clamped']['text']:.4f} / {result['clamped']['feature']:.4f} | "
                 f"{min(random_losses):.4f} – {max(random_losses):.4f} | {result['random_as_harmful']} of 5 |")
    quote_unit = found["inside-quotes"]["cell"][0]["unit"]
    with tempfile.TemporaryDirectory() as folder:
        passage = Path(folder) / "passage.txt"
        passage.write_text(PASSAGE, encoding="utf-8")
        page.paths["passage"] = passage
        page.add("", f"### Unit {quote_unit} on a passage", "",
                 "The quote unit's cell state on two lines written for this page, as `show` prints it when its "
                 "output is not a terminal: under each line of text, each character's level from 1 (the most "
                 "negative) through 5 (zero) to 9 (the most positive); on a terminal the text itself is "
                 "coloured, blue below zero and red above.")
        shown = page.command("neurons", "show", "--unit", str(quote_unit), "--text-file", str(passage))
    page.add("```text", *shown.rstrip("\n").splitlines()[1:], "```")


def review_model(page: Page, data: Path) -> None:
    from rnntui.core.paths import bundled_sentiment_model_path
    from rnntui.sentiment.checkpoint import load_sentiment_checkpoint

    config = load_sentiment_checkpoint(bundled_sentiment_model_path()).model_config
    hidden, units = config.hidden_size, config.hidden_size * 2
    summary = (f"the forward direction's last hidden state and the backward one's, {units} units"
               if config.pooling == "last" else
               f"each of its {units} units (the forward direction's, then the backward one's) gives its last state, "
               "its maximum and its mean over the review (concat pooling); a unit's regression reads all three, and "
               "its correlation is that of the one that correlates most (the part column)")
    page.add("", "## The review model", "",
             f"The bundled sentiment model (`rnntui/assets/imdb-sentiment.ckpt`, a bidirectional LSTM of {hidden} "
             f"units each way) judges a review from its summary: {summary}. Measured on the 5,000 validation reviews "
             "that its training held out (never the test reviews), cut in two halves: the units are ranked, and a "
             "logistic regression fitted (L-BFGS, standardised inputs, a small L2 penalty), on one; the accuracies "
             "are on the other.")
    answer = json.loads(page.command("neurons", "find", "--sentiment", "--data", str(data), "--top", "5", "--json"))
    pools = config.pooling != "last"
    page.add("| unit | direction | r with the label | accuracy alone |" + (" part |" if pools else ""),
             "| ---: | --- | ---: | ---: |" + (" --- |" if pools else ""))
    for score in answer["ranked"]:
        page.add(f"| {score['unit']} | {'forward' if score['unit'] < hidden else 'backward'} | "
                 f"{score['correlation']:+.3f} | {score['accuracy']:.4f} |" + (f" {score['part']} |" if pools else ""))
    best = answer["best_single"]
    page.add("", f"**The sentiment-unit answer.** The best single unit (chosen on the fitting half) is unit "
             f"{best['unit']}: alone it classifies {best['accuracy']:.1%} of the held-out half right; a logistic "
             f"regression on all {units} units, {answer['all_units_accuracy']:.1%}; the model itself, "
             f"{answer['model_accuracy']:.1%}.")
    result = json.loads(page.command("neurons", "ablate", "--sentiment", "--unit", str(best["unit"]), "--data",
                                     str(data), "--random-sets", "5", "--json"))
    random_accuracy = [loss["accuracy"] for loss in result["random"]]
    page.add("| | loss | accuracy |", "| --- | ---: | ---: |",
             f"| as trained | {result['base']['loss']:.4f} | {result['base']['accuracy']:.4f} |",
             f"| unit {best['unit']} held at 0 at every word | {result['clamped']['loss']:.4f} | "
             f"{result['clamped']['accuracy']:.4f} |",
             f"| five random units instead (range) | | {min(random_accuracy):.4f} – {max(random_accuracy):.4f} |",
             "", f"{result['random_as_harmful']} of the 5 random units lowered the accuracy as much.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=BOOK)
    parser.add_argument("--data", type=Path, default=REVIEWS)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "inside-the-network.md")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice; 1 on a busy machine)")
    args = parser.parse_args()
    for path in (args.corpus, args.data):
        if not path.exists():
            print(f"missing {path}: pass --corpus / --data", file=sys.stderr)
            return 2
    import torch

    from rnntui.core.device import cpu_name

    if args.threads:
        torch.set_num_threads(args.threads)

    page = Page({"corpus": args.corpus, "data": args.data})
    page.add("# Inside the network", "",
             "What single units of the bundled models track, and what switching them off changes, measured by "
             "`rnntui neurons` (each table under the command that produced it; `python scripts/neurons_doc.py` "
             "writes this page again). Karpathy, Johnson & Fei-Fei (2015) found cells of character LSTMs that "
             "track quotes, line length and brackets; a unit that correlates with something may still matter "
             "little, so each finding is followed by switching the unit off, against random units switched off "
             "instead. In the app, the command palette's *Inside the network* (ctrl+p) does the same for the "
             "current model ([below](#in-the-app)).", "",
             f"Measured on {cpu_name()}, {torch.get_num_threads()} torch thread(s), torch {torch.__version__} "
             f"(each command's time under it; the machine was shared: load average "
             f"{os.getloadavg()[0]:.0f} at the start).", "",
             "## How the commands measure", "",
             "- **find** reads the text once, in parallel streams (each warmed on the 500 characters before its "
             "stretch; `benchmarks/neurons.py` measures what that changes), and ranks every unit by |Pearson r| "
             "with the feature. With `--span START:END` it ranks by selectivity instead: the unit's mean inside "
             "the span minus its mean outside, over its standard deviation over the whole text.",
             "- **ablate** holds the units at a value (`--value`, 0) at every step (a cell-state unit's hidden "
             "state follows: h = o·tanh(0) = 0) and reports the loss of predicting each character from the text "
             "before it, on all characters and on the feature's: " +
             "; ".join(f"{name}: {target}" for name, target in TARGETS.items()) + ".",
             "- the **features**: inside-quotes is 1 from an opening “ to its closing ” (straight quotes "
             "alternate); line-position counts the characters since the last line break; inside-parentheses is "
             "the depth of open parentheses; word-start is 1 on a word's first letter; after-sentence-end is 1 "
             "from . ! or ? to the next letter.", "")
    char_model(page, args.corpus)
    review_model(page, args.data)
    page.add("", *APP_SECTION)
    args.out.write_text("\n".join(page.lines).replace("\n\n\n", "\n\n") + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


APP_SECTION = (
    '## In the app',
    '',
    "The command palette's *Inside the network* (ctrl+p) opens the view for the current model: it reads "
    "the first 20,000 characters of the model's held-out text once (a progress line says how far it has "
    'got) and shows the first 600 coloured by one unit, blue below zero and red above.',
    '',
    '- **A feature**: ←/→ choose a built-in feature, ↑/↓ one of the units that follow it best (the cell '
    "state's four and the hidden state's four, by correlation).",
    '- **Your own expression**: `/` opens an input; enter ranks the units by how well they follow the '
    "expression's matches. A regular expression that is not valid, or that matches nothing, is said in a "
    'notification.',
    '- **One step**: `s` puts a cursor in the text (←/→ a character, ctrl+←/→ a word, ↑/↓ another unit). '
    "For the character under it, the chosen unit's input, forget and output gates, its cell state and "
    "hidden state, and the five likeliest next characters as bars; for a plain RNN, the chapter's sum `h "
    '= tanh(W_xh x + W_hh h + b)` with its numbers. `esc` goes back to the list.',
    '- **A span**: while stepping, `m` where a span begins and `m` again where it ends ranks the units by'
    " how selectively they are on there and off elsewhere (LSTMVis's select view).",
    '- **Switching off**: `x` marks units (of one state) and `a` switches them off, or the chosen unit '
    'when none is marked. The view shows the loss on every character and on the characters the feature '
    "should help predict (or the expression's matches, or the span) with the units on and off, how many "
    'of three random sets of as many units did as much harm, and a reply of 80 characters continuing the '
    'text with the units on beside one with them off, drawn with the same random seed, the part after '
    'they differ underlined. While stepping, the next-character bars with the marked units off stand '
    "beside the model's own.",
    '- **The review model**: in the reviews mode (f7), or with `r` once a review model is loaded, the '
    "view reads the review being typed there (or one typed in the view's own input; enter reads it): the "
    'verdict as it reads the review word by word, P(positive) after each word as a sparkline with the '
    'words coloured by it, and the units of the summary whose values follow that trace best, with the '
    "chosen one's value at each word (↑/↓).",
    "- **The sentiment neuron**: in the review model's view, **f9** asks whether one unit alone "
    "classifies, on the review model's validation reviews: the best single unit's accuracy against all "
    "units' together and the model's own, as `rnntui neurons find` prints it. The reviews are those given"
    ' with `--reviews-data` or the reviews mode\'s "Movie reviews to train on" command, else the cached '
    'dataset; without any, a notification says how to give them.',
    '',
    'Everything is computed off the event loop: the view keeps answering keys while it reads.',
)


if __name__ == "__main__":
    raise SystemExit(main())
