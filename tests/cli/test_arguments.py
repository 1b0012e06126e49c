"""Command-line arguments shared by several commands: every option's help line, --threads, --temperature, the dynamic
evaluation's rates, the seed text's sources and encoding, a closed standard input, and the
range messages."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

from rnntui.cli import main
from tests.helpers import TINY, run


def one_line(code: int, err: str, match: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert match in lines[0], lines[0]


def usage_error(capsys, *argv) -> str:
    """The one line an argparse usage error prints (exit 2)."""
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def torch_threads():
    """Leave torch's thread count as the test found it."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("argv", [["train"], ["sentiment", "train"], ["sentiment", "pretrain"]])
def test_save_best_says_the_file_it_writes(capsys, argv):
    from pathlib import Path

    from rnntui.cli.run import best_path

    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"{best_path(Path('run.ckpt')).name} for --out run.ckpt" in text


# -- --threads ---------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["train"], ["generate"], ["evaluate"], ["sentiment", "train"],
                                  ["sentiment", "evaluate"], ["sentiment", "predict", "Fine."],
                                  ["sentiment", "pretrain"], ["sweep"], ["sentiment", "sweep"],
                                  ["neurons", "find"]])
@pytest.mark.parametrize("threads", ["0", "5000"])
def test_threads_out_of_range_is_one_line_for_every_command(capsys, argv, threads, torch_threads):
    code, _, err = run(capsys, *argv, "--threads", threads)
    one_line(code, err, f"--threads must be from 1 to 1,024, got {threads}")


def test_threads_sets_torchs_threads_for_the_command(capsys, torch_threads):
    for threads in (1, 2):
        code, out, _ = run(capsys, "generate", "--threads", str(threads), "--length", "3", "--random-seed", "1")
        assert code == 0 and out.startswith("The island")
        assert torch.get_num_threads() == threads


