"""``rnntui sweep`` (and ``sentiment sweep``) on tiny models and made-up texts and reviews: a
grid of trials that are normal runs, pruning, an interrupted sweep continued, two workers on one
study, bad settings as one line; ``--tensorboard`` and ``rnntui metrics export`` read back with
TensorBoard's own reader."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnntui.charlm.checkpoint import load_checkpoint
from tests.helpers import reviews_tarball, run

optuna = pytest.importorskip("optuna", reason="rnntui[sweep] is not installed")

TINY = ["--embed-dim", "8", "--hidden-size", "16", "--batch-size", "8", "--device", "cpu", "--precision", "fp32"]


def sweep(capsys, corpus_file, *argv, budget: int = 3000):
    return run(capsys, "sweep", "--corpus", str(corpus_file), "--budget", str(budget), *TINY, *argv)


def study_trials(name: str) -> list:
    from rnntui.sweep.study import default_storage_path

    study = optuna.load_study(study_name=name, storage=f"sqlite:///{default_storage_path(name)}")
    return study.get_trials()


def trials_folder(name: str) -> Path:
    from rnntui.core.paths import sweeps_dir

    return sweeps_dir() / name


def test_a_grid_of_three_trials_are_normal_runs_judged_exactly(capsys, corpus_file):
    code, out, err = sweep(capsys, corpus_file, "--seq-length", "8", "16", "32", "--study", "lengths", "--json")
    assert code == 0, err
    result = json.loads(out)
    trials = result["trials"]
    assert sorted(t["settings"]["seq_length"] for t in trials) == [8, 16, 32]
    assert all(t["state"] == "complete" for t in trials)
    # The same budget of characters, whatever the window: steps = budget / (batch × window).
    folder = trials_folder("lengths")
    for t in trials:
        lines = Path(t["metrics"]).read_text().splitlines()
        assert json.loads(lines[-1])["step"] == round(3000 / (8 * t["settings"]["seq_length"]))
    best = min(trials, key=lambda t: t["objective"])
    assert best["best"] and result["best"]["trial"] == best["trial"]
    # Only the best trial's checkpoint is kept; every metrics file is.
    assert sorted(p.name for p in folder.glob("*.ckpt")) == [f"trial-{best['trial']:04d}.ckpt"]
    assert len(list(folder.glob("*.metrics.jsonl"))) == 3
    checkpoint = load_checkpoint(best["checkpoint"])
    assert checkpoint.train_config["seq_length"] == best["settings"]["seq_length"]
    assert checkpoint.provenance["sweep"]["trial"] == best["trial"]
    # The objective is the exact held-out loss rnntui evaluate gives.
    code, out, _ = run(capsys, "evaluate", "--checkpoint", best["checkpoint"], "--corpus", str(corpus_file), "--json")
    assert code == 0 and json.loads(out)["val_loss"] == pytest.approx(best["objective"], rel=1e-4)
    assert run(capsys, "info", best["checkpoint"])[0] == 0
    # --show prints the table and the plot of the finished study; rerunning has nothing to do.
    code, out, _ = run(capsys, "sweep", "--show", "lengths")
    assert code == 0 and f"* best: trial #{best['trial']}" in out and "seq_length" in out
    assert "chars/s" in out.splitlines()[1]  # the columns: the speed in the model's own unit
    assert "against seq_length" in out
    code, out, _ = sweep(capsys, corpus_file, "--seq-length", "8", "16", "32", "--study", "lengths")
    assert code == 0 and "nothing left to run" in out and len(study_trials("lengths")) == 3


def test_keep_all_keeps_every_checkpoint_and_a_journal_file_holds_the_study(capsys, corpus_file, tmp_path):
    journal = tmp_path / "shared" / "rates.log"
    journal.parent.mkdir()
    code, _, err = sweep(capsys, corpus_file, "--lr", "0.01", "0.02", "--keep-all", "--study", "rates",
                         "--storage", str(journal))
    assert code == 0, err
    assert len(list(trials_folder("rates").glob("*.ckpt"))) == 2
    assert journal.stat().st_size > 0 and not (trials_folder("rates").parent / "rates.db").exists()
    code, out, _ = run(capsys, "sweep", "--show", "rates", "--storage", str(journal), "--json")
    assert code == 0 and [t["state"] for t in json.loads(out)["trials"]] == ["complete", "complete"]


def test_a_hopeless_trial_is_pruned(capsys, corpus_file):
    # The grid's order is fixed (seed 0): 0.02 and 0.01 run first, then a rate that learns nothing
    # stops at the first estimate the pruner weighs (a quarter of the budget).
    code, out, err = sweep(capsys, corpus_file, "--seq-length", "16", "--lr", "1e-7", "0.01", "0.02",
                           "--json", budget=12000)
    assert code == 0, err
    trials = {t["settings"]["lr"]: t for t in json.loads(out)["trials"]}
    assert [trials[lr]["state"] for lr in (0.02, 0.01)] == ["complete", "complete"]
    assert trials[1e-7]["state"] == "pruned" and trials[1e-7]["objective"] is None
    steps = round(12000 / (8 * 16))
    pruned_at = len(Path(trials[1e-7]["metrics"]).read_text().splitlines())
    assert pruned_at < steps // 2


def test_a_range_is_sampled_for_the_trials_asked(capsys, corpus_file):
    code, out, err = sweep(capsys, corpus_file, "--seq-length", "16", "--dropout", "0..0.5", "--trials", "2",
                           "--no-prune", "--json")
    assert code == 0, err
    values = [t["settings"]["dropout"] for t in json.loads(out)["trials"]]
    assert len(values) == 2 and all(0 <= v <= 0.5 for v in values)


def test_reviews_sweep_ranks_by_validation_accuracy(capsys, tmp_path):
    data = reviews_tarball(tmp_path / "reviews.tar.gz", per_folder=40)
    code, out, err = run(capsys, "sentiment", "sweep", "--data", str(data), "--epochs", "1", "--hidden-size", "4", "8",
                         "--embed-dim", "4", "--fc-hidden", "4", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["direction"] == "maximize" and len(result["trials"]) == 2 and result["speed"] == "reviews/s"
    best = result["best"]
    from rnntui.sentiment.checkpoint import load_sentiment_checkpoint

    checkpoint = load_sentiment_checkpoint(best["checkpoint"])
    assert best["objective"] == pytest.approx(checkpoint.history["accuracy"][-1][1])
    assert best["objective"] == max(t["objective"] for t in result["trials"])


def start(corpus_file, *argv) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "rnntui", "sweep", "--corpus", str(corpus_file), *TINY, *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_an_interrupted_sweep_continues_and_reruns_the_lost_trial(capsys, corpus_file, monkeypatch):
    import rnntui.sweep.objective as objective

    argv = ["--seq-length", "8", "16", "--study", "cut", "--no-prune"]
    reported = objective.reported

    def kill_trial_1(task, event, trainer):  # `kill` while the second trial trains
        if trainer.config.steps and "trial-0001" in str(trainer_out()) and event.step == 5:
            os.kill(os.getpid(), signal.SIGTERM)
        return reported(task, event, trainer)

    def trainer_out():
        return sorted(trials_folder("cut").glob("*.metrics.jsonl"))[-1]

    monkeypatch.setattr(objective, "reported", kill_trial_1)
    code, _, err = sweep(capsys, corpus_file, *argv)
    assert code == 130 and "Traceback" not in err and "the same command continues" in err
    states = {t.number: t.state.name for t in study_trials("cut")}
    assert states == {0: "COMPLETE", 1: "FAIL", 2: "WAITING"}
    metrics = (trials_folder("cut") / "trial-0001.ckpt.metrics.jsonl").read_text().splitlines()
    assert json.loads(metrics[-1])["step"] == 5  # it stopped after the step in flight, as any run does

    monkeypatch.setattr(objective, "reported", reported)
    code, out, err = sweep(capsys, corpus_file, *argv, "--json")
    assert code == 0, err
    trials = json.loads(out)["trials"]
    done = [t for t in trials if t["state"] == "complete"]
    assert sorted(t["settings"]["seq_length"] for t in done) == [8, 16]  # none lost, none twice
    lost = next(t for t in trials if t["trial"] == 1)
    assert lost["state"] == "interrupted" and lost["note"] == "re-run as #2"
    assert not (trials_folder("cut") / "trial-0001.ckpt").exists()  # the cut run's checkpoint is not kept


def test_a_trial_whose_process_died_silently_runs_again(capsys, corpus_file, monkeypatch):
    """``kill -9``: no word from the process, only its heartbeat stops; the next worker fails the
    trial once the grace period is over and runs it again."""
    import rnntui.sweep.study as study_module

    monkeypatch.setattr(study_module, "HEARTBEAT_S", 1)
    monkeypatch.setattr(study_module, "GRACE_S", 1)
    argv = ["--seq-length", "8", "16", "--study", "dead", "--no-prune"]
    assert sweep(capsys, corpus_file, *argv, "--trials", "1")[0] == 0
    # A worker starts the second trial and dies: it is running, and its heartbeat stops.
    storage = study_module.open_storage(optuna, "dead", None)
    study = optuna.load_study(study_name="dead", storage=storage,
                              sampler=optuna.samplers.GridSampler({"seq_length": [8, 16]}, seed=0))
    dead = study.ask()
    storage.record_heartbeat(dead._trial_id)
    time.sleep(2.5)
    code, out, err = sweep(capsys, corpus_file, *argv, "--json")
    assert code == 0, err
    trials = json.loads(out)["trials"]
    assert sorted(t["settings"]["seq_length"] for t in trials if t["state"] == "complete") == [8, 16]
    assert next(t for t in trials if t["trial"] == dead.number)["state"] == "interrupted"


@pytest.mark.slow  # two processes; the same path as the test above, with a real `kill`
def test_a_killed_sweep_process_continues(corpus_file):
    argv = ["--seq-length", "8", "16", "--budget", "20000", "--study", "cut", "--no-prune"]
    proc = start(corpus_file, *argv)
    for line in proc.stderr:  # the second trial is under way
        if line.startswith("trial 1:"):
            break
    metrics = trials_folder("cut") / "trial-0001.ckpt.metrics.jsonl"
    deadline = time.monotonic() + 60
    while (not metrics.exists() or not metrics.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr
    assert "the same command continues" in stderr
    states = {t.number: t.state.name for t in study_trials("cut")}
    assert states[0] == "COMPLETE" and states[1] == "FAIL" and states[2] == "WAITING"

    proc = start(corpus_file, *argv, "--json")
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    trials = json.loads(stdout)["trials"]
    done = [t for t in trials if t["state"] == "complete"]
    assert sorted(t["settings"]["seq_length"] for t in done) == [8, 16]  # none lost, none twice
    lost = next(t for t in trials if t["trial"] == 1)
    assert lost["state"] == "interrupted" and lost["note"] == "re-run as #2"


def test_two_workers_share_one_study(corpus_file):
    argv = ["--seq-length", "4", "8", "16", "32", "--budget", "2000", "--study", "shared", "--no-prune", "--json"]
    workers = [start(corpus_file, *argv) for _ in range(2)]
    results = [proc.communicate(timeout=120) for proc in workers]
    assert all(proc.returncode == 0 for proc in workers), [err for _, err in results]
    trials = [t for t in study_trials("shared") if not t.user_attrs.get("surplus")]
    assert sorted(t.params["seq_length"] for t in trials) == [4, 8, 16, 32]  # each once
    assert all(t.state.name == "COMPLETE" for t in trials)
    # Each trial trained in one process: one metrics file each, none trained twice.
    assert len(list(trials_folder("shared").glob("*.metrics.jsonl"))) == 4
    # Which worker ran which trials depends on timing: on idle cores the first can run all four
    # before the second starts one (it then finds the study done and runs none, as it should).
    assert any("trial" in err for _, err in results)


def test_a_missing_extra_is_one_line(capsys, corpus_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna fails as if not installed
    code, out, err = sweep(capsys, corpus_file, "--seq-length", "8", "16")
    assert code == 2 and err.strip() == ("rnntui: error: rnntui sweep needs Optuna, which is not installed: "
                                         "pip install 'rnntui[sweep]'")


@pytest.mark.parametrize("argv, message", [
    (["--lr", "1e-2..1e-4"], "--lr 1e-2..1e-4: the range's low end must be below its high end"),
    (["--lr", "0..1e-2", "log"], "a log scale needs a low end above 0"),
    (["--lr", "1e-3", "1e-4..1e-2"], "a range is LOW..HIGH, alone"),
    (["--lr", "1e-4..1e-2", "linear"], "a range is LOW..HIGH, alone"),
    (["--seq-length", "ten", "20"], "--seq-length: 'ten' is not a whole number"),
    (["--seq-length", "10", "10"], "a value is listed twice"),
    (["--seq-length", "0", "10"], "--seq-length must be from 1"),
    (["--cell", "lstm", "tree"], "--cell: 'tree' is not one of lstm, gru, rnn"),
    (["--cell", "lstm..gru"], "takes values, not a range"),
    (["--dropout", "0..1.5"], "dropout must be in [0, 1)"),
    (["--val-fraction", "0.1", "0.2"], "is the same for every trial; give one value"),
    (["--carry-state", "maybe", "no"], "'maybe' is not yes or no"),
    (["--batch-size", "16"], "give a setting several values or a range to sweep"),
    (["--seq-length", "8", "16", "--study", "../up"], "a study's name is letters"),
    (["--seq-length", "8", "16", "--trials", "0"], "--trials must be at least 1"),
    (["--seq-length", "8", "16", "--budget", "0"], "--budget must be at least 1"),
])
def test_bad_settings_are_one_line_and_start_nothing(capsys, corpus_file, argv, message):
    from rnntui.core.paths import sweeps_dir

    code, _, err = sweep(capsys, corpus_file, *argv)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert message in lines[0]
    assert not sweeps_dir().exists()


def test_show_of_an_unknown_study_is_one_line(capsys):
    code, _, err = run(capsys, "sweep", "--show", "nowhere")
    assert code == 2 and "no study 'nowhere'" in err and len(err.strip().splitlines()) == 1


def test_another_sweep_under_the_same_name_is_refused(capsys, corpus_file):
    assert sweep(capsys, corpus_file, "--seq-length", "8", "16", "--study", "same")[0] == 0
    code, _, err = sweep(capsys, corpus_file, "--seq-length", "8", "32", "--study", "same")
    assert code == 2 and "was started with other settings" in err


def test_a_file_the_sweep_did_not_write_is_never_replaced_or_deleted(capsys, corpus_file):
    folder = trials_folder("mine")
    folder.mkdir(parents=True)
    notes = folder / "trial-0000.ckpt"
    notes.write_text("my notes")
    code, out, err = sweep(capsys, corpus_file, "--seq-length", "8", "16", "--study", "mine", "--json")
    assert code == 0, err
    assert notes.read_text() == "my notes"
    failed = next(t for t in json.loads(out)["trials"] if t["trial"] == 0)
    assert failed["state"] == "failed" and "is not an rnntui checkpoint" in failed["note"]


# -- TensorBoard ---------------------------------------------------------------------------------

def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_tensorboard_holds_the_metrics_files_values(capsys, corpus_file, tmp_path):
    pytest.importorskip("tensorboard", reason="rnntui[tensorboard] is not installed")
    out = tmp_path / "run.ckpt"
    code, _, err = run(capsys, "train", "--corpus", str(corpus_file), "--steps", "12", "--eval-every", "4",
                       "--out", str(out), "--tensorboard", str(tmp_path / "tb"), *TINY)
    assert code == 0, err
    records = [json.loads(line) for line in Path(f"{out}.metrics.jsonl").read_text().splitlines()]
    live = scalars(tmp_path / "tb" / "run")
    assert live["loss/train"] == [(r["step"], pytest.approx(r["train_loss"], abs=1e-6)) for r in records]
    assert live["loss/validation"] == [(r["step"], pytest.approx(r["val_loss"], abs=1e-6))
                                       for r in records if r["val_loss"] is not None]
    assert [s for s, _ in live["learning_rate"]] == list(range(1, 13))
    assert len(live["throughput/chars_per_s"]) == 12
    # Runs already made: the same scalars from the metrics file.
    code, stdout, _ = run(capsys, "metrics", "export", "--tensorboard", str(tmp_path / "later"),
                          f"{out}.metrics.jsonl")
    assert code == 0 and "12 steps" in stdout
    assert scalars(tmp_path / "later" / "run") == live


def test_a_review_language_model_s_run_exports_its_perplexity_and_speed(capsys, tmp_path):
    pytest.importorskip("tensorboard", reason="rnntui[tensorboard] is not installed")
    records = [{"step": step, "epoch": step / 4, "train_loss": 7.0 - step / 10,
                "val_loss": 6.5 if step == 2 else None, "val_perplexity": 665.1 if step == 2 else None,
                "words_per_s": 3800.0 + step, "elapsed": float(step)} for step in (1, 2)]
    metrics = tmp_path / "lm.ckpt.metrics.jsonl"
    metrics.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    code, _, _ = run(capsys, "metrics", "export", "--tensorboard", str(tmp_path / "tb"), str(metrics))
    exported = scalars(tmp_path / "tb" / "lm")
    assert code == 0 and exported["perplexity/validation"] == [(2, pytest.approx(665.1))]
    assert exported["throughput/words_per_s"] == [(1, 3801.0), (2, 3802.0)]


def test_pretraining_writes_tensorboard_as_it_goes(capsys, tmp_path):
    pytest.importorskip("tensorboard", reason="rnntui[tensorboard] is not installed")
    from tests.helpers import TINY_REVIEW_LM, reviews_tarball

    data = reviews_tarball(tmp_path / "r.tar.gz", per_folder=50, unlabelled=120)
    code, _, err = run(capsys, "sentiment", "pretrain", "--data", str(data), "--out", str(tmp_path / "lm.ckpt"),
                       "--epochs", "1", "--tensorboard", str(tmp_path / "tb"), *TINY_REVIEW_LM)
    live = scalars(tmp_path / "tb" / "lm")
    records = [json.loads(line) for line in (tmp_path / "lm.ckpt.metrics.jsonl").read_text().splitlines()]
    assert code == 0, err
    assert [step for step, _ in live["loss/train"]] == [r["step"] for r in records]
    assert [step for step, _ in live["perplexity/validation"]] == [r["step"] for r in records
                                                                   if r["val_perplexity"] is not None]


def test_sweep_trials_go_to_tensorboard(capsys, corpus_file, tmp_path):
    pytest.importorskip("tensorboard", reason="rnntui[tensorboard] is not installed")
    code, _, err = sweep(capsys, corpus_file, "--seq-length", "8", "16", "--study", "tb",
                         "--tensorboard", str(tmp_path / "tb"), budget=2000)
    assert code == 0, err
    runs = sorted(p.name for p in (tmp_path / "tb" / "tb").iterdir())
    assert runs == ["trial-0000", "trial-0001"]
    for trial in runs:  # every step of each trial, as its metrics file has them
        metrics = trials_folder("tb") / f"{trial}.ckpt.metrics.jsonl"
        steps = [json.loads(line)["step"] for line in metrics.read_text().splitlines()]
        assert [step for step, _ in scalars(tmp_path / "tb" / "tb" / trial)["loss/train"]] == steps


def test_tensorboard_missing_is_one_line(capsys, corpus_file, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    code, _, err = run(capsys, "train", "--corpus", str(corpus_file), "--steps", "2", "--out", str(tmp_path / "m.ckpt"),
                       "--tensorboard", str(tmp_path / "tb"), *TINY)
    assert code == 2 and err.strip().endswith("pip install 'rnntui[tensorboard]'")
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "m.ckpt").exists()


def test_export_refuses_what_is_not_a_metrics_file(capsys, tmp_path):
    pytest.importorskip("tensorboard", reason="rnntui[tensorboard] is not installed")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    code, _, err = run(capsys, "metrics", "export", "--tensorboard", str(tmp_path / "tb"), str(notes))
    assert code == 2 and "is not a metrics file" in err


def lm_metrics_file(path: Path) -> Path:
    """A metrics file of two steps, as a language model of reviews writes them."""
    records = [{"step": step, "train_loss": 7.0 - step / 10, "words_per_s": 3800.0 + step} for step in (1, 2)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_exporting_again_into_the_same_folder_is_refused(capsys, tmp_path):
    """A second export beside the first would give TensorBoard every step twice."""
    pytest.importorskip("tensorboard", reason="rnntui[tensorboard] is not installed")
    metrics = lm_metrics_file(tmp_path / "lm.ckpt.metrics.jsonl")
    code, _, _ = run(capsys, "metrics", "export", "--tensorboard", str(tmp_path / "tb"), str(metrics))
    assert code == 0
    code, out, err = run(capsys, "metrics", "export", "--tensorboard", str(tmp_path / "tb"), str(metrics))
    assert code == 2 and "already holds TensorBoard event files" in err and len(err.strip().splitlines()) == 1
    assert out == "" and len(list((tmp_path / "tb" / "lm").iterdir())) == 1
    assert scalars(tmp_path / "tb" / "lm")["loss/train"] == [(1, pytest.approx(6.9)), (2, pytest.approx(6.8))]


def test_two_runs_of_one_name_are_refused_before_either_is_written(capsys, tmp_path):
    pytest.importorskip("tensorboard", reason="rnntui[tensorboard] is not installed")
    first = lm_metrics_file(tmp_path / "a" / "lm.ckpt.metrics.jsonl")
    second = lm_metrics_file(tmp_path / "b" / "lm.ckpt.metrics.jsonl")
    code, _, err = run(capsys, "metrics", "export", "--tensorboard", str(tmp_path / "tb"), str(first), str(second))
    assert code == 2 and "would both go to" in err and not (tmp_path / "tb").exists()


def test_the_sequence_length_page_is_written_from_a_sweep(capsys, corpus_file, tmp_path, monkeypatch):
    from tests.helpers import ROOT, run_script

    page = tmp_path / "sequence-length.md"
    code, out, err = run_script(ROOT / "benchmarks" / "sequence_length.py", "--budget", "2000", "--lengths", "8",
                                "40", "--corpus", corpus_file, "--out", page, "--", *TINY,
                                monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err
    text = page.read_text()
    assert "rnntui sweep --study sequence-length-2000 --seq-length 8 40 --budget 2000 --no-prune" in text
    rows = [line for line in text.splitlines() if line.startswith("| 8") or line.startswith("| 40")]
    assert len(rows) == 2 and f"| {round(2000 / (8 * 40))} |" in rows[1]
    assert "The chapter's 40" in text and text.count("```text\nThe island") == 2


@pytest.mark.parametrize("command, configs", [
    (["sweep"], ("rnntui.charlm.trainer.TrainConfig", "rnntui.charlm.model.ModelConfig")),
    (["sentiment", "sweep"],
     ("rnntui.sentiment.trainer.SentimentTrainConfig", "rnntui.sentiment.model.SentimentConfig")),
])
def test_a_sweeps_settings_are_its_train_commands_config_flags(command, configs):
    """Every field of the model's training and model configs that train takes as a flag, but the
    budget and the validation cadence the sweep sets itself."""
    import importlib
    from dataclasses import fields

    from rnntui.cli.parser import build_parser
    from rnntui.cli.sweep_parser import NOT_SWEPT

    parser = build_parser()
    train_flags = set(vars(parser.parse_args([*command[:-1], "train"])))
    names = set()
    for dotted in configs:
        module, name = dotted.rsplit(".", 1)
        names |= {f.name for f in fields(getattr(importlib.import_module(module), name))}
    settings = parser.parse_args(command).sweep_settings
    assert set(settings) == (names & train_flags) - set(NOT_SWEPT)
