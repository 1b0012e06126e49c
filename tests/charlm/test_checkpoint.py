import io
import json
import os
import pickle

import pytest
import torch

from rnntui.charlm.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from rnntui.charlm.model import CharRNN, ModelConfig
from rnntui.charlm.vocab import Vocab
from rnntui.core import files
from rnntui.core.checkpoint import MAGIC, list_checkpoints
from rnntui.core.errors import CheckpointError
from tests.helpers import disk_full

VOCAB = Vocab(tuple("abc"))


def make_checkpoint(step=3) -> Checkpoint:
    torch.manual_seed(0)
    config = ModelConfig(3, 4, 8)
    model = CharRNN(config)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.zeros(1, 2, dtype=torch.long))[0].sum().backward()
    optimizer.step()
    return Checkpoint(config, VOCAB, model.state_dict(), step=step,
                      optimizer_state=optimizer.state_dict(),
                      rng_state={"torch": torch.get_rng_state()},
                      history={"train": [[1, 1.5]], "val": [[1, 1.7]]},
                      corpus={"name": "x.txt", "sha256": "0" * 64, "characters": 10},
                      train_config={"lr": 0.005})


def test_round_trip(tmp_path):
    original = make_checkpoint()
    path = save_checkpoint(original, tmp_path / "a.ckpt")
    loaded = load_checkpoint(path)
    assert loaded.vocab == VOCAB and loaded.step == 3 and loaded.model_config == original.model_config
    for key, value in original.model_state.items():
        assert torch.equal(value, loaded.model_state[key])
    assert loaded.optimizer_state["state"][0]["exp_avg"].shape == original.model_state["embedding.weight"].shape
    assert loaded.history["val"] == [[1, 1.7]] and loaded.corpus["name"] == "x.txt"
    header = list_checkpoints(tmp_path)[0][1]
    assert header["step"] == 3 and header["best_val_loss"] == 1.7


def payload_of(path) -> dict:
    """The payload of a checkpoint file, parsed as load_checkpoint parses it."""
    data = path.read_bytes()
    body = data[data.index(b"\n", len(MAGIC)) + 1:]
    return torch.load(io.BytesIO(body), weights_only=True)


def test_the_loss_history_is_stored_as_tensors_and_comes_back_exactly(tmp_path):
    """A (step, loss) pair per training step, as lists, took the weights-only unpickler 0.4 s
    of opening the bundled model (16,000 steps); as one tensor per curve it is read at once."""
    checkpoint = make_checkpoint()
    losses = torch.rand(20_000, dtype=torch.float32).tolist()  # float32 values, as .item() gives
    checkpoint.history = {"train": [[step, loss] for step, loss in enumerate(losses, 1)],
                          "val": [[step, losses[step - 1]] for step in range(200, 20_001, 200)]}
    path = save_checkpoint(checkpoint, tmp_path / "long.ckpt")
    stored = payload_of(path)["history"]
    assert isinstance(stored["train"], torch.Tensor) and stored["train"].shape == (20_000, 2)
    loaded = load_checkpoint(path)
    assert loaded.history == checkpoint.history  # exactly, steps as ints
    assert all(type(step) is int for step, _ in loaded.history["train"])


def test_format_1_checkpoints_still_load(tmp_path):
    """Format 1 stored the history as lists of pairs."""
    import hashlib

    path = save_checkpoint(make_checkpoint(), tmp_path / "new.ckpt")
    payload = payload_of(path)
    payload["history"] = {"train": [[1, 1.5], [2, 1.25]], "val": [[2, 1.7]]}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    body = buffer.getvalue()
    header = {"format_version": 1, "sha256": hashlib.sha256(body).hexdigest(), "payload_bytes": len(body)}
    old = tmp_path / "old.ckpt"
    old.write_bytes(MAGIC + json.dumps(header).encode() + b"\n" + body)
    assert load_checkpoint(old).history == {"train": [[1, 1.5], [2, 1.25]], "val": [[2, 1.7]]}


def test_half_precision_loads_as_float32(tmp_path):
    path = save_checkpoint(make_checkpoint(), tmp_path / "h.ckpt", half=True)
    loaded = load_checkpoint(path)
    assert loaded.optimizer_state is None
    assert all(v.dtype == torch.float32 for v in loaded.model_state.values())
    loaded.build_model()