def test_the_default_leaves_a_core_for_other_work(monkeypatch, torch_threads):
    from rnntui.core import device
    monkeypatch.setattr(device.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    assert device.default_threads() == 3
    monkeypatch.setattr(device.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert device.default_threads() == 1  # never 0
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    torch.set_num_threads(2)
    assert device.set_threads() == 1
    monkeypatch.setattr(device.os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    torch.set_num_threads(2)
    assert device.set_threads() == 2  # never more than torch's own
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the person's choice stands
    monkeypatch.setattr(device.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert device.set_threads() == 2


@pytest.mark.parametrize("argv", [["--threads", "1"], ["watch", "RUN", "--threads", "1"]])
def test_the_app_takes_threads(argv, tmp_path, monkeypatch, capsys):
    import gc

    from rnntui.tui.app import RnntuiApp

    seen = []
    monkeypatch.setattr(RnntuiApp, "run", lambda self: seen.append(self.chat.start.threads))
    (tmp_path / "run.ckpt.metrics.jsonl").write_text("")
    argv = [str(tmp_path / "run.ckpt") if a == "RUN" else a for a in argv]
    try:
        assert main(argv) == 0
        code, _, err = run(capsys, *[("0" if a == "1" else a) for a in argv])
    finally:
        gc.unfreeze()
    assert seen == [1]
    one_line(code, err, "--threads must be from 1 to 1,024, got 0")


async def test_the_app_sets_its_threads_before_it_trains(monkeypatch, torch_threads):
    from rnntui.core import memory
    from rnntui.tui.app import RnntuiApp
    from tests.tui.helpers import ready

    monkeypatch.setattr(memory, "tune_garbage_collector", lambda: None)  # the test process's collector stays
    torch.set_num_threads(2)
    app = RnntuiApp(manage_gc=True, threads=1)
    async with app.run_test() as pilot:
        await ready(pilot)
    seen = []
    worker = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))  # as the app's trainer
    worker.start()
    worker.join()
    assert seen == [1]


# -- --temperature -----------------------------------------------------------------------------

def test_temperature_is_the_inverse_scale_factor(capsys):
    common = ["generate", "--length", "60", "--random-seed", "4", "--threads", "1"]
    assert run(capsys, *common, "--temperature", "0.5") == run(capsys, *common, "--scale-factor", "2")
    code, out, _ = run(capsys, *common, "--temperature", "0.5", "2")
    assert code == 0 and "# scale factor 2\n" in out and "# scale factor 0.5\n" in out
    from rnntui.cli.parser import build_parser

    args = build_parser().parse_args(["train", "--temperature", "0.25"])
    assert args.scale_factor == 4.0
    assert build_parser().parse_args(["train"]).scale_factor == 1.0
    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    assert "the same as --scale-factor 1/T" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("argv, match", [
    (["generate", "--temperature", "0.5", "--scale-factor", "2"], "not allowed with argument"),
    (["train", "--scale-factor", "2", "--temperature", "0.5"], "not allowed with argument"),
    (["generate", "--temperature", "0"], "at least 0.001"),
    (["generate", "--temperature", "-1"], "at least 0.001"),
    (["generate", "--temperature", "inf"], "at least 0.001"),
    (["generate", "--temperature", "warm"], "must be a number"),
])
def test_bad_temperatures_are_one_line(capsys, argv, match):
    assert match in usage_error(capsys, *argv)


# -- dynamic evaluation's rates ----------------------------------------------------------------

@pytest.mark.parametrize("command", [["evaluate", "--dynamic"], ["generate", "--adapt"]])
@pytest.mark.parametrize("rule", ["rms", "sgd"])
@pytest.mark.parametrize("lr", ["1e39", "1e308", "1e30", "11"])
def test_a_rate_far_above_any_useful_one_is_refused(capsys, command, rule, lr):
    code, out, err = run(capsys, *command, "--dynamic-rule", rule, "--dynamic-lr", lr)
    one_line(code, err, "learning rate must be from 0 to 10")
    assert out == ""


def test_a_rate_that_makes_the_loss_worse_is_said(capsys, tiny_checkpoint_file):
    """Within the bound, a rate far too large for the model still gives a figure, and a note says
    it is worse than the trained model's own."""
    corpus = tiny_checkpoint_file.parent / "tiny.txt"
    code, out, err = run(capsys, "evaluate", "--checkpoint", str(tiny_checkpoint_file), "--corpus", str(corpus),
                         "--dynamic", "--dynamic-rule", "rms", "--dynamic-lr", "10", "--segment", "20")
    assert code == 0 and "dynamic evaluation" in out and "note: adapting made the loss worse" in err, err


def small_model():
    from rnntui.charlm.model import CharRNN, ModelConfig

    torch.manual_seed(0)
    return CharRNN(ModelConfig(5, 8, 16))


def test_a_loss_that_is_no_longer_finite_is_an_error_not_a_figure():
    from rnntui.charlm.dynamic import DynamicConfig, adapted_copy, dynamic_loss
    from rnntui.core.errors import RnntuiError

    model = small_model()
    with torch.no_grad():
        model.fc.weight[0, 0] = float("inf")  # as a step too large leaves the weights
    text = np.arange(300) % 5
    config = DynamicConfig(rule="sgd", lrs=(0.0, 0.1), decays=(0.0,))
    with pytest.raises(RnntuiError, match="diverged at learning rate 0: after 0 characters"):
        dynamic_loss(model, text, config)
    with pytest.raises(RnntuiError, match="diverged"):
        adapted_copy(model, text, config)


def test_weights_blown_up_by_the_last_update_are_an_error(monkeypatch):
    from rnntui.charlm import dynamic
    from rnntui.core.errors import RnntuiError

    update = dynamic.Learner._update
    calls = []

    def last_update_overflows(self, grads):
        update(self, grads)
        calls.append(1)
        if len(calls) == 3:  # the third and last segment's update
            with torch.no_grad():
                self.params[0].mul_(float("inf"))

    monkeypatch.setattr(dynamic.Learner, "_update", last_update_overflows)
    config = dynamic.DynamicConfig(rule="sgd", lrs=(0.1,), decays=(0.0,))
    with pytest.raises(RnntuiError, match="diverged at learning rate 0.1: after 300 characters"):
        dynamic.adapted_copy(small_model(), np.arange(301) % 5, config)


def test_adapting_reports_its_progress():
    from rnntui.charlm.dynamic import DynamicConfig, adapted_copy

    seen = []
    adapted_copy(small_model(), np.arange(251) % 5, DynamicConfig(rule="sgd", lrs=(0.1,), decays=(0.0,)),
                 progress=lambda done, total: seen.append((done, total)))
    assert seen == [(100, 250), (200, 250), (250, 250)]


# -- the seed text: its sources, encoding and length -------------------------------------------

def test_seed_text_and_seed_file_together_are_refused(capsys, tmp_path):
    seed = tmp_path / "seed.txt"
    seed.write_text("The engineer")
    code, out, err = run(capsys, "generate", "--seed-text", "The island", "--seed-file", str(seed))
    one_line(code, err, "--seed-text and --seed-file both give the seed text")
    assert out == ""


def test_an_encoding_without_a_seed_file_is_refused(capsys):
    code, out, err = run(capsys, "generate", "--seed-text", "The island", "--encoding", "cp1252")
    one_line(code, err, "--encoding says how to read --seed-file")
    assert out == ""


def test_a_seed_file_in_another_encoding_is_read_with_encoding(capsys, tmp_path):
    seed = tmp_path / "seed.txt"
    seed.write_bytes("“The island,” said the engineer, “".encode("cp1252"))
    code, _, err = run(capsys, "generate", "--seed-file", str(seed), "--length", "5", "--threads", "1")
    one_line(code, err, "is not UTF-8")
    flag = re.search(r"pass (--\w+)", err).group(1)  # what the message advises, generate must take
    code, out, _ = run(capsys, "generate", "--seed-file", str(seed), flag, "cp1252", "--length", "5",
                       "--threads", "1")
    assert code == 0 and out.startswith("“The island,” said the engineer, “")
    code, _, err = run(capsys, "generate", "--seed-file", str(seed), "--encoding", "klingon")
    one_line(code, err, "unknown encoding 'klingon'")


def test_the_model_reads_and_adapts_to_the_end_of_a_long_seed_text_and_says_so(capsys, tmp_path, monkeypatch):
    from rnntui.charlm import dynamic, sampling
    lengths = []
    adapted_copy = dynamic.adapted_copy

    def spy(model, ids, *args, **kwargs):
        lengths.append(len(ids))
        return adapted_copy(model, ids, *args, **kwargs)

    monkeypatch.setattr(dynamic, "adapted_copy", spy)
    monkeypatch.setattr(sampling, "MAX_SEED_CHARACTERS", 300)
    seed = tmp_path / "seed.txt"
    seed.write_text("The island was large. " * 50)  # 1,100 characters
    code, out, err = run(capsys, "generate", "--seed-file", str(seed), "--adapt", "--dynamic-rule", "sgd",
                         "--length", "5", "--threads", "1")
    assert code == 0 and out.startswith("The island was large. " * 50)  # continues the whole text
    assert lengths == [300]
    assert "the model reads the last 300 of the seed text's 1,100 characters" in err
    # Without --adapt, the continuation is the one of the end alone, after the whole text.
    end = tmp_path / "end.txt"
    end.write_text(("The island was large. " * 50)[-300:])
    common = ["generate", "--length", "40", "--random-seed", "2", "--threads", "1"]
    code, whole, _ = run(capsys, *common, "--seed-file", str(seed))
    code, part, _ = run(capsys, *common, "--seed-file", str(end))
    assert whole == ("The island was large. " * 50)[:-300] + part


# -- standard input closed ---------------------------------------------------------------------

@pytest.mark.parametrize("argv, match", [
    ("sentiment predict -", "give the review as text or with --file F"),
    ("generate --pick", "--pick reads your picks from it"),
    ("", "the app reads its keys from it"),
    ("--threads 1", "the app reads its keys from it"),
])
def test_a_closed_standard_input_is_one_line(argv, match):
    # `<&-`: the program starts with no file descriptor 0 at all (Python's sys.stdin is None).
    done = subprocess.run(["sh", "-c", f"exec {sys.executable} -m rnntui {argv} <&-"], capture_output=True,
                          text=True, timeout=120)
    one_line(done.returncode, done.stderr, "standard input is closed")
    assert match in done.stderr and done.stdout == ""


def test_a_closed_standard_error_still_gives_the_result(tiny_checkpoint_file):
    """`2>&-`: Python's sys.stderr is None, and the progress bar's check of it once ended the
    command with no result; the result still goes to stdout."""
    corpus = tiny_checkpoint_file.parent / "tiny.txt"
    done = subprocess.run(["sh", "-c", f"exec {sys.executable} -m rnntui evaluate --checkpoint "
                           f"{tiny_checkpoint_file} --corpus {corpus} 2>&-"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "nats/char" in done.stdout, done.stdout


# -- range messages ----------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["train", "--steps", str(10**16)],
    ["train", "--batch-size", "0"],
    ["train", "--seq-length", "0"],
    ["train", "--random-seed", "-1"],
    ["generate", "--random-seed", "-1"],
    ["generate", "--scale-factor", "5000"],
    ["sentiment", "train", "--epochs", "0"],
    ["sentiment", "train", "--batch-size", "0"],
    ["sentiment", "train", "--lr", "10000000"],
    ["evaluate", "--dynamic", "--segment", "0"],
    ["evaluate", "--dynamic", "--dynamic-lr", "20"],
])
def test_range_messages_write_their_bounds_as_numbers_people_read(capsys, argv, tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("The island. " * 200)
    extra = ["--corpus", str(corpus), *TINY] if argv[0] == "train" else []
    code, _, err = run(capsys, argv[0], *extra, *argv[1:])  # the flag tried comes last, and counts
    one_line(code, err, "must be")
    assert not re.search(r"\de[+-]?\d", err), err  # no 1e+15: 1,000,000,000,000,000


def test_a_range_message_names_the_bound_that_was_crossed(capsys):
    code, _, err = run(capsys, "sentiment", "train", "--lr", "10000000")
    one_line(code, err, "--lr must be a number above 0 and at most 1,000,000, got 10000000.0")
    code, _, err = run(capsys, "train", "--steps", str(10**16))
    one_line(code, err, "--steps must be from 1 to 1,000,000,000,000,000, got 10000000000000000")


# -- the training settings, declared once ------------------------------------------------------

@pytest.mark.parametrize("command, config", [
    (["train"], "rnntui.charlm.config.TrainConfig"),
    (["sentiment", "train"], "rnntui.sentiment.config.SentimentTrainConfig"),
    (["sentiment", "pretrain"], "rnntui.sentiment.pretrain.config.PretrainConfig"),
])
def test_each_training_setting_gives_its_flag_its_help_its_range_and_resumes_overrides(command, config):
    """A setting is declared once, in its config's field: the train command's flag of that name
    has the declared help and choices, left out it is None (a resumed run keeps its own value),
    given it is what --resume changes, and out of its declared range it is refused naming it."""
    import argparse
    import importlib

    from rnntui.cli.parser import build_parser
    from rnntui.core.errors import RnntuiError
    from rnntui.core.settings import flag, flag_settings, given, whole_ranges

    module, name = config.rsplit(".", 1)
    config_class = getattr(importlib.import_module(module), name)
    parser = build_parser()
    sub = parser
    for word in command:
        sub = next(a for a in sub._actions if isinstance(a, argparse._SubParsersAction)).choices[word]
    declared = flag_settings(config_class)
    assert declared
    for spec in declared:
        action = sub._option_string_actions[flag(spec.name)]
        assert action.help == spec.metadata["help"] and action.choices == spec.metadata["choices"]
    assert set(given(parser.parse_args(command), config_class).values()) == {None}
    values = {"int": "3", "float": "0.5", "str": "auto"}
    argv, expected = list(command), {}
    for spec in declared:
        if spec.type == "bool":
            argv.append(flag(spec.name))
            expected[spec.name] = True
        else:
            value = spec.metadata["choices"][0] if spec.metadata["choices"] else values[spec.type]
            argv += [flag(spec.name), value]
            expected[spec.name] = {"int": int, "float": float, "str": str}[spec.type](value)
    assert given(parser.parse_args(argv), config_class) == expected
    for setting, low, _, _ in whole_ranges(config_class):
        with pytest.raises(RnntuiError, match=re.escape(flag(setting)) + " must be"):
            config_class(**{setting: low - 1}).validate()


# -- help ----------------------------------------------------------------------------------------

def every_option(parser=None, path=("rnntui",)):
    """(command path, option) for every option of every command of rnntui's parser."""
    from rnntui.cli.parser import build_parser

    for action in (parser or build_parser())._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                yield from every_option(command, (*path, name))
        elif action.option_strings:
            yield " ".join(path), action


def test_every_option_of_every_command_says_what_it_does():
    silent = [f"{path} {action.option_strings[0]}" for path, action in every_option() if not action.help]
    assert silent == []


def test_every_option_with_a_default_states_it_in_its_help():
    def spellings(value) -> set[str]:
        if isinstance(value, list):
            return set().union(*map(spellings, value))
        if isinstance(value, float):
            return {str(value), f"{value:g}"}
        return {str(value), f"{value:,}"} if isinstance(value, int) else {str(value)}

    unstated = [f"{path} {action.option_strings[0]} (default {action.default})" for path, action in every_option()
                if action.default not in (None, False, argparse.SUPPRESS)
                and not any(spelling in (action.help or "") for spelling in spellings(action.default))]
    assert unstated == []
