"""A study's results for people: a table of its trials (the best marked), a plot of the objective
against each setting varied (plotext, in the terminal), or one JSON object."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rnntui.core.info import counted
from rnntui.sweep.space import show


def trial_rows(study) -> list[dict]:
    """Each trial of the study (but those started past its budget), oldest first."""
    from rnntui.sweep.study import best_trial

    best = best_trial(study)
    trials = [t for t in study.get_trials(deepcopy=False) if not t.user_attrs.get("surplus")]
    rerun = {n: t.number for t in trials for n in t.system_attrs.get("retry_history", [])}
    rows = []
    for t in trials:
        state = t.state.name.lower()
        note = t.user_attrs.get("error")
        if state == "fail" and note is None:
            state, note = "interrupted", (f"re-run as #{rerun[t.number]}" if t.number in rerun else None)
        elif state == "fail":
            state = "failed"
        elif state == "pruned":
            note = f"at step {t.user_attrs.get('steps', 0):,}"
        if note is None and "failed_trial" in t.system_attrs:
            note = f"re-run of #{t.system_attrs['failed_trial']}"
        checkpoint = t.user_attrs.get("checkpoint")
        rows.append({
            "trial": t.number, "settings": dict(t.params), "state": state,
            "objective": t.value if state == "complete" else None,
            "steps": t.user_attrs.get("steps"), "per_s": t.user_attrs.get("per_s"),
            "seconds": t.user_attrs.get("seconds"),
            "best": best is not None and t.number == best.number, "note": note,
            "checkpoint": checkpoint if checkpoint and Path(checkpoint).is_file() else None,
            "metrics": checkpoint + ".metrics.jsonl" if checkpoint else None,
        })
    return rows


def summary(study) -> dict:
    from rnntui.core.tasks import TASKS as MODELS
    from rnntui.sweep.objective import TASKS

    record = study.user_attrs.get("sweep") or {}
    task = TASKS.get(record.get("task"), TASKS["text"])
    return {"study": study.study_name, "task": task.name, "objective": task.objective,
            "direction": study.direction.name.lower(), "budget": record.get("budget"), "unit": task.unit,
            "speed": MODELS[task.model].rate_label,
            "settings": record.get("settings", {}), "swept": record.get("swept", [])}


def print_results(study, as_json: bool, note: str | None = None) -> None:
    rows = trial_rows(study)
    head = summary(study)
    if as_json:
        best = next((row for row in rows if row["best"]), None)
        print(json.dumps({**head, "best": best, "trials": rows}))
        return
    print(table(head, rows))
    for name in head["swept"]:
        figure = plot(head, rows, name)
        if figure:
            print(figure)
    if note:
        print(note)


def table(head: dict, rows: list[dict]) -> str:
    better = "lower" if head["direction"] == "minimize" else "higher"
    budget = head["budget"]
    budget = (f"{counted(budget, 'epoch')} of the training reviews" if head["task"] == "reviews"
              else counted(budget, "character"))
    lines = [f"study {head['study']}: {head['objective']}, {better} is better; each trial trains on {budget}"]
    objective = "loss" if head["task"] == "text" else "accuracy"
    columns = ["", "trial", *head["swept"], objective, head["speed"], "time", "state"]
    cells = []
    for row in rows:
        value = row["objective"]
        cells.append(["*" if row["best"] else "", f"#{row['trial']}",
                      *(show(row["settings"][name]) if name in row["settings"] else "-" for name in head["swept"]),
                      "-" if value is None else f"{value:.4f}",
                      "-" if row["per_s"] is None else f"{row['per_s']:,.0f}",
                      "-" if row["seconds"] is None else f"{row['seconds']:,.0f} s",
                      row["state"] + (f" ({row['note']})" if row["note"] else "")])
    widths = [max(len(str(c[i])) for c in [columns, *cells]) for i in range(len(columns))]
    for cell_row in [columns, *cells]:
        lines.append("  ".join(str(c).rjust(w) if i < len(columns) - 1 else str(c)
                               for i, (c, w) in enumerate(zip(cell_row, widths, strict=True))).rstrip())
    best = next((row for row in rows if row["best"]), None)
    if best is None:
        lines.append("no trial has finished yet")
    else:
        where = f": {best['checkpoint']}" if best["checkpoint"] else ""
        lines.append(f"* best: trial #{best['trial']}{where}")
    return "\n".join(lines)


def plot(head: dict, rows: list[dict], name: str) -> str | None:
    """The objective of the finished trials against setting ``name`` (None with fewer than two)."""
    import plotext as plt

    points = [(row["settings"][name], row["objective"]) for row in rows
              if row["objective"] is not None and name in row["settings"]]
    if len(points) < 2:
        return None
    xs, ys = zip(*points, strict=True)
    plt.clear_figure()
    if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs):
        plt.scatter(list(xs), list(ys))
        if min(xs) > 0 and max(xs) / min(xs) >= 8:
            plt.xscale("log")
    else:
        labels = sorted({show(x) for x in xs})
        plt.scatter([labels.index(show(x)) for x in xs], list(ys))
        plt.xticks(list(range(len(labels))), labels)
    plt.plotsize(64, 16)
    plt.title(f"{head['objective']} against {name}")
    plt.xlabel(name)
    figure = plt.build()
    return figure if sys.stdout.isatty() else plt.uncolorize(figure)
