import json
import os
import signal
import subprocess
import sys

import pytest

from rnntui.charlm.checkpoint import load_checkpoint
from rnntui.charlm.corpus import load_corpus
from rnntui.charlm.info import checkpoint_info, info_lines
from rnntui.charlm.sampling import Sampler, generate_text
from rnntui.cli import main
from rnntui.core.paths import bundled_model_path
from tests.helpers import TINY, disk_full, hang_up, read_terminal, run, run_in_terminal


@pytest.fixture
def trained(capsys, corpus_file, tmp_path):
    out = tmp_path / "m.ckpt"
    code, stdout, _ = run(capsys, "train", "--corpus", str(corpus_file), "--steps", "10", "--out", str(out), *TINY)
    assert code == 0, stdout
    return out


def test_train_plain_lines_and_checkpoint(trained, capsys):
    ckpt = load_checkpoint(trained)
    assert ckpt.step == 10 and len(ckpt.history["train"]) == 10 and len(ckpt.history["val"]) == 2
    metrics = (trained.parent / "m.ckpt.metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in metrics] == list(range(1, 11))


def test_train_json_and_resume_continues_the_count(trained, corpus_file, capsys):
    code, out, _ = run(capsys, "train", "--corpus", str(corpus_file), "--resume", str(trained),
                       "--steps", "14", "--json")
    assert code == 0
    steps = [json.loads(line)["step"] for line in out.splitlines()]
    assert steps == [11, 12, 13, 14]
    assert load_checkpoint(trained).step == 14


def test_resume_to_a_step_already_reached_says_so_and_changes_nothing(trained, corpus_file, capsys):
    before = trained.read_bytes()
    metrics = trained.parent / "m.ckpt.metrics.jsonl"
    lines = metrics.read_text()
    code, out, _ = run(capsys, "train", "--corpus", str(corpus_file), "--resume", str(trained), "--steps", "5")
    assert code == 0 and "already at step 10: nothing to train" in out and "saved" not in out
    assert trained.read_bytes() == before and metrics.read_text() == lines


def test_samples_while_training_leave_the_training_as_it_was(trained, corpus_file, tmp_path, capsys):
    import torch

    out = tmp_path / "sampled.ckpt"
    code, stdout, _ = run(capsys, "train", "--corpus", str(corpus_file), "--steps", "10", "--out", str(out),
                          *TINY, "--json", "--sample-every", "4", "--sample-length", "30", "--seed-text", "The")
    assert code == 0
    records = [json.loads(line) for line in stdout.splitlines()]
    samples = {r["step"]: r["sample"] for r in records if "sample" in r}
    assert sorted(samples) == [4, 8]
    assert all(text.startswith("The") and len(text) == 3 + 30 for text in samples.values())
    # The samples draw from a generator of their own: the weights are those of the run without.
    plain, sampled = load_checkpoint(trained).model_state, load_checkpoint(out).model_state
    assert all(torch.equal(plain[key], sampled[key]) for key in plain)
    assert "sample" not in (tmp_path / "sampled.ckpt.metrics.jsonl").read_text()
    # Plain output: the sample under its step's line.
    code, stdout, _ = run(capsys, "train", "--corpus", str(corpus_file), "--resume", str(out), "--steps", "12",
                          "--sample-every", "2", "--sample-length", "20", "--log-every", "1")
    lines = stdout.splitlines()
    at = lines.index("--- sample at step 12, scale factor 1 ---")
    assert lines[at - 1].startswith("step 12/12") and lines[at + 1].startswith("The island")
    # With --top-k 1 the sample is greedy: what the saved model writes greedily.
    code, stdout, _ = run(capsys, "train", "--corpus", str(corpus_file), "--resume", str(out), "--steps", "14",
                          "--sample-every", "2", "--sample-length", "20", "--top-k", "1", "--log-every", "1")
    lines = stdout.splitlines()
    at = lines.index("--- sample at step 14, scale factor 1, top-k 1 ---")
    checkpoint = load_checkpoint(out)
    greedy = generate_text(Sampler(checkpoint.build_model(), checkpoint.vocab, 1.0, top_k=1), "The island", 20)
    assert lines[at + 1:at + 1 + greedy.count("\n") + 1] == greedy.split("\n")
    code, _, err = run(capsys, "train", "--corpus", str(corpus_file), "--resume", str(out), "--steps", "16",
                       "--sample-every", "2", "--top-p", "2")
    assert code == 2 and "top-p" in err and err.count("\n") == 1


@pytest.mark.parametrize("flag, value", [("--top-p", "1.5"), ("--top-k", "-1"), ("--scale-factor", "0"),
                                         ("--sample-length", "0")])
def test_a_bad_sample_setting_is_refused_with_samples_off_too(corpus_file, tmp_path, capsys, flag, value):
    """generate refuses these values; train refuses them whether or not it samples, before it trains."""
    out = tmp_path / "m.ckpt"
    code, _, err = run(capsys, "train", "--corpus", str(corpus_file), "--steps", "2", "--out", str(out), *TINY,
                       flag, value)
    assert code == 2 and flag.lstrip("-").replace("-", " ") in err.replace("-", " ") and err.count("\n") == 1, err
    assert not out.exists()


def test_a_full_disk_stops_training_with_one_line_and_the_last_checkpoint_intact(trained, corpus_file,
                                                                                 capsys, monkeypatch):
    before = trained.read_bytes()
    monkeypatch.setattr(os, "fsync", disk_full)
    code, _, err = run(capsys, "train", "--corpus", str(corpus_file), "--resume", str(trained),
                       "--steps", "14", "--save-every", "2")
    assert code == 2 and err.count("\n") == 1 and "disk is full" in err and "Traceback" not in err
    assert trained.read_bytes() == before
    assert sorted(p.name for p in trained.parent.glob("m.ckpt*")) == ["m.ckpt", "m.ckpt.metrics.jsonl"]


def test_carry_state_is_recorded_and_kept_on_resume(corpus_file, tmp_path, capsys):
    out = tmp_path / "s.ckpt"
    code, _, err = run(capsys, "train", "--corpus", str(corpus_file), "--steps", "4", "--out", str(out),
                       "--carry-state", *TINY)
    assert code == 0, err
    checkpoint = load_checkpoint(out)
    assert checkpoint.train_config["carry_state"] is True
    assert checkpoint.rng_state["streams"]["pos"] == 4 * 16
    assert run(capsys, "train", "--corpus", str(corpus_file), "--resume", str(out), "--steps", "6")[0] == 0
    checkpoint = load_checkpoint(out)
    assert checkpoint.train_config["carry_state"] is True and checkpoint.rng_state["streams"]["pos"] == 6 * 16
    assert run(capsys, "train", "--corpus", str(corpus_file), "--resume", str(out), "--steps", "7",
               "--no-carry-state")[0] == 0
    assert load_checkpoint(out).train_config["carry_state"] is False


def test_generate_streams_seed_then_text(trained, capsys):
    code, out, _ = run(capsys, "generate", "--checkpoint", str(trained), "--seed-text", "The island",
                       "--length", "50", "--random-seed", "1")
    assert code == 0 and out.startswith("The island") and len(out.rstrip("\n")) >= 60
    again = run(capsys, "generate", "--checkpoint", str(trained), "--seed-text", "The island",
                "--length", "50", "--random-seed", "1")[1]
    assert again == out


def test_generate_several_samples(trained, capsys):
    args = ["generate", "--checkpoint", str(trained), "--seed-text", "The", "--length", "40",
            "--random-seed", "3"]
    code, out, _ = run(capsys, *args, "--num-samples", "3")
    assert code == 0 and out.endswith("\n")
    samples = out[:-1].split("\n---\n")
    assert len(samples) == 3
    assert all(sample.startswith("The") and len(sample) == 3 + 40 for sample in samples)
    assert len(set(samples)) > 1  # one generator runs on: the samples differ
    # The first sample is what a single run gives; the whole output repeats with the seed.
    assert samples[0] + "\n" == run(capsys, *args)[1]
    assert run(capsys, *args, "--num-samples", "3")[1] == out


def test_generate_at_several_scale_factors_to_compare(trained, capsys):
    args = ["generate", "--checkpoint", str(trained), "--seed-text", "The", "--length", "40",
            "--random-seed", "3", "--num-samples", "2"]
    code, out, _ = run(capsys, *args, "--scale-factor", "0.5", "3")
    assert code == 0
    import re

    assert re.findall(r"^# scale factor .*$", out, flags=re.M) == ["# scale factor 0.5", "# scale factor 3"]
    _, low, high = re.split(r"^# scale factor .*\n", out, flags=re.M)
    for group in (low, high):
        samples = group.rstrip("\n").split("\n---\n")
        assert len(samples) == 2 and all(s.startswith("The") and len(s) == 3 + 40 for s in samples)
    # The first group is what that scale factor alone gives (one generator, from the same seed),
    # then a blank line before the next.
    alone = run(capsys, *args, "--scale-factor", "0.5")[1]
    assert low == alone + "\n"
    code, _, err = run(capsys, *args, "--scale-factor", "2", "0")
    assert code == 2 and "scale factor" in err and err.count("\n") == 1


def test_generate_with_top_k_and_top_p(trained, capsys):
    args = ["generate", "--checkpoint", str(trained), "--seed-text", "The", "--length", "40"]
    # --top-k 1 is greedy: the random seed no longer matters.
    greedy = {run(capsys, *args, "--random-seed", str(seed), "--top-k", "1")[1] for seed in (1, 2, 3)}
    assert len(greedy) == 1
    assert len({run(capsys, *args, "--random-seed", str(seed))[1] for seed in (1, 2, 3)}) > 1
    # A tiny --top-p keeps only the most likely character too.
    assert run(capsys, *args, "--random-seed", "5", "--top-p", "0.01")[1] in greedy
    code, out, _ = run(capsys, *args, "--random-seed", "5", "--top-p", "0.9", "--top-k", "4")
    assert code == 0 and out.startswith("The") and len(out) == 3 + 40 + 1
    for bad, name in ((["--top-k", "-1"], "top-k"), (["--top-p", "0"], "top-p"), (["--top-p", "1.5"], "top-p")):
        code, out, err = run(capsys, *args, *bad)
        assert code == 2 and out == "" and name in err and err.count("\n") == 1 and "Traceback" not in err


def test_generate_pick_lets_you_choose_each_character(trained, capsys, monkeypatch):
    import io

    args = ["generate", "--checkpoint", str(trained), "--seed-text", "The", "--length", "8", "--random-seed", "3"]
    checkpoint = load_checkpoint(trained)
    greedy = generate_text(Sampler(checkpoint.build_model(), checkpoint.vocab, 1.0, top_k=1), "The", 5)
    # Five times the likeliest, then q: the greedy text, and it stops there.
    monkeypatch.setattr(sys, "stdin", io.StringIO("1\n1\n1\nx\n1\n1\nq\n"))
    code, out, err = run(capsys, *args, "--pick")
    assert code == 0 and out == greedy + "\n"
    assert err.count("pick 1-5, enter: the model draws, q: stop > ") == 7  # one more after "x"
    assert "type a number from 1 to 5, enter or q" in err
    # Enter lets the model draw: all enters give what the seed gives without --pick.
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n" * 8))
    assert run(capsys, *args, "--pick")[1] == run(capsys, *args)[1]
    # The end of the input stops it.
    monkeypatch.setattr(sys, "stdin", io.StringIO("2\n"))
    code, out, _ = run(capsys, *args, "--pick")
    assert code == 0 and len(out) == len("The") + 1 + 1
    code, _, err = run(capsys, *args, "--pick", "--num-samples", "2")
    assert code == 2 and "--pick" in err and err.count("\n") == 1

    class InterruptedAfterOneAnswer(io.StringIO):
        def readline(self, *args):
            if self.tell():
                raise KeyboardInterrupt
            return super().readline(*args)

    # Ctrl+C: what was picked so far still goes to stdout, and the status says it was interrupted.
    monkeypatch.setattr(sys, "stdin", InterruptedAfterOneAnswer("1\n"))
    code, out, err = run(capsys, *args, "--pick")
    assert code == 130 and out == greedy[:4] + "\n" and err.endswith("rnntui: interrupted\n")


def test_evaluate_json(trained, corpus_file, capsys):
    code, out, _ = run(capsys, "evaluate", "--checkpoint", str(trained), "--corpus", str(corpus_file), "--json")
    result = json.loads(out)
    assert code == 0 and 0 < result["val_loss"] < 4 and result["characters"] == 2000 - 1


def test_evaluate_reports_progress_chunk_by_chunk(trained, corpus_file):
    from rnntui.charlm.evaluate import evaluate_ids

    checkpoint = load_checkpoint(trained)
    ids = load_corpus(corpus_file).ids[:5001]
    calls = []
    loss, count = evaluate_ids(checkpoint.build_model(), ids, chunk=2048,
                               progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2048, 5000), (4096, 5000), (5000, 5000)] and count == 5000
    assert loss == evaluate_ids(checkpoint.build_model(), ids, chunk=2048)[0]  # the same figure


