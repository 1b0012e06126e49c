"""The checkpoint file every task shares: one file, written atomically, read without unpickling
arbitrary objects.

Layout::

    RNNTUI-CHECKPOINT\n
    {"format_version": 2, "sha256": ..., "payload_bytes": ..., "task": ..., <summary>}\n
    <payload: a torch.save archive of tensors, numbers, strings, lists and dicts>

The JSON header lets the picker list checkpoints without reading their weights. The payload's
sha256 is checked before it is parsed, and it is parsed with ``torch.load(weights_only=True)``,
which refuses any pickled object that is not plain data. The header's ``task`` says which model
the file holds (``TASKS``), so that each command refuses another task's file in one line; each
task's own module (``rnntui.charlm.checkpoint``, ``rnntui.sentiment.checkpoint``, ...) checks
its payload's contents.

Format 2 stores the loss history (a (step, loss) pair per training step) as one float64 tensor
of rows per curve; format 1 stored lists of pairs, which the weights-only unpickler, written in
Python, reads at about 40,000 pairs a second: 0.4 s of opening the bundled model, more for a
longer run. Both are read.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

import torch

from rnntui.core.checks import (
    MAX_HEADER_DEPTH,
    MAX_STEP,
    TEXT,
    WHOLE,
    InvalidField,
    check_record,
    is_finite,
    is_int,
    json_depth,
    refuse,
    shown,
)
from rnntui.core.errors import CheckpointError
from rnntui.core.files import CHECKPOINT_MAGIC, checkpoint_header_line, open_regular, reason, write_atomically
from rnntui.core.memory import physical_memory
from rnntui.core.tasks import TASKS, task_of

MAGIC = CHECKPOINT_MAGIC
FORMAT_VERSION = 2
SUFFIX = ".ckpt"


# The header's corpus record (a language model's text), which the picker shows.
CORPUS_FIELDS = {"name": TEXT, "sha256": TEXT, "characters": WHOLE, "path": TEXT, "encoding": TEXT}


@dataclass
class RunCheckpoint:
    """What every task's checkpoint holds alike: a model, its weights, and its place in training
    (enough to resume it exactly). Each task adds its own fields and a ``summary()`` for the
    header."""

    model_class: ClassVar[type[torch.nn.Module]]  # the task's model, made from model_config

    model_config: Any
    vocab: Any
    model_state: dict[str, torch.Tensor]
    step: int = 0
    optimizer_state: dict | None = None
    rng_state: dict | None = None
    history: dict = field(default_factory=lambda: {"train": [], "val": []})
    train_config: dict | None = None
    elapsed: float = 0.0
    provenance: dict = field(default_factory=dict)  # how it was made (command, machine, ...)
    created: str = ""

    def build_model(self, device: torch.device | str = "cpu") -> torch.nn.Module:
        model = self.model_class(self.model_config)
        try:
            model.load_state_dict(self.model_state)
        except RuntimeError as error:
            first = str(error).splitlines()[0]
            raise CheckpointError(f"the checkpoint's weights do not fit its model: {first}") from None
        return model.to(device)

    def header_summary(self, scores: dict, records: dict) -> dict:
        """A summary for the header: the step, the model, the vocabulary's size, ``scores`` (the
        best figures so far), the task's ``records`` and how the model was made."""
        return {"step": self.step, "model": self.model_config.to_dict(), "vocab_size": len(self.vocab), **scores,
                **records, "created": self.created, "provenance": self.provenance}


def save_run(checkpoint: RunCheckpoint, path: str | Path, task: str, fields: dict, half: bool = False) -> Path:
    """``checkpoint`` written atomically as a file of ``task``, its payload ``run_payload`` and
    the task's own ``fields`` (its vocabulary, its data), its header the checkpoint's summary."""
    payload = {**run_payload(checkpoint, half), **fields}
    return write_file(Path(path), {"task": task, **checkpoint.summary()}, payload)


def run_payload(checkpoint: RunCheckpoint, half: bool) -> dict:
    """What every task's checkpoint saves the same way (its model, weights, place in training and
    how it was made), stamping its creation time if it has none. ``half`` stores floating-point
    weights as float16 (they load back as float32) and drops the optimizer and random state:
    for shipping a model, not for resuming."""
    if not checkpoint.created:
        checkpoint.created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    weights = {k: v.detach().cpu() for k, v in checkpoint.model_state.items()}
    if half:
        weights = {k: v.half() if v.is_floating_point() else v for k, v in weights.items()}
    return {
        "model_config": checkpoint.model_config.to_dict(),
        "model_state": weights,
        "step": checkpoint.step,
        "optimizer_state": None if half else _to_cpu(checkpoint.optimizer_state),
        "rng_state": None if half else _to_cpu(checkpoint.rng_state),
        "history": history_tensors(checkpoint.history),
        "train_config": checkpoint.train_config,
        "elapsed": float(checkpoint.elapsed),
        "provenance": checkpoint.provenance,
        "created": checkpoint.created,
    }


