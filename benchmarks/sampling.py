"""What the scale factor, top-k and top-p do to the text: slips against variety.

    python benchmarks/sampling.py [--corpus mysterious-island-1268-0.txt] [--samples 8] [--length 2000]

For each setting, ``--samples`` continuations of "The island" from the bundled model (or
``--checkpoint``), each from its own random seed, and three figures:

- non-words: the share of the words written (runs of letters) that occur nowhere in the novel,
  mostly misspellings and invented words;
- distinct words: distinct words per 100 words written, averaged over the samples (lower: the
  same words again and again);
- repeated 4-grams: the share of four-word sequences that already occurred earlier in the
  same sample (loops);

and the generation speed in that setting (characters/s, batch 1, one torch thread).
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import torch

from rnntui.charlm.checkpoint import load_checkpoint
from rnntui.charlm.corpus import read_text
from rnntui.charlm.sampling import Sampler, generate_text
from rnntui.core.paths import bundled_model_path, default_corpus_path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpora" / "mysterious-island-1268-0.txt"
# (scale factor, top-k, top-p): the book's settings, then cuts at the book's 1.0, then the
# sharper scale factors people use instead of a cut.
SETTINGS = [(1.0, 0, 1.0), (1.0, 0, 0.95), (1.0, 0, 0.9), (1.0, 0, 0.8), (1.0, 5, 1.0), (1.0, 10, 1.0),
            (1.5, 0, 1.0), (1.5, 0, 0.9), (2.0, 0, 1.0), (3.0, 0, 1.0)]
WORD = re.compile(r"[a-z]+")


def figures(texts: list[str], novel_words: set[str]) -> dict[str, float]:
    words_total = non_words = grams_total = repeated = 0
    distinct = []
    for text in texts:
        words = WORD.findall(text.lower())
        words_total += len(words)
        non_words += sum(word not in novel_words for word in words)
        distinct.append(100 * len(set(words)) / max(len(words), 1))
        seen: set[tuple[str, ...]] = set()
        for i in range(len(words) - 3):
            gram = tuple(words[i:i + 4])
            repeated += gram in seen
            seen.add(gram)
            grams_total += 1
    return {"non_words": 100 * non_words / max(words_total, 1), "distinct": sum(distinct) / len(distinct),
            "repeated": 100 * repeated / max(grams_total, 1), "words": words_total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="model (default: the bundled one)")
    parser.add_argument("--corpus", type=Path, help="the novel, for its words (default: the shared "
                        "copy, else the cached download)")
    parser.add_argument("--seed-text", default="The island")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--length", type=int, default=2000)
    args = parser.parse_args()

    corpus = args.corpus or (SHARED if SHARED.is_file() else default_corpus_path())
    if not corpus.is_file():
        raise SystemExit(f"no copy of the novel at {corpus}: pass --corpus PATH (or run rnntui corpus --fetch)")
    novel_words = set(WORD.findall(read_text(corpus)[0].lower()))
    checkpoint = load_checkpoint(args.checkpoint or bundled_model_path())
    model = checkpoint.build_model()
    torch.set_num_threads(1)  # batch-1 sampling is latency-bound; keeps runs comparable

    print(f"# {(args.checkpoint or bundled_model_path()).name}: {args.samples} samples of {args.length:,} "
          f"characters from {args.seed_text!r} per row, random seeds 0-{args.samples - 1}")
    print()
    print("| scale factor | top-k | top-p | non-words (%) | distinct words per 100 | repeated 4-grams (%) | chars/s |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for scale_factor, top_k, top_p in SETTINGS:
        texts, seconds = [], 0.0
        for seed in range(args.samples):
            sampler = Sampler(model, checkpoint.vocab, scale_factor, seed, top_k=top_k, top_p=top_p)
            started = time.perf_counter()
            texts.append(generate_text(sampler, args.seed_text, args.length)[len(args.seed_text):])
            seconds += time.perf_counter() - started
        result = figures(texts, novel_words)
        print(f"| {scale_factor:g} | {top_k or '-'} | {top_p if top_p < 1 else '-'} | {result['non_words']:.1f} | "
              f"{result['distinct']:.1f} | {result['repeated']:.1f} | {args.samples * args.length / seconds:,.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