def test_evaluate_refuses_a_text_with_no_tail_to_predict(trained, corpus_file, tmp_path, capsys):
    short = tmp_path / "short.txt"
    short.write_text(corpus_file.read_text(encoding="utf-8")[:12], encoding="utf-8")
    code, out, err = run(capsys, "evaluate", "--checkpoint", str(trained), "--corpus", str(short))
    assert code == 2 and out == "" and err.count("\n") == 1 and "too short to evaluate" in err


@pytest.mark.parametrize("argv, match", [
    (["generate", "--seed-text", "The \u00eesland"], "'î'"),
    (["generate", "--seed-text", ""], "empty"),
    (["generate", "--scale-factor", "0"], "scale factor"),
    (["generate", "--scale-factor", "-1"], "scale factor"),
    (["generate", "--scale-factor", "nan"], "scale factor"),
    (["generate", "--scale-factor", "inf"], "scale factor"),
    (["generate", "--length", "-5"], "--length"),
    (["generate", "--num-samples", "0"], "--num-samples"),
    (["train", "--steps", "0"], "--steps"),
    (["train", "--batch-size", "0"], "--batch-size"),
    (["train", "--seq-length", "100000"], "--seq-length"),
    (["train", "--cell", "lstm", "--dropout", "2"], "dropout"),
    (["train", "--weight-dropout", "1"], "weight_dropout"),
    (["train", "--patience", "-1"], "--patience"),
    (["train", "--sample-every", "-1"], "--sample-every"),
    (["train", "--sample-every", "5", "--sample-length", "0"], "--sample-length"),
    (["train", "--sample-every", "5", "--seed-text", "The \u00eesland"], "'î'"),
    (["train", "--sample-every", "5", "--scale-factor", "0"], "scale factor"),
    (["train", "--save-best", "--eval-every", "0"], "--save-best"),
    (["evaluate", "--checkpoint", "/nonexistent.ckpt"], "does not exist"),
    (["train", "--device", "meta"], "unknown device 'meta'"),
    (["evaluate", "--device", "meta"], "unknown device 'meta'"),
    (["train", "--random-seed", str(10**23)], "--random-seed"),
    (["train", "--random-seed", "-1"], "--random-seed"),
    (["generate", "--random-seed", str(10**23)], "--random-seed"),
    (["train", "--grad-clip", "-1"], "--grad-clip"),
    (["train", "--grad-clip", "0"], "--grad-clip"),
    (["train", "--grad-clip", "nan"], "--grad-clip"),
    (["train", "--batch-size", str(10**12)], "--batch-size"),
    (["train", "--hidden-size", str(10**6)], "hidden_size"),
    (["train", "--layers", str(10**9)], "layers"),
    (["train", "--hidden-size", "60000", "--embed-dim", "60000"], "GiB of memory"),  # refused before allocating
])
def test_bad_input_is_one_line_exit_2(trained, corpus_file, capsys, argv, match):
    if argv[0] == "generate" and "--checkpoint" not in argv:
        argv = [*argv, "--checkpoint", str(trained)]
    if argv[0] in ("train", "evaluate") and "--corpus" not in argv:
        argv = [*argv, "--corpus", str(corpus_file)]
    before = trained.read_bytes()
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("rnntui: error:") and match in err
    assert "Traceback" not in err
    assert trained.read_bytes() == before


