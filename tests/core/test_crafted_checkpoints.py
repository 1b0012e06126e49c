"""Checkpoints with a valid checksum but crafted contents: anyone can write one. Every loader
gives one line and exit 2 (or, in the app's engine, one RnntuiError), never a traceback, an
allocator error or a hang, and nothing is built before the contents are checked."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnntui.charlm.checkpoint import load_checkpoint
from rnntui.charlm.info import checkpoint_info, info_lines
from rnntui.charlm.model import CharRNN, ModelConfig, state_shapes
from rnntui.charlm.sampling import Sampler
from rnntui.charlm.session import Session
from rnntui.core.checkpoint import MAGIC, list_checkpoints
from rnntui.core.errors import CheckpointError, RnntuiError
from tests.helpers import TINY, field_paths, hostile, run, set_path


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """A real checkpoint (weights, optimizer, generators, history), as header and payload."""
    from rnntui.cli import main
    from tests.helpers import make_text

    folder = tmp_path_factory.mktemp("real")
    corpus = folder / "text.txt"
    corpus.write_text(make_text(), encoding="utf-8")
    out = folder / "real.ckpt"
    assert main(["train", "--corpus", str(corpus), "--steps", "6", "--out", str(out), "--carry-state", *TINY]) == 0
    data = out.read_bytes()
    end = data.index(b"\n", len(MAGIC))
    header = json.loads(data[len(MAGIC):end])
    payload = torch.load(io.BytesIO(data[end + 1:]), weights_only=True)
    return header, payload, corpus


def write(path, payload, header_changes=None, base_header=None):
    """``payload`` as a checkpoint with a valid header and checksum."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    body = buffer.getvalue()
    header = {**(base_header or {}), "format_version": 2, "sha256": hashlib.sha256(body).hexdigest(),
              "payload_bytes": len(body), **(header_changes or {})}
    path.write_bytes(MAGIC + json.dumps(header).encode("utf-8") + b"\n" + body)
    return path




# The crafted files seen failing, each as (where in the payload, value).
MUTATIONS = {
    "one-dimensional history": (("history", "train"), torch.zeros(6, dtype=torch.float64)),
    "corpus a string": (("corpus",), "mytext.txt"),
    "provenance a list": (("provenance",), ["rnntui"]),
    "train_config a string": (("train_config",), "batch 64"),
    "hidden size of a million": (("model_config", "hidden_size"), 10**6),
    "a billion layers": (("model_config", "layers"), 10**9),
    "vocabulary longer than the weights": (("vocab",), None),  # filled in below
    "batch size of 10**12": (("train_config", "batch_size"), 10**12),
    "NaN weights": (("model_state", "fc.bias"), None),
    "weights of another shape": (("model_state", "rnn.weight_hh_l0"), torch.zeros(3, 3)),
    "a missing weight": (("model_state",), None),
    "optimizer moments of another shape": (("optimizer_state", "state", 0, "exp_avg"), torch.zeros(2)),
    "carried state of another size": (("rng_state", "streams", "carried"), (torch.zeros(1, 8, 3),) * 2),
    "step a string": (("step",), "6"),
    "step negative": (("step",), -1),
    "corpus path a number": (("corpus", "path"), 7),
    "provenance val_loss a string": (("provenance", "val_loss"), "low"),
    "finetuned_from a string": (("provenance", "finetuned_from"), "bundled"),
    "elapsed infinite": (("elapsed",), math.inf),
    "learning rate a string": (("train_config", "lr"), "0.005"),
    "model_config a list": (("model_config",), [1, 2]),
    "cell unknown": (("model_config", "cell"), "transformer"),
    "payload a list": ((), [1, 2, 3]),
}


def crafted(name, payload):
    payload = copy.deepcopy(payload)
    where, value = MUTATIONS[name]
    if name == "vocabulary longer than the weights":
        value = sorted(set(payload["vocab"]) | {"é", "ß", "λ"})
    elif name == "NaN weights":
        value = torch.full_like(payload["model_state"]["fc.bias"], math.nan)
    elif name == "a missing weight":
        value = {k: v for k, v in payload["model_state"].items() if k != "fc.bias"}
    if not where:
        return value
    set_path(payload, where, value)
    return payload


LOADERS = [
    lambda path, corpus: ["info", str(path)],
    lambda path, corpus: ["generate", "--checkpoint", str(path), "--seed-text", "The", "--length", "5"],
    lambda path, corpus: ["evaluate", "--checkpoint", str(path), "--corpus", str(corpus)],
    lambda path, corpus: ["train", "--resume", str(path), "--corpus", str(corpus), "--steps", "8"],
    lambda path, corpus: ["train", "--finetune", str(path), "--corpus", str(corpus), "--steps", "2",
                          "--out", str(path.with_name("ft.ckpt"))],
]


