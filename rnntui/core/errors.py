"""The one exception type the CLI and the app show to people as a single line."""


class RnntuiError(Exception):
    """A problem with the user's input or environment, worded for the user.

    The CLI prints ``str(error)`` on one stderr line and exits with status 2;
    the app shows it as a notification. Anything else is a bug.
    """


class CorpusError(RnntuiError):
    """The corpus cannot be read or is unusable for training."""


class SeedTextError(RnntuiError):
    """The seed text cannot be fed to the model (empty or unknown characters)."""


class CheckpointError(RnntuiError):
    """A checkpoint cannot be read, verified or written."""


class StorageError(RnntuiError):
    """A file that is not a checkpoint (settings, seed history, a transcript, the cache, a metrics
    file) cannot be read or written."""


class DownloadError(RnntuiError):
    """The default corpus could not be fetched."""