def test_info_says_what_a_checkpoint_holds(trained, corpus_file, capsys):
    code, out, _ = run(capsys, "info", str(trained))
    assert code == 0
    lines = dict(line.split(":", 1) for line in out.splitlines())
    checkpoint = load_checkpoint(trained)
    parameters = sum(tensor.numel() for tensor in checkpoint.model_state.values())
    assert lines["model"].strip() == (f"LSTM, 1 layer, embedding 16, hidden 32, {len(checkpoint.vocab)} "
                                      f"characters: {parameters:,} parameters")
    assert lines["training"].strip().startswith("10 steps in 0:00:0") and "batch 8 × 16, Adam at 0.005" in out
    assert lines["corpus"].strip().startswith(f"{corpus_file.name}, ") and f"from {corpus_file}" in out
    best = min(loss for _, loss in checkpoint.history["val"])
    assert f"best {best:.4f} at step" in lines["last losses"]
    assert lines["command"].strip()  # the command line it was trained with (here, pytest's)
    assert "\\n" in lines["characters"]  # the line break, written so that it shows
    assert "validation" not in lines  # no exact figure recorded for this one
    code, out, _ = run(capsys, "info", str(trained), "--json")
    info = json.loads(out)
    assert (info["step"], info["parameters"], info["resumable"]) == (10, parameters, True)
    assert info["train_config"]["batch_size"] == 8 and info["best_val_loss_estimate"] == best
    assert info["vocab"] == "".join(checkpoint.vocab.char_array)


