"""rnntui: train a character-level RNN on a book and talk to it, in the terminal."""

__version__ = "0.1.0"
