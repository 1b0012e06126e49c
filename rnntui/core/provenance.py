"""How a model was made, as its checkpoint records it (``provenance``), across the runs that
made it: what the command line's resumed runs and the app's sessions keep of the runs before."""

from __future__ import annotations

# What a model started from (a fine-tuned character model's model, a review model's language
# model): a fact of the model, so every later run's record keeps it.
STARTS = ("finetuned_from", "from_lm")
CHAIN = " && "  # between the commands of a model's runs, in order


def chains_runs(provenance: dict | None) -> bool:
    """Whether a record covers several runs (its command and wall time chained by
    ``resumed_provenance``) rather than the last one alone."""
    return CHAIN in str((provenance or {}).get("command", ""))


def resumed_provenance(before: dict | None, run: dict) -> dict:
    """A resumed run's record: the runs before it stay in it. Commands chain with " && " (as
    the bundled model's record reads: each command in order reproduces the model), wall times
    add up, and what the model started from is kept; the rest is this run's."""
    before = before or {}
    chained = dict(run)
    if isinstance(before.get("command"), str) and before["command"]:
        chained["command"] = f"{before['command']}{CHAIN}{run['command']}"
    if isinstance(before.get("wall_time_s"), (int, float)) and isinstance(run.get("wall_time_s"), (int, float)):
        chained["wall_time_s"] = round(before["wall_time_s"] + run["wall_time_s"], 1)
    return {**chained, **kept_starts(before)}


def kept_starts(provenance: dict | None) -> dict:
    """What a model's record says it started from (``STARTS``), for every later run's record."""
    return {start: provenance[start] for start in STARTS if (provenance or {}).get(start)}