def test_info_lines_of_a_sparse_record():
    """A checkpoint from another tool's hands, say, with no settings, corpus or losses recorded."""
    from rnntui.charlm.info import info_lines

    info = {"path": "x.ckpt", "bytes": 2_000_000, "created": "", "parameters": 100, "vocab": "ab \n\t", "step": 3,
            "model": {"cell": "gru", "layers": 2, "embed_dim": 8, "hidden_size": 16, "vocab_size": 5},
            "training_seconds": 5, "train_config": None, "corpus": None, "last_train_loss": None,
            "last_val_loss_estimate": None, "best_val_loss_estimate": None, "best_val_loss_step": None,
            "resumable": True, "provenance": {}}
    assert info_lines(info) == ["file:        x.ckpt (2.0 MB, saved at an unknown time)",
                                "model:       GRU, 2 layers, embedding 8, hidden 16, 5 characters: 100 parameters",
                                "characters:  ab␣\\n\\t",
                                "training:    3 steps in 0:00:05"]


@pytest.mark.parametrize("name, match", [("missing.ckpt", "does not exist"), ("text.ckpt", "not an rnntui checkpoint")])
def test_info_on_a_file_that_is_no_checkpoint_is_one_line(tmp_path, capsys, name, match):
    (tmp_path / "text.ckpt").write_text("just text\n")
    code, out, err = run(capsys, "info", str(tmp_path / name))
    assert code == 2 and out == "" and err.count("\n") == 1 and match in err


