"""Inside the network: what each unit of a trained model tracks (``find``), its value at each
character or word (``activations``, ``step``), and what switching it off changes (``ablate``);
for the character model and the review model (``sentiment``). Engine only: the CLI and the app
are clients of it."""

# The built-in features (``features.FEATURES``), named here too so that the command line's
# parser offers them without importing numpy.
FEATURE_NAMES = ("inside-quotes", "line-position", "inside-parentheses", "word-start", "after-sentence-end",
                 "vowel", "digit")