def fingerprint(path):
    """Size, time and first megabyte (the huge test file is never read whole)."""
    with open(path, "rb") as f:
        return path.stat().st_size, path.stat().st_mtime_ns, f.read(1 << 20)


def refused_everywhere(capsys, path, corpus, match=None):
    before = fingerprint(path)
    for loader in LOADERS:
        code, _, err = run(capsys, *loader(path, corpus))
        assert code == 2, err
        assert err.count("\n") == 1 and err.startswith("rnntui: error:") and "Traceback" not in err, err
        if match:
            assert match in err, err
    with pytest.raises(RnntuiError):  # the app's --checkpoint and ctrl+o load through the session
        Session().open(checkpoint=path)
    assert fingerprint(path) == before  # and no loader changed it


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_every_loader_refuses_a_crafted_checkpoint(capsys, real, tmp_path, name):
    header, payload, corpus = real
    path = write(tmp_path / "crafted.ckpt", crafted(name, payload))
    match = {"NaN weights": "the model is broken", "vocabulary longer than the weights": "vocab has",
             "a billion layers": "layers", "hidden size of a million": "hidden_size",
             "batch size of 10**12": "--batch-size"}.get(name)
    refused_everywhere(capsys, path, corpus, match)


@pytest.mark.parametrize("changes, match", [
    ({"format_version": 1e999}, "damaged header"),
    ({"format_version": "2"}, "damaged header"),
    ({"format_version": 99}, "upgrade rnntui"),
    ({"payload_bytes": -1}, "damaged header"),
    ({"step": "a lot"}, "damaged header"),
    ({"best_val_loss": "NaN"}, "damaged header"),
    ({"corpus": "book"}, "damaged header"),
])
def test_a_crafted_header_is_refused(capsys, real, tmp_path, changes, match):
    header, payload, corpus = real
    path = write(tmp_path / "crafted.ckpt", payload, changes, base_header=header)
    refused_everywhere(capsys, path, corpus, match)
    assert list_checkpoints(tmp_path) == []  # the picker passes over it instead of dying on it


def test_a_huge_declared_payload_is_refused_without_reading_it(capsys, real, tmp_path):
    """A 20 GB file (sparse: it takes no disk) whose header declares it all: refused from its
    size, before a byte of the payload is read."""
    header, payload, corpus = real

    def huge(declared):
        path = write(tmp_path / "huge.ckpt", payload, {"payload_bytes": declared}, base_header=header)
        data = path.read_bytes()
        with open(path, "r+b") as f:
            f.truncate(data.index(b"\n", len(MAGIC)) + 1 + 20 * 10**9)
        return path

    refused_everywhere(capsys, huge(20 * 10**9), corpus, "too much to load")
    # Declared larger than the file: truncated; smaller: damaged. Both without reading the rest.
    for declared, match in ((30 * 10**9, "is truncated"), (10**9, "more than its header declares")):
        with pytest.raises(CheckpointError, match=match):
            load_checkpoint(huge(declared))


def test_the_real_checkpoint_passes_the_same_checks(real, tmp_path):
    header, payload, corpus = real
    path = write(tmp_path / "same.ckpt", payload, base_header=header)
    checkpoint = load_checkpoint(path)
    assert checkpoint.step == 6 and list_checkpoints(tmp_path)[0][0] == path


def test_state_shapes_are_the_models_own():
    for config in (ModelConfig(7, 4, 6), ModelConfig(9, 3, 5, 3, "gru"), ModelConfig(5, 2, 4, 2, "rnn")):
        model = CharRNN(config)
        assert state_shapes(config) == {k: tuple(v.shape) for k, v in model.state_dict().items()}
        assert list(state_shapes(config)) == [name for name, _ in model.named_parameters()]






@given(data=st.data())
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_mutated_field_loads_cleanly_or_raises_only_checkpoint_error(real, tmp_path_factory, data):
    header, payload, _ = real
    payload = copy.deepcopy(payload)
    paths = sorted(field_paths(payload), key=repr)
    where = data.draw(st.sampled_from(paths))
    set_path(payload, where, data.draw(hostile))
    path = write(tmp_path_factory.mktemp("m") / "m.ckpt", payload, base_header=header)
    try:
        checkpoint = load_checkpoint(path)
    except CheckpointError as error:
        assert "\n" not in str(error)
        return
    # What loads must work: a model, a reply, the info both the CLI and the app show.
    model = checkpoint.build_model()
    sampler = Sampler(model, checkpoint.vocab, 1.0, random_seed=0)
    assert len(list(sampler.stream(checkpoint.vocab.char_array[0], 3))) == 3
    info_lines(checkpoint_info(checkpoint, path))


