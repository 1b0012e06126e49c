"""Bounds on what generation reads, without torch: the command line's parser names them in its
help, and building it must not import torch (the app's first frame waits for the parser)."""

MAX_SCALE_FACTOR = 1000.0
# rnntui generate reads at most the end of a seed text this long: a character model's memory is
# far shorter, and all of a 10 MB seed file took minutes to read (over an hour with --adapt).
MAX_SEED_CHARACTERS = 100_000
