"""Tensors in a checkpoint that are not what rnntui writes (sparse, an expanded view of one
number, overlapping), and generator and optimizer states that cannot be restored: both
checkpoint kinds, written with rnntui's own writer (so the checksum is right), get one line and
exit 2 from every command that reads them, before any operation touches the tensors."""

from __future__ import annotations

import io
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnntui.charlm.session import Session
from rnntui.core.checkpoint import MAGIC, write_file
from rnntui.core.errors import RnntuiError
from rnntui.sentiment.session import ReviewSession
from tests.helpers import field_paths, hostile, reviews_tarball, run, set_path


def read_back(path):
    """A checkpoint's header and payload, as rnntui wrote them."""
    import json

    data = path.read_bytes()
    end = data.index(b"\n", len(MAGIC))
    header = json.loads(data[len(MAGIC):end])
    return header, torch.load(io.BytesIO(data[end + 1:]), weights_only=True)


def rewrite(path, header, payload):
    """``payload`` behind ``header``'s summary, checksummed by rnntui's own writer."""
    kept = {k: v for k, v in header.items() if k not in ("format_version", "sha256", "payload_bytes")}
    return write_file(path, kept, payload)


@pytest.fixture(scope="module")
def sentiment_file(tmp_path_factory):
    """A sentiment checkpoint with an optimizer and generator state (one epoch of 3 steps)."""
    from rnntui.cli import main

    folder = tmp_path_factory.mktemp("sentiment")
    data = reviews_tarball(folder / "reviews.tar.gz", per_folder=6)
    out = folder / "s.ckpt"
    assert main(["sentiment", "train", "--data", str(data), "--epochs", "1", "--out", str(out), "--embed-dim", "4",
                 "--hidden-size", "8", "--fc-hidden", "8", "--batch-size", "4", "--json"]) == 0
    return out, data


def expanded(tensor):
    """``tensor``'s shape over a single stored number (stride 0): what a file declaring a model
    of many gigabytes in a few kilobytes holds."""
    return torch.zeros(1, dtype=tensor.dtype).expand(tensor.shape) if tensor.dim() else tensor


def overlapping(tensor):
    """``tensor``'s shape over fewer stored numbers, its rows sharing all but one of them."""
    if not tensor.dim():
        return tensor
    return torch.zeros(sum(tensor.shape), dtype=tensor.dtype).as_strided(tensor.shape, (1,) * tensor.dim())


CRAFTED = {  # what is done to the payload, and a part of the line that says so
    "a sparse weight": (lambda p, w: p["model_state"].__setitem__(w, p["model_state"][w].to_sparse()),
                        "is a sparse_coo tensor"),
    "an expanded weight": (lambda p, w: p["model_state"].__setitem__(w, expanded(p["model_state"][w])),
                           "repeats its elements"),
    "an overlapping weight": (lambda p, w: p["model_state"].__setitem__(w, overlapping(p["model_state"][w])),
                              "repeats its elements"),
    "an expanded optimizer moment": (lambda p, w: p["optimizer_state"]["state"][0].__setitem__(
        "exp_avg", expanded(p["optimizer_state"]["state"][0]["exp_avg"])), "repeats its elements"),
    "a sparse loss history": (lambda p, w: p["history"].__setitem__("train", p["history"]["train"].to_sparse()),
                              "is a sparse_coo tensor"),
    "a 5-byte generator state": (lambda p, w: p["rng_state"].__setitem__("torch", torch.zeros(5, dtype=torch.uint8)),
                                 "rng_state's torch is not a generator state"),
    "an invalid generator state": (lambda p, w: p["rng_state"].__setitem__(
        "torch", torch.zeros_like(p["rng_state"]["torch"])), "rng_state's torch is not a generator state"),
    "a 3-element Adam step": (lambda p, w: p["optimizer_state"]["state"][0].__setitem__("step", torch.ones(3)),
                              "optimizer_state's step is"),
    "a negative Adam step": (lambda p, w: p["optimizer_state"]["state"][0].__setitem__("step", torch.tensor(-1.0)),
                             "optimizer_state's step is"),
    "Adam moments missing": (lambda p, w: p["optimizer_state"]["state"][0].pop("exp_avg_sq"),
                             "optimizer_state has no exp_avg_sq"),
    "Adam betas of text": (lambda p, w: p["optimizer_state"]["param_groups"][0].__setitem__("betas", "fast"),
                           "optimizer_state's betas"),
    "Adam eps infinite": (lambda p, w: p["optimizer_state"]["param_groups"][0].__setitem__("eps", math.inf),
                          "optimizer_state's eps"),
    "no Adam parameter group": (lambda p, w: p["optimizer_state"].__setitem__("param_groups", []),
                                "parameter groups do not hold each of the model's parameters once"),
    "a parameter in two Adam groups": (lambda p, w: p["optimizer_state"]["param_groups"].append(
        {**p["optimizer_state"]["param_groups"][0], "params": [0]}),
        "parameter groups do not hold each of the model's parameters once"),
    "a NaN Adam moment": (lambda p, w: p["optimizer_state"]["state"][0].__setitem__(
        "exp_avg", p["optimizer_state"]["state"][0]["exp_avg"] * math.nan), "exp_avg for parameter 0 holds NaN"),
    "a negative squared moment": (lambda p, w: p["optimizer_state"]["state"][0].__setitem__(
        "exp_avg_sq", -1 - p["optimizer_state"]["state"][0]["exp_avg_sq"]),
        "exp_avg_sq for parameter 0 holds negative numbers"),
}