def run_fields(payload: dict) -> dict:
    """The fields of ``RunCheckpoint`` but its model settings and vocabulary, from a checked
    payload (weights as float32, the history as lists)."""
    return {
        "model_state": {k: v.float() for k, v in payload["model_state"].items()},
        "step": payload["step"],
        "optimizer_state": payload.get("optimizer_state"),
        "rng_state": payload.get("rng_state"),
        "history": history_lists(payload.get("history")),
        "train_config": payload.get("train_config"),
        "elapsed": float(payload.get("elapsed", 0.0)),
        "provenance": payload.get("provenance") or {},
        "created": payload.get("created", ""),
    }


def history_tensors(history: dict) -> dict:
    """Each curve's (step, loss) pairs as rows of a float64 tensor, which holds both exactly."""
    return {name: torch.tensor(points, dtype=torch.float64).reshape(-1, 2) for name, points in history.items()}


def history_lists(history: dict | None) -> dict:
    """The history as [step, loss] pairs, from either format."""
    history = history or {"train": [], "val": []}
    # Column by column: a Python loop converting each step to an int took 0.1 s for 16,000.
    return {name: list(map(list, zip(points[:, 0].long().tolist(), points[:, 1].tolist(), strict=True)))
            if isinstance(points, torch.Tensor) else points for name, points in history.items()}