def test_watch_starts_the_app_as_rnntui_does(tmp_path, monkeypatch):
    """`rnntui watch` opens the app the way `rnntui` does: collector off and the modules frozen
    until the first screen is out, the collector tuned once torch is in (manage_gc)."""
    import gc

    from rnntui.tui.app import RnntuiApp

    seen = []

    def run(self, *args, **kwargs):
        seen.append((self.watch, self.manage_gc, gc.isenabled(), gc.get_freeze_count() > 0))

    monkeypatch.setattr(RnntuiApp, "run", run)
    run_file = tmp_path / "run.ckpt"
    (tmp_path / "run.ckpt.metrics.jsonl").write_text("")  # a run that has just started
    try:
        assert main(["watch", str(run_file)]) == 0
    finally:
        gc.unfreeze()
    assert seen == [(run_file, True, False, True)] and gc.isenabled()


def test_usage_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--steps", "many"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1 and "--steps" in err


def test_resume_takes_new_dropout_rates_and_keeps_the_rest(trained, corpus_file, capsys):
    before = load_checkpoint(trained).model_config
    assert (before.dropout, before.weight_dropout) == (0.0, 0.0)
    code, _, err = run(capsys, "train", "--corpus", str(corpus_file), "--resume", str(trained),
                       "--steps", "12", "--dropout", "0.3", "--weight-dropout", "0.2",
                       "--hidden-size", "32")  # agrees with the checkpoint, so it is allowed
    assert code == 0, err
    after = load_checkpoint(trained)
    assert after.step == 12
    assert (after.model_config.dropout, after.model_config.weight_dropout) == (0.3, 0.2)
    assert after.model_config.hidden_size == 32 and after.model_config.embed_dim == 16
    # Left out, the rates stay as the checkpoint has them.
    assert run(capsys, "train", "--corpus", str(corpus_file), "--resume", str(trained), "--steps", "13")[0] == 0
    assert load_checkpoint(trained).model_config.dropout == 0.3


@pytest.mark.parametrize("flag, value", [("--hidden-size", "64"), ("--embed-dim", "256"),
                                         ("--layers", "2"), ("--cell", "gru")])
def test_resume_refuses_a_different_architecture(trained, corpus_file, capsys, flag, value):
    before = trained.read_bytes()
    code, _, err = run(capsys, "train", "--corpus", str(corpus_file), "--resume", str(trained),
                       "--steps", "12", flag, value)
    assert code == 2 and err.count("\n") == 1 and flag in err and "cannot change" in err
    assert trained.read_bytes() == before


