"""Sweeps: many runs of one model with different settings, compared by one objective, on Optuna
(the optional extra ``rnntui[sweep]``). ``space`` reads what varies, ``study`` keeps the trials in
Optuna's storage, ``objective`` says what each trial trains and how it is judged, ``report``
shows the results."""

from __future__ import annotations

from rnntui.core.errors import RnntuiError

INSTALL = "pip install 'rnntui[sweep]'"


def require_optuna():
    """The optuna module, or the one-line error that names the extra to install."""
    try:
        import optuna
    except ImportError:
        raise RnntuiError(f"rnntui sweep needs Optuna, which is not installed: {INSTALL}") from None
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # rnntui says what happens, once
    return optuna