def _to_cpu(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value


def _open(path: Path):
    return open_regular(path, "checkpoint", CheckpointError)


def check_header(header: object) -> None:
    """The JSON header's fields that readers use before the payload (the picker lists them)."""
    if not isinstance(header, dict):
        raise InvalidField("the header is not a JSON object")
    version = header.get("format_version")
    if not is_int(version) or version < 1:
        raise InvalidField(f"format_version is {shown(version)}, not a format number")
    if not is_int(header.get("payload_bytes")) or header["payload_bytes"] < 0:
        raise InvalidField("payload_bytes is not a size")
    if not isinstance(header.get("sha256"), str):
        raise InvalidField("sha256 is not a checksum")
    if "task" in header and header["task"] not in TASKS:
        raise InvalidField(f"task is {shown(header['task'])}, not {', '.join(TASKS)}")
    for name in ("step", "vocab_size"):
        if name in header and not (is_int(header[name]) and 0 <= header[name] <= MAX_STEP):
            raise InvalidField(f"{name} is {shown(header[name])}")
    for name in ("best_val_loss", "last_val_loss"):
        if header.get(name) is not None and not is_finite(header[name]):
            raise InvalidField(f"{name} is {shown(header[name])}")
    for name, kind in (("model", dict), ("corpus", dict), ("provenance", dict), ("created", str)):
        if header.get(name) is not None and not isinstance(header[name], kind):
            raise InvalidField(f"{name} is a {type(header[name]).__name__}, not a {kind.__name__}")
    check_record("corpus", header.get("corpus"), CORPUS_FIELDS)


def _header_from(f, path: Path) -> dict:
    try:
        line = checkpoint_header_line(f)
    except OSError as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {reason(error)}") from None
    if line is None:
        raise CheckpointError(f"{path} is not an rnntui checkpoint (no rnntui header)")
    if json_depth(line) > MAX_HEADER_DEPTH:  # refused before json.loads recurses into it
        raise CheckpointError(f"checkpoint {path} has a damaged header (it nests more than {MAX_HEADER_DEPTH} "
                              "levels deep)")
    try:
        header = json.loads(line)
    except (ValueError, RecursionError):
        raise CheckpointError(f"checkpoint {path} has a damaged header") from None
    version = header.get("format_version") if isinstance(header, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {path} uses format {version}, newer than this rnntui "
                              f"reads ({FORMAT_VERSION}); upgrade rnntui")
    try:
        check_header(header)
    except InvalidField as problem:
        raise CheckpointError(f"checkpoint {path} has a damaged header ({problem})") from None
    return header


def read_header(path: str | Path) -> tuple[dict, int]:
    """The JSON header of a checkpoint and the offset where its payload starts."""
    path = Path(path)
    with _open(path) as f:
        header = _header_from(f, path)
        return header, f.tell()


def _payload_bytes(f, path: Path, header: dict) -> bytes:
    """The payload's bytes, after checking the size the header declares against the file's own
    size and this machine's memory (a huge file is refused without being read)."""
    declared = header["payload_bytes"]
    try:
        present = os.fstat(f.fileno()).st_size - f.tell()
    except OSError as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {reason(error)}") from None
    if present < declared:
        raise CheckpointError(f"checkpoint {path} is truncated ({present} of {declared} payload bytes)")
    if present > declared:
        raise CheckpointError(f"checkpoint {path} is damaged ({present - declared} bytes more than its "
                              "header declares)")
    memory = physical_memory()
    if memory and 2 * declared > memory:  # the bytes, then the tensors made from them
        raise CheckpointError(f"checkpoint {path} holds {declared / 2**30:.1f} GiB, too much to load in this "
                              f"machine's {memory / 2**30:.1f} GiB of memory")
    try:
        body = f.read(declared)
    except OSError as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {reason(error)}") from None
    if len(body) != declared:
        raise CheckpointError(f"checkpoint {path} is truncated ({len(body)} of {declared} payload bytes)")
    return body


def check_task(path: Path, header: dict, expected: str) -> None:
    """One clear line when a checkpoint is for another task than the command's."""
    task = task_of(header)
    if task != expected:
        found = TASKS.get(task)
        raise CheckpointError(f"{path} is {found.words if found else repr(task)}, not {TASKS[expected].words}; "
                              f"use it with {found.commands if found else 'another tool'}")


def read_payload(path: str | Path, task: str, device: torch.device | str = "cpu") -> tuple[dict, object]:
    """A checkpoint's header and its payload as plain data, after checking the file's kind, its
    task, its size and its checksum; the caller checks the payload's contents."""
    path = Path(path)
    # Header and payload come from one open file: a save replaces the file by renaming a new
    # one over it, and a second open could read the payload of a different save.
    with _open(path) as f:
        header = _header_from(f, path)
        check_task(path, header, task)
        body = _payload_bytes(f, path, header)
    if hashlib.sha256(body).hexdigest() != header["sha256"]:
        raise CheckpointError(f"checkpoint {path} is corrupt (its checksum does not match)")
    try:
        with warnings.catch_warnings():  # torch warns of sparse or quantized tensors it rebuilds: the
            warnings.simplefilter("ignore")  # checks after this refuse them in one line of their own
            return header, torch.load(io.BytesIO(body), map_location=device, weights_only=True)
    except pickle.UnpicklingError:
        # torch's own message here suggests weights_only=False, which would run the file's code.
        raise CheckpointError(f"checkpoint {path} holds objects other than plain data (tensors, numbers, "
                              "text, lists), which could run code when loaded; rnntui refuses it. Open only "
                              "checkpoints that rnntui wrote") from None
    except Exception as error:  # noqa: BLE001 - any parse failure means the same to the user
        first = (str(error).splitlines() or [type(error).__name__])[0][:200]
        raise CheckpointError(f"checkpoint {path} cannot be read: {first}") from None


def read_checked(path: str | Path, task: str, check: Callable[[object], Any],
                 device: torch.device | str = "cpu") -> tuple[dict, Any]:
    """``read_payload``'s payload and the model settings ``check`` returns for it, once it has
    passed; a payload that fails gets one line naming the file and the field."""
    _, payload = read_payload(path, task, device)
    try:
        return payload, check(payload)
    except InvalidField as problem:
        raise refuse(Path(path), problem) from None


def write_file(path: Path, header: dict, payload: dict) -> Path:
    """``payload`` saved with torch, behind the magic line and a JSON header carrying its size
    and checksum, written atomically."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    body = buffer.getvalue()
    header = {"format_version": FORMAT_VERSION, "sha256": hashlib.sha256(body).hexdigest(),
              "payload_bytes": len(body), **header}
    write_atomically(path, MAGIC + json.dumps(header).encode("utf-8") + b"\n" + body, CheckpointError)
    return path


def list_checkpoints(folder: str | Path, left_out: list[Path] | None = None) -> list[tuple[Path, dict]]:
    """Checkpoints in ``folder`` (newest first) with their headers. A file that cannot be listed,
    for any reason, is skipped (and added to ``left_out``, when given): one file never stops the
    listing of the others."""
    folder = Path(folder)
    found = []
    try:
        paths = list(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []
    except OSError:
        return []
    for path in paths:
        try:
            header, _ = read_header(path)
            modified = path.stat().st_mtime
        except Exception:  # noqa: BLE001 - unreadable, crafted, or deleted while the folder is listed
            if left_out is not None:
                left_out.append(path)
            continue
        found.append((modified, path, header))
    found.sort(key=lambda item: item[0], reverse=True)
    return [(path, header) for _, path, header in found]