def test_resume_on_another_corpus_explains(trained, tmp_path, capsys):
    other = tmp_path / "other.txt"
    other.write_text("ZZZ yyy xxx QQQ " * 100, encoding="utf-8")
    code, _, err = run(capsys, "train", "--corpus", str(other), "--resume", str(trained), "--steps", "20")
    assert code == 2 and "the model's vocabulary lacks ('Q', 'Z', 'x')" in err and "fine-tune" in err


def test_resume_keeps_this_torchs_adam_kernel_and_rejects_a_foreign_optimizer_state(
        trained, corpus_file, capsys):
    from dataclasses import replace

    from rnntui.charlm.build import resume_trainer, resumed_config
    from rnntui.charlm.checkpoint import save_checkpoint
    from rnntui.charlm.corpus import load_corpus
    from rnntui.charlm.trainer import make_optimizer

    checkpoint = load_checkpoint(trained)
    corpus = load_corpus(corpus_file)
    fresh = make_optimizer(checkpoint.build_model("cpu"), 0.01).param_groups[0]
    # A file from a torch that chose the other kernel: the resumed run keeps this one's choice.
    state = checkpoint.optimizer_state
    state["param_groups"][0]["fused"] = None if fresh["fused"] else True
    group = resume_trainer(replace(checkpoint, optimizer_state=state), corpus,
                           resumed_config(checkpoint)).optimizer.param_groups[0]
    assert (group["fused"], group["foreach"]) == (fresh["fused"], fresh["foreach"])

    # An optimizer state that belongs to another model: one line, exit 2, the file untouched.
    state["param_groups"][0]["params"] = state["param_groups"][0]["params"][:2]
    save_checkpoint(replace(checkpoint, optimizer_state=state), trained)
    before = trained.read_bytes()
    code, _, err = run(capsys, "train", "--corpus", str(corpus_file), "--resume", str(trained), "--steps", "12")
    assert code == 2 and "optimizer_state's parameter groups do not hold each" in err and err.count("\n") == 1
    assert trained.read_bytes() == before


def test_diverging_run_keeps_the_last_checkpoint(trained, corpus_file, capsys):
    before = trained.read_bytes()
    code, _, err = run(capsys, "train", "--corpus", str(corpus_file), "--resume", str(trained),
                       "--steps", "60", "--lr", "1e6")
    assert code == 1 and "diverged" in err and "Traceback" not in err
    assert trained.read_bytes() == before


def test_keep_n_snapshots(capsys, corpus_file, tmp_path):
    out = tmp_path / "k.ckpt"
    code, _, _ = run(capsys, "train", "--corpus", str(corpus_file), "--steps", "8", "--save-every", "2",
                     "--keep", "2", "--out", str(out), *TINY)
    assert code == 0
    snapshots = sorted(p.name for p in tmp_path.glob("k.step*.ckpt"))
    assert snapshots == ["k.step0000006.ckpt", "k.step0000008.ckpt"]
    assert load_checkpoint(tmp_path / snapshots[-1]).step == 8