async def test_the_picker_passes_over_pipes_and_refuses_crafted_files_in_one_notification(real, tmp_path):
    """The data folder holds a named pipe called *.ckpt, a file with a crafted header and one
    with a crafted payload: the picker opens at once, lists what it can, and loading the crafted
    one is one notification; escape, and the app, still work."""
    import os

    from rnntui.core.paths import checkpoints_dir
    from rnntui.tui.screens.picker import CheckpointPicker
    from tests.tui.helpers import make_app, notifications, ready, shown, until

    header, payload, _ = real
    folder = checkpoints_dir()
    folder.mkdir(parents=True)
    os.mkfifo(folder / "pipe.ckpt")
    write(folder / "header.ckpt", payload, {"corpus": {"name": 7}}, base_header=header)
    good = write(folder / "good.ckpt", payload, base_header=header)
    crafted_file = write(folder / "crafted.ckpt", crafted("NaN weights", payload), base_header=header)
    app = make_app(good)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+o")
        await shown(pilot, CheckpointPicker, "#picker-table")
        listed = sorted(path.name for path, _ in app.screen.entries if path.parent == folder)
        assert listed == ["crafted.ckpt", "good.ckpt"]  # (the bundled model is listed too)
        app.screen.dismiss(crafted_file)
        await until(pilot, lambda: any("the model is broken" in n.message for n in notifications(app)))
        assert app.chat.info.name == "good.ckpt" and app.is_running
        await pilot.press("ctrl+o")
        await shown(pilot, CheckpointPicker, "#picker-table")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, CheckpointPicker))


def test_a_header_nested_too_deep_is_one_line_in_every_loader(tmp_path):
    """100,000 nested ``[`` (or ``{"a":``) after the magic line: json would recurse until
    Python's stack ran out; the reader refuses it first, so each command says one line."""
    import os
    import subprocess
    import sys

    arrays = tmp_path / "arrays.ckpt"
    arrays.write_bytes(MAGIC + b"[" * 100_000 + b"\n" + b"payload")
    objects = tmp_path / "objects.ckpt"
    objects.write_bytes(MAGIC + b'{"a": ' * 100_000 + b"1" + b"}" * 100_000 + b"\n")
    for argv in (["info", str(arrays)], ["generate", "--checkpoint", str(arrays), "--seed-text", "The"],
                 ["sentiment", "predict", "--checkpoint", str(objects), "a fine film"]):
        result = subprocess.run([sys.executable, "-m", "rnntui", *argv], capture_output=True, text=True,
                                timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        err = result.stderr
        assert result.returncode == 2, err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert "has a damaged header (it nests more than 16 levels deep)" in err, err
    for path in (arrays, objects):
        with pytest.raises(CheckpointError, match="nests more than"):
            load_checkpoint(path)
    assert list_checkpoints(tmp_path) == []


def test_brackets_inside_a_headers_strings_do_not_count(real, tmp_path):
    """A corpus named with brackets nests no deeper: only the JSON's own arrays and objects do."""
    from rnntui.core.checkpoint import read_header

    header, payload, _ = real
    name = "[" * 1000 + "{" * 1000
    path = write(tmp_path / "brackets.ckpt", payload, {"corpus": {**header["corpus"], "name": name}},
                 base_header=header)
    assert read_header(path)[0]["corpus"]["name"] == name


def test_a_header_of_unterminated_escapes_is_read_in_one_pass(tmp_path):
    """A string of 300,000 escaped quotes that never ends: a regular expression for JSON strings
    backtracked over it for hours; the depth scan reads it once and json refuses it."""
    path = tmp_path / "escapes.ckpt"
    path.write_bytes(MAGIC + b'"' + b'\\"' * 300_000 + b"\n")
    with pytest.raises(CheckpointError, match="damaged header"):
        load_checkpoint(path)
    assert list_checkpoints(tmp_path) == []


def test_numbers_beyond_any_float_and_float8_weights_are_one_line(real, tmp_path):
    """An integer of 400 digits where a loss or a rate belongs, and weights in float8 (which
    torch cannot test for NaN): refused, never an OverflowError or NotImplementedError."""
    header, payload, _ = real
    huge = write(tmp_path / "huge-header.ckpt", payload, {"best_val_loss": 10**400}, base_header=header)
    with pytest.raises(CheckpointError, match="best_val_loss"):
        load_checkpoint(huge)
    rate = copy.deepcopy(payload)
    rate["optimizer_state"]["param_groups"][0]["lr"] = 10**400
    with pytest.raises(CheckpointError):
        load_checkpoint(write(tmp_path / "huge-lr.ckpt", rate, base_header=header))
    float8 = copy.deepcopy(payload)
    float8["model_state"]["fc.weight"] = float8["model_state"]["fc.weight"].to(torch.float8_e4m3fn)
    with pytest.raises(CheckpointError, match="float8"):
        load_checkpoint(write(tmp_path / "float8.ckpt", float8, base_header=header))