def one_line(code, err, match):
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("rnntui: error:") and "Traceback" not in err, err
    assert match in err, err


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_a_crafted_sentiment_checkpoint_is_one_line_everywhere(capsys, sentiment_file, tmp_path, name):
    original, data = sentiment_file
    header, payload = read_back(original)
    change, match = CRAFTED[name]
    change(payload, "rnn.weight_hh_l0")
    path = rewrite(tmp_path / "crafted.ckpt", header, payload)
    before = path.read_bytes()
    for command in (["info", str(path)], ["sentiment", "predict", "--checkpoint", str(path), "a good film"],
                    ["sentiment", "evaluate", "--checkpoint", str(path), "--data", str(data)],
                    ["sentiment", "train", "--resume", str(path), "--data", str(data), "--epochs", "2"]):
        one_line(*run(capsys, *command)[::2], match)
    with pytest.raises(RnntuiError, match=match):  # the app's reviews mode opens through this
        ReviewSession().open(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_a_crafted_language_model_checkpoint_is_one_line_everywhere(capsys, tiny_checkpoint_file, tmp_path, name):
    header, payload = read_back(tiny_checkpoint_file)
    change, match = CRAFTED[name]
    change(payload, "rnn.weight_hh_l0")
    path = rewrite(tmp_path / "crafted.ckpt", header, payload)
    corpus = tiny_checkpoint_file.parent / "tiny.txt"
    for command in (["info", str(path)], ["generate", "--checkpoint", str(path), "--seed-text", "The", "--length", "5"],
                    ["train", "--resume", str(path), "--corpus", str(corpus), "--steps", "32"]):
        one_line(*run(capsys, *command)[::2], match)
    with pytest.raises(RnntuiError, match=match):  # the app's --checkpoint and ctrl+o
        Session().open(checkpoint=path)


def test_the_real_checkpoints_pass_the_tensor_checks(capsys, sentiment_file, tiny_checkpoint_file, tmp_path):
    """What rnntui writes (and rewrites unchanged) still loads and resumes."""
    original, data = sentiment_file
    header, payload = read_back(original)
    path = rewrite(tmp_path / "same.ckpt", header, payload)
    code, stdout, err = run(capsys, "sentiment", "train", "--resume", str(path), "--data", str(data), "--epochs", "2",
                            "--json")
    assert code == 0, err
    header, payload = read_back(tiny_checkpoint_file)
    path = rewrite(tmp_path / "same-lm.ckpt", header, payload)
    corpus = tiny_checkpoint_file.parent / "tiny.txt"
    code, _, err = run(capsys, "train", "--resume", str(path), "--corpus", str(corpus), "--steps", "32", "--json")
    assert code == 0, err


def test_a_sentiment_model_too_big_for_memory_is_refused_before_it_is_made(capsys, monkeypatch, sentiment_file,
                                                                        tmp_path):
    """The largest sizes each flag takes, on a machine of 16 GiB: refused with an estimate, as
    ``rnntui train`` refuses a model, before a weight is allocated; and an evaluation too."""
    original, data = sentiment_file
    monkeypatch.setattr("rnntui.core.memory.physical_memory", lambda: 16 << 30)
    out = tmp_path / "big.ckpt"
    code, _, err = run(capsys, "sentiment", "train", "--data", str(data), "--out", str(out), "--embed-dim", "16384",
                       "--hidden-size", "16384", "--fc-hidden", "16384", "--bidirectional")
    one_line(code, err, "training this model at batch")
    assert "GiB of memory, more than this machine's 16.0 GiB" in err and not out.exists()
    code, _, err = run(capsys, "sentiment", "train", "--resume", str(original), "--data", str(data), "--epochs", "2",
                       "--out", str(out))
    assert code == 0, err  # the small model fits
    from rnntui.sentiment.checkpoint import load_sentiment_checkpoint
    from rnntui.sentiment.trainer import Encoded, evaluate_reviews

    model = load_sentiment_checkpoint(original).build_model()
    reviews = Encoded([[2, 3, 4]] * 300, torch.ones(300))
    monkeypatch.setattr("rnntui.core.memory.physical_memory", lambda: 1 << 10)
    with pytest.raises(RnntuiError, match=r"evaluating this model at batch 256 × 3 words needs about"):
        evaluate_reviews(model, reviews)


# -- anything at all -------------------------------------------------------------------------

def tensor_places(payload, prefix=()):
    """Where the payload holds a tensor."""
    if isinstance(payload, torch.Tensor):
        yield prefix
    elif isinstance(payload, dict):
        for key, value in payload.items():
            yield from tensor_places(value, (*prefix, key))
    elif isinstance(payload, (list, tuple)):
        for index, value in enumerate(payload):
            yield from tensor_places(value, (*prefix, index))


def get_path(payload, where):
    for key in where:
        payload = payload[key]
    return payload


RESHAPED = {"sparse": lambda t: t.to_sparse() if t.dim() else t.reshape(1).to_sparse(), "expanded": expanded,
            "overlapping": overlapping, "transposed": lambda t: t.t() if t.dim() == 2 else t}


def mutated(original, tmp_path_factory, data):
    """``original`` rewritten with one field given a hostile value, or one tensor reshaped."""
    header, payload = read_back(original)
    if data.draw(st.booleans()):
        where = data.draw(st.sampled_from(sorted(field_paths(payload), key=repr)))
        set_path(payload, where, data.draw(hostile))
    else:
        where = data.draw(st.sampled_from(sorted(tensor_places(payload), key=repr)))
        change = RESHAPED[data.draw(st.sampled_from(sorted(RESHAPED)))]
        set_path(payload, where, change(get_path(payload, where)))
    return rewrite(tmp_path_factory.mktemp("m") / "m.ckpt", header, payload)


@given(data=st.data())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_mutated_sentiment_checkpoint_loads_and_trains_or_is_one_line(sentiment_file, tmp_path_factory, data):
    """A field of the sentiment payload given a hostile value, or a tensor made sparse, expanded,
    overlapping or transposed: refused in one line, or it loads, judges a review and takes a
    training step from its optimizer and generator state."""
    from rnntui.core.errors import CheckpointError
    from rnntui.sentiment.checkpoint import load_sentiment_checkpoint
    from rnntui.sentiment.predict import Predictor

    path = mutated(sentiment_file[0], tmp_path_factory, data)
    try:
        checkpoint = load_sentiment_checkpoint(path)
    except CheckpointError as error:
        assert "\n" not in str(error)
        return
    model = checkpoint.build_model()
    Predictor(model, checkpoint.vocab).predict("a good film")
    if checkpoint.optimizer_state is not None:
        optimizer = torch.optim.Adam(model.parameters())
        optimizer.load_state_dict(checkpoint.optimizer_state)
        model(torch.tensor([[2, 3]]), torch.tensor([2])).sum().backward()
        optimizer.step()
    if checkpoint.rng_state is not None:
        torch.Generator().set_state(checkpoint.rng_state["torch"])


@given(data=st.data())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_mutated_language_model_checkpoint_loads_and_trains_or_is_one_line(tiny_checkpoint_file,
                                                                              tmp_path_factory, data):
    """The same for the language model: refused in one line, or it loads, writes and takes a
    training step from its optimizer and generator state."""
    from rnntui.charlm.checkpoint import load_checkpoint
    from rnntui.charlm.sampling import Sampler
    from rnntui.core.errors import CheckpointError

    path = mutated(tiny_checkpoint_file, tmp_path_factory, data)
    try:
        checkpoint = load_checkpoint(path)
    except CheckpointError as error:
        assert "\n" not in str(error)
        return
    model = checkpoint.build_model()
    sampler = Sampler(model, checkpoint.vocab, 1.0, random_seed=0)
    assert len(list(sampler.stream(checkpoint.vocab.char_array[0], 3))) == 3
    if checkpoint.optimizer_state is not None:
        optimizer = torch.optim.Adam(model.parameters())
        optimizer.load_state_dict(checkpoint.optimizer_state)
        model(torch.tensor([[0, 1]]))[0].sum().backward()
        optimizer.step()
    if checkpoint.rng_state is not None:
        for name in ("windows", "torch"):
            if checkpoint.rng_state.get(name) is not None:
                torch.Generator().set_state(checkpoint.rng_state[name])


def test_weights_made_nan_by_the_last_update_are_not_saved_over_the_file(tmp_path):
    """The loss is checked before each update, so the last step's update can make the weights NaN
    unseen: the save refuses, and the file keeps what it held."""
    from types import SimpleNamespace

    from rnntui.cli.run import RunFile
    from rnntui.core.training import TrainingDiverged

    model = torch.nn.Linear(2, 2)
    out = tmp_path / "run.ckpt"
    out.write_bytes(b"the last good save")
    written = []
    saver = RunFile(SimpleNamespace(model=model, step=7), out, written.append, resumed=True)
    saver.save()
    assert written == [out]
    with torch.no_grad():
        model.weight[0, 0] = math.nan
    with pytest.raises(TrainingDiverged, match="NaN or infinite after step 7"):
        saver.save()
    assert written == [out] and out.read_bytes() == b"the last good save"