def test_save_best_writes_the_file_its_help_names(capsys, corpus_file, tmp_path):
    """Both trainers' help give the file --save-best writes, by example; a run writes that file."""
    import re

    named = []
    for command in (["train"], ["sentiment", "train"]):
        with pytest.raises(SystemExit):
            main([*command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        named.append(re.search(r"--save-best .*?\((\S+) for --out (\S+)\)", text).groups())
    assert named[0] == named[1]
    best, out = named[0]
    code, _, err = run(capsys, "train", "--corpus", str(corpus_file), "--steps", "4", "--out", str(tmp_path / out),
                       *TINY, "--eval-every", "2", "--save-best")
    assert code == 0, err
    assert load_checkpoint(tmp_path / best).step in (2, 4)


def test_patience_stops_early_and_save_best_keeps_the_best(capsys, corpus_file, tmp_path, monkeypatch):
    """The validation estimates are scripted: best at the 2nd (step 4), then three worse."""
    from rnntui.charlm.trainer import Trainer

    estimates = iter([3.0, 2.5, 2.7, 2.6, 2.9, 1.0, 1.0])
    monkeypatch.setattr(Trainer, "estimate_val_loss", lambda self: next(estimates))
    out = tmp_path / "e.ckpt"
    code, stdout, _ = run(capsys, "train", "--corpus", str(corpus_file), "--steps", "40", "--out", str(out),
                          *TINY, "--eval-every", "2", "--patience", "3", "--save-best")
    assert code == 0
    # Estimates at steps 2, 4, 6, 8, 10: no new best after step 4 for 3 of them, so it stops at 10.
    assert load_checkpoint(out).step == 10
    best = load_checkpoint(tmp_path / "e.best.ckpt")
    assert best.step == 4 and best.history["val"][-1] == [4, 2.5]
    assert "stopped early" in stdout and "2.5000 at step 4" in stdout


def test_patience_counts_across_a_resume(capsys, corpus_file, tmp_path, monkeypatch):
    from rnntui.charlm.trainer import Trainer

    estimates = iter([3.0, 2.5, 2.7, 2.6, 2.4, 2.8])
    monkeypatch.setattr(Trainer, "estimate_val_loss", lambda self: next(estimates))
    out = tmp_path / "r.ckpt"
    assert run(capsys, "train", "--corpus", str(corpus_file), "--steps", "6", "--out", str(out),
               *TINY, "--eval-every", "2", "--patience", "2")[0] == 0  # 3.0, 2.5, 2.7: one since best
    code, stdout, _ = run(capsys, "train", "--corpus", str(corpus_file), "--resume", str(out), "--steps", "40")
    assert code == 0  # 2.6 (two since the best: stop) at step 8; the patience was kept from the file
    assert load_checkpoint(out).step == 8 and "stopped early" in stdout


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 0), (signal.SIGTERM, 0)])
def test_interrupt_saves_and_exits_cleanly(corpus_file, tmp_path, sig, code):
    out = tmp_path / "int.ckpt"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "rnntui", "train", "--corpus", str(corpus_file),
                             "--steps", "1000000", "--out", str(out), "--log-every", "1", *TINY],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    for line in proc.stdout:
        if line.startswith("step 3/"):
            break
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    step = load_checkpoint(out).step
    assert step >= 3 and f"stopped at step {step}" in stdout


