"""Where rnntui keeps its files. Environment variables override every default."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "rnntui"
# Environment overrides, documented in docs/files.md.
ENV_DATA_DIR = "RNNTUI_DATA_DIR"
ENV_CACHE_DIR = "RNNTUI_CACHE_DIR"
ENV_CORPUS_URL = "RNNTUI_CORPUS_URL"


def data_dir() -> Path:
    override = os.environ.get(ENV_DATA_DIR)
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


def checkpoints_dir() -> Path:
    """Default folder for checkpoints: ``user_data_dir("rnntui")/checkpoints``."""
    return data_dir() / "checkpoints"


def sweeps_dir() -> Path:
    """Where ``rnntui sweep`` keeps its studies (``NAME.db``) and their trials (``NAME/``)."""
    return data_dir() / "sweeps"


def transcripts_dir() -> Path:
    """Where the app's exported transcripts (ctrl+f) go."""
    return data_dir() / "transcripts"


def seed_history_path() -> Path:
    """The app's recall list of typed seed texts."""
    return data_dir() / "seed-history.json"


def settings_path() -> Path:
    """The app's scale factor, reply length and theme, kept between sessions."""
    return data_dir() / "settings.json"


def cache_dir() -> Path:
    override = os.environ.get(ENV_CACHE_DIR)
    return Path(override) if override else Path(platformdirs.user_cache_dir(APP_NAME))


def default_corpus_path() -> Path:
    return cache_dir() / "mysterious-island-1268-0.txt"


def bundled_model_path() -> Path:
    """The pretrained default model shipped inside the package."""
    return Path(__file__).parents[1] / "assets" / "mysterious-island-lstm.ckpt"


def bundled_sentiment_model_path() -> Path:
    """The pretrained sentiment model (IMDb movie reviews) shipped inside the package."""
    return Path(__file__).parents[1] / "assets" / "imdb-sentiment.ckpt"