def test_save_leaves_no_temp_files_and_replaces(tmp_path):
    path = tmp_path / "a.ckpt"
    umask = os.umask(0o022)
    try:
        save_checkpoint(make_checkpoint(1), path)
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644  # readable by others, like any saved file
    save_checkpoint(make_checkpoint(1), path)
    save_checkpoint(make_checkpoint(2), path)
    assert load_checkpoint(path).step == 2
    assert [p.name for p in tmp_path.iterdir()] == ["a.ckpt"]


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "a.ckpt"
    save_checkpoint(make_checkpoint(1), path)
    before = path.read_bytes()
    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(CheckpointError, match="disk is full"):
        save_checkpoint(make_checkpoint(2), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.ckpt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(CheckpointError, match="permission"):
            save_checkpoint(make_checkpoint(), folder / "a.ckpt")
    finally:
        folder.chmod(0o700)


class Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_payload_is_refused_and_not_run(tmp_path):
    """A file with a valid header and checksum whose payload would run code on unpickling."""
    marker = tmp_path / "pwned"
    buffer = io.BytesIO()
    torch.save({"model_config": Exploit(str(marker))}, buffer)
    body = buffer.getvalue()
    import hashlib

    header = {"format_version": 1, "sha256": hashlib.sha256(body).hexdigest(), "payload_bytes": len(body)}
    path = tmp_path / "evil.ckpt"
    path.write_bytes(MAGIC + json.dumps(header).encode() + b"\n" + body)
    with pytest.raises(CheckpointError, match="objects other than plain data") as refused:
        load_checkpoint(path)
    assert not marker.exists()
    # In rnntui's own words, whole: not torch's advice to load it with weights_only=False.
    message = str(refused.value)
    assert "weights_only" not in message and message.endswith("checkpoints that rnntui wrote")
    # A bare pickle is not even parsed.
    path.write_bytes(pickle.dumps(Exploit(str(marker))))
    with pytest.raises(CheckpointError, match="not an rnntui checkpoint"):
        load_checkpoint(path)
    assert not marker.exists()


def test_bad_files(tmp_path):
    good = save_checkpoint(make_checkpoint(), tmp_path / "good.ckpt")
    data = good.read_bytes()
    cases = {
        "missing": (tmp_path / "nope.ckpt", "does not exist"),
        "directory": (tmp_path, "directory"),
    }
    (tmp_path / "random.ckpt").write_bytes(os.urandom(4096))
    cases["random"] = (tmp_path / "random.ckpt", "not an rnntui checkpoint")
    (tmp_path / "trunc.ckpt").write_bytes(data[: len(data) // 2])
    cases["truncated"] = (tmp_path / "trunc.ckpt", "truncated")
    flipped = bytearray(data)
    flipped[-100] ^= 0xFF
    (tmp_path / "flip.ckpt").write_bytes(bytes(flipped))
    cases["corrupt"] = (tmp_path / "flip.ckpt", "checksum")
    torch.save({"state_dict": CharRNN(ModelConfig(3, 4, 8)).state_dict()}, tmp_path / "other.pt")
    cases["foreign"] = (tmp_path / "other.pt", "not an rnntui checkpoint")
    newer = data.replace(b'"format_version": 2', b'"format_version": 99', 1)
    assert newer != data
    (tmp_path / "newer.ckpt").write_bytes(newer)
    cases["newer"] = (tmp_path / "newer.ckpt", "newer")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    for path, match in cases.values():
        with pytest.raises(CheckpointError, match=match):
            load_checkpoint(path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


def test_gpu_saved_checkpoint_loads_on_cpu(tmp_path, monkeypatch):
    """Save with every storage tagged 'cuda:0', as a GPU run writes them, then load on the CPU."""
    import torch.serialization as serialization

    with monkeypatch.context() as patch:  # only for the save
        patch.setattr(serialization, "location_tag", lambda storage: "cuda:0")
        path = save_checkpoint(make_checkpoint(), tmp_path / "gpu.ckpt")
    assert b"cuda:0" in path.read_bytes()
    loaded = load_checkpoint(path, "cpu")
    assert all(v.device.type == "cpu" for v in loaded.model_state.values())
    loaded.build_model("cpu")


def test_read_only_folder_simulated(tmp_path, monkeypatch):
    """As root the permission bits do not stop us, so make the temporary file fail as EACCES."""
    path = save_checkpoint(make_checkpoint(1), tmp_path / "a.ckpt")
    before = path.read_bytes()

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.tempfile, "mkstemp", denied)  # where checkpoints are written
    with pytest.raises(CheckpointError, match="permission"):
        save_checkpoint(make_checkpoint(2), path)
    assert path.read_bytes() == before


def test_a_save_landing_during_a_load_gives_one_whole_checkpoint(tmp_path, monkeypatch):
    # A save renames a new file over the old one. A load that opened the file before that
    # must read the old file to its end, not the new file's payload under the old header.
    path = tmp_path / "m.ckpt"
    save_checkpoint(make_checkpoint(step=3), path)
    from rnntui.core import checkpoint as checkpoint_module
    real_open = checkpoint_module.open_regular
    opened = []

    def open_then_replace(where, *args, **kwargs):
        f = real_open(where, *args, **kwargs)
        if where == path and not opened:
            opened.append(where)
            later = make_checkpoint(step=4)
            later.history = {"train": [[i, 1.0] for i in range(50)], "val": []}  # another size
            save_checkpoint(later, path)
        return f

    monkeypatch.setattr(checkpoint_module, "open_regular", open_then_replace)
    assert load_checkpoint(path).step == 3  # the file as it was when the load opened it
    assert opened and load_checkpoint(path).step == 4