@pytest.mark.parametrize("where", ["folder", "under a file", "read-only folder"])
def test_an_unwritable_out_is_refused_before_training(capsys, corpus_file, tmp_path, monkeypatch, where):
    import tempfile

    if where == "folder":
        out, expected = tmp_path, f"{tmp_path} is a folder; name a file in it"
    elif where == "under a file":
        (tmp_path / "file").write_text("x")
        out, expected = tmp_path / "file" / "m.ckpt", "part of that path is a file, not a folder"
    else:  # the tests may run as root, whom permissions do not stop: the refusal is simulated
        def refused(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(tempfile, "mkstemp", refused)
        out, expected = tmp_path / "m.ckpt", "permission denied (read-only folder?); choose another file with --out"
    code, stdout, stderr = run(capsys, "train", "--corpus", str(corpus_file), "--steps", "5", "--out", str(out),
                               *TINY)
    assert code == 2 and expected in stderr and len(stderr.splitlines()) == 1
    assert "step" not in stdout and not list(tmp_path.rglob("*.metrics.jsonl"))  # no training began


def test_closing_the_output_stops_and_saves(corpus_file, tmp_path):
    """`rnntui train | head`: when the reader goes away, the run stops and saves, as on Ctrl+C."""
    out = tmp_path / "pipe.ckpt"
    proc = subprocess.Popen([sys.executable, "-m", "rnntui", "train", "--corpus", str(corpus_file),
                             "--steps", "1000000", "--out", str(out), "--log-every", "1", *TINY],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("step 2/"):
            break
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 0, stderr
    assert "Traceback" not in stderr and "Exception" not in stderr
    step = load_checkpoint(out).step
    assert step >= 2 and f"the output was closed, so training stopped at step {step}; saved {out}" in stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs a pseudo-terminal")
def test_closing_the_terminal_stops_and_saves(corpus_file, tmp_path):
    """`rnntui train` in a terminal window that is closed: SIGHUP, and a terminal that can no
    longer be written to. The run saves, as on Ctrl+C, instead of dying with its progress."""
    out = tmp_path / "hup.ckpt"
    pid, terminal = run_in_terminal(["-m", "rnntui", "train", "--corpus", str(corpus_file),
                                     "--steps", "1000000", "--out", str(out), *TINY])
    screen = read_terminal(terminal, b"chars/s", 60)  # the progress bar, after a step
    assert b"chars/s" in screen, screen[-500:]
    status = hang_up(pid, terminal)
    assert os.waitstatus_to_exitcode(status) == 0
    assert load_checkpoint(out).step >= 1


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP here")
def test_a_repeated_hang_up_neither_forces_the_exit_nor_kills_after_the_save(monkeypatch):
    """A closed terminal sends SIGHUP more than once (the kernel, then the shell). The first stops
    the run; the rest neither count as ctrl+c pressed twice to quit without saving, nor, arriving
    after the save, end the process by SIGHUP's default instead of its clean exit."""
    from rnntui.cli import run as train_command

    monkeypatch.setattr(train_command, "silence_output", lambda: None)  # keep pytest's output

    class Trainer:
        stops = 0

        def stop(self):
            self.stops += 1

    trainer = Trainer()
    before = signal.getsignal(signal.SIGHUP)
    try:
        with train_command.StopSignals(trainer) as signals:
            os.kill(os.getpid(), signal.SIGHUP)
            assert trainer.stops == 1
            signals.saving(5)  # the final save begins
            for _ in range(3):
                os.kill(os.getpid(), signal.SIGHUP)  # would raise KeyboardInterrupt at the second
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGHUP)  # after the save: ignored, not the end of the process
    finally:
        signal.signal(signal.SIGHUP, before)


def test_help_and_version():
    result = subprocess.run([sys.executable, "-m", "rnntui", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("rnntui ")
    for command in ("train", "generate", "evaluate", "corpus"):
        result = subprocess.run([sys.executable, "-m", "rnntui", command, "--help"], capture_output=True, text=True)
        assert result.returncode == 0 and "usage:" in result.stdout


def test_the_app_does_not_inherit_a_runs_patience(capsys, corpus_file, tmp_path, monkeypatch):
    """A run trained with --patience, opened in the app, trains open-ended there."""
    from rnntui.charlm.session import Session
    from rnntui.charlm.trainer import TrainConfig, Trainer

    estimates = iter([3.0, 2.5, 2.7, 2.8, 2.9, 3.0, 3.1])
    monkeypatch.setattr(Trainer, "estimate_val_loss", lambda self: next(estimates))
    out = tmp_path / "p.ckpt"
    assert run(capsys, "train", "--corpus", str(corpus_file), "--steps", "40", "--out", str(out),
               *TINY, "--eval-every", "2", "--patience", "2")[0] == 0
    assert load_checkpoint(out).step == 8  # stopped early: 2.7, 2.8 after the best
    session = Session(TrainConfig(eval_every=2, device="cpu"))
    session.open(out, corpus_file)
    trainer = session.ensure_trainer()
    assert trainer.config.patience == 0
    events = trainer.run()
    assert [next(events).step for _ in range(5)] == [9, 10, 11, 12, 13]  # past two more worse estimates
    trainer.stop()


def test_reviews_data_goes_to_the_apps_reviews_mode(tmp_path, monkeypatch):
    import gc

    from rnntui.tui.app import RnntuiApp

    seen = []
    monkeypatch.setattr(RnntuiApp, "run", lambda self, *args, **kwargs: seen.append(self.review_options[0]))
    try:
        assert main(["--reviews-data", str(tmp_path / "aclImdb_v1.tar.gz")]) == 0
    finally:
        gc.unfreeze()
    assert seen == [tmp_path / "aclImdb_v1.tar.gz"]


def test_info_says_the_bundled_model_can_be_continued():
    from rnntui.charlm.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(bundled_model_path())
    lines = "\n".join(info_lines(checkpoint_info(checkpoint, bundled_model_path())))
    assert "not --resume" not in lines
    assert "--resume and the app's ctrl+t continue it from step 16,000 with a fresh Adam" in lines


def test_resuming_the_bundled_model_trains_on_in_the_data_folder(capsys, tiny_checkpoint, corpus_file, tmp_path,
                                                                  monkeypatch):
    """The bundled model lives in the package: `--resume` of it without `--out` goes on in a new
    file in the data folder (as the app's ctrl+s does), and the package's file stays as shipped."""
    from rnntui.core import paths

    bundled = tiny_checkpoint  # stands in for the package's file
    monkeypatch.setattr(paths, "bundled_model_path", lambda: bundled)
    shipped = bundled.read_bytes()
    code, out, err = run(capsys, "train", "--resume", str(bundled), "--corpus", str(corpus_file), "--steps", "32",
                         "--device", "cpu")
    assert code == 0, err
    assert bundled.read_bytes() == shipped and not (tmp_path / "tiny.ckpt.metrics.jsonl").exists()
    saved = list((tmp_path / "data" / "checkpoints").glob("tiny-*.ckpt"))
    assert len(saved) == 1 and load_checkpoint(saved[0]).step == 32 and str(saved[0]) in out
