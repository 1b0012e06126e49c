"""What a checkpoint must hold, checked before anything is built from it.

A checkpoint's sha256 proves only that its payload is what its writer wrote, and anyone can
write one. So every field's type, every model setting's range and every weight's shape (against
the model settings and the vocabulary) is checked here, from the plain data the weights-only
unpickler returns, before a model, an optimizer or a trainer is made: a crafted file gets one
clear line, never a traceback, an allocator error or a hang.
"""

from __future__ import annotations

import math
import re

import torch

from rnntui.charlm.model import MAX_SETTING, ModelConfig, state_shapes
from rnntui.core.errors import CheckpointError, RnntuiError

MAX_STEP = 10**15
# How deep a header's JSON may nest: the header, a record in it (provenance), a record in that
# (finetuned_from) and _plain's eight levels of values inside a record fit with room to spare.
MAX_HEADER_DEPTH = 16
TASKS = ("text", "sentiment", "review-lm")  # what a checkpoint's header may say it is for


class Bad(Exception):
    """One field of a payload is wrong; the message says which and how."""


_STRUCTURE = re.compile(rb'[\[\]{}"\\]')  # what nesting and strings are made of
# The numbers rnntui's checkpoints hold: weights, moments and histories in floating point (the
# four a save may use), generator states and counts in integers. Others (float8, complex) are
# refused before an operation that torch has not implemented for them is tried.
PLAIN_DTYPES = frozenset({torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.uint8, torch.int8,
                          torch.int16, torch.int32, torch.int64, torch.bool})


def json_depth(text: bytes) -> int:
    """How deep ``text``'s arrays and objects nest (brackets inside strings do not count),
    found without parsing it: ``json.loads`` recurses once a level, and a header of 100,000
    ``[`` exhausts Python's stack (a RecursionError, not a ValueError)."""
    # One pass over the characters that matter, in linear time: a regular expression for JSON
    # strings backtracks, and a header of unterminated escapes took minutes.
    depth = deepest = 0
    in_string, escaped_at = False, -1
    for match in _STRUCTURE.finditer(text):
        at, char = match.start(), match.group()
        if at == escaped_at:
            continue
        if in_string:
            if char == b"\\":
                escaped_at = at + 1
            elif char == b'"':
                in_string = False
        elif char == b'"':
            in_string = True
        elif char in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in b"]}":
            depth -= 1
    return deepest


def check_header(header: object) -> None:
    """The JSON header's fields that readers use before the payload (the picker lists them)."""
    if not isinstance(header, dict):
        raise Bad("the header is not a JSON object")
    version = header.get("format_version")
    if not _is_int(version) or version < 1:
        raise Bad(f"format_version is {shown(version)}, not a format number")
    if not _is_int(header.get("payload_bytes")) or header["payload_bytes"] < 0:
        raise Bad("payload_bytes is not a size")
    if not isinstance(header.get("sha256"), str):
        raise Bad("sha256 is not a checksum")
    if "task" in header and header["task"] not in TASKS:
        raise Bad(f"task is {shown(header['task'])}, not {', '.join(TASKS)}")
    for name in ("step", "vocab_size"):
        if name in header and not (_is_int(header[name]) and 0 <= header[name] <= MAX_STEP):
            raise Bad(f"{name} is {shown(header[name])}")
    for name in ("best_val_loss", "last_val_loss"):
        if header.get(name) is not None and not _is_finite(header[name]):
            raise Bad(f"{name} is {shown(header[name])}")
    for name, kind in (("model", dict), ("corpus", dict), ("provenance", dict), ("created", str)):
        if header.get(name) is not None and not isinstance(header[name], kind):
            raise Bad(f"{name} is a {type(header[name]).__name__}, not a {kind.__name__}")
    _check_record("corpus", header.get("corpus"), CORPUS_FIELDS)


def check_payload(payload: object) -> ModelConfig:
    """Raise ``Bad`` unless ``payload`` is a checkpoint rnntui can build a model from; returns
    its model settings."""
    check_required(payload)
    check_tensors(payload)
    config = model_config(payload["model_config"])
    check_vocab(payload["vocab"], config.vocab_size)
    check_weights(payload["model_state"], config)
    check_step(payload["step"])
    optimizer_state = payload.get("optimizer_state")
    if optimizer_state is not None:
        check_optimizer_state(optimizer_state, config)
    rng_state = payload.get("rng_state")
    if rng_state is not None:
        check_rng_state(rng_state, config)
    check_history(payload.get("history"))
    _check_record("corpus", payload.get("corpus"), CORPUS_FIELDS)
    _check_record("provenance", payload.get("provenance"), PROVENANCE_FIELDS)
    finetuned_from = (payload.get("provenance") or {}).get("finetuned_from")
    _check_record("provenance's finetuned_from", finetuned_from, FINETUNED_FROM_FIELDS)
    train_config = payload.get("train_config")
    if train_config is not None:
        check_train_config(train_config)
    check_times(payload)
    return config


def check_required(payload: object) -> None:
    """A dictionary with the fields every task's checkpoint has."""
    if not isinstance(payload, dict):
        raise Bad("the payload is not a dictionary")
    for name in ("model_config", "vocab", "model_state", "step"):
        if name not in payload:
            raise Bad(f"it has no {name}")


def check_tensors(payload: dict) -> None:
    """Every tensor in ``payload`` (at any depth) is a plain one whose elements its file holds,
    before any operation reads or copies it: a sparse tensor fails most operations, and an
    "expanded" one (stride 0) declares gigabytes of elements over a few bytes, which the first
    copy (``isfinite``, ``.float()``) would allocate."""
    pending: list[tuple[tuple, object]] = [((key,), value) for key, value in payload.items()]
    while pending:  # not recursive: the unpickler builds lists of any depth
        where, value = pending.pop()
        if isinstance(value, torch.Tensor):
            first, *rest = map(str, where)
            check_tensor(value, f"{first}'s {'/'.join(rest)}" if rest else first)
        elif isinstance(value, dict):
            pending += [((*where, key), item) for key, item in value.items()]
        elif isinstance(value, (list, tuple)):
            pending += [((*where, index), item) for index, item in enumerate(value)]


def check_tensor(tensor: torch.Tensor, name: str) -> None:
    """A dense tensor (strided, not quantized) each of whose elements has its own place in a
    storage that holds them all."""
    if tensor.layout != torch.strided or tensor.is_quantized or tensor.is_nested or tensor.is_meta:
        kind = "quantized" if tensor.is_quantized else str(tensor.layout).removeprefix("torch.")
        raise Bad(f"{shown(name)} is a {kind} tensor, not a plain one")
    if tensor.dtype not in PLAIN_DTYPES:
        raise Bad(f"{shown(name)} holds {str(tensor.dtype).removeprefix('torch.')} numbers, which rnntui never writes")
    if not tensor.numel():
        return
    # Sorted by stride, each dimension must step past all the elements of the smaller ones.
    extent = 1  # elements from the first to the last, in the storage
    dimensions = sorted((stride, size) for size, stride in zip(tensor.shape, tensor.stride(), strict=True) if size > 1)
    for stride, size in dimensions:
        if stride < extent:
            raise Bad(f"{shown(name)} repeats its elements (an expanded or overlapping view): it declares "
                      f"{tensor.numel():,} elements that its file does not hold")
        extent += (size - 1) * stride
    if tensor.untyped_storage().nbytes() < (tensor.storage_offset() + extent) * tensor.element_size():
        raise Bad(f"{shown(name)} declares more elements than its storage holds")


def check_step(step: object) -> None:
    if not _is_int(step) or not 0 <= step <= MAX_STEP:
        raise Bad(f"step is {shown(step)}, not a step count")


def check_times(payload: dict) -> None:
    """``elapsed`` (seconds of training) and ``created`` (an ISO date), where present."""
    elapsed = payload.get("elapsed", 0.0)
    if not _is_finite(elapsed) or elapsed < 0:
        raise Bad(f"elapsed is {shown(elapsed)}, not a number of seconds")
    if not isinstance(payload.get("created", ""), str):
        raise Bad("created is not a date")


def model_config(values: object) -> ModelConfig:
    if not isinstance(values, dict):
        raise Bad(f"model_config is a {type(values).__name__}, not a dictionary")
    unknown = set(values) - set(ModelConfig.__dataclass_fields__)
    if unknown:
        raise Bad(f"model_config has unknown settings ({', '.join(sorted(map(str, unknown)))})")
    for name in MAX_SETTING:
        if name in values and not _is_int(values[name]):
            raise Bad(f"model_config's {name} is {shown(values[name])}, not a whole number")
    for name in ("dropout", "weight_dropout"):
        if name in values and not _is_finite(values[name]):
            raise Bad(f"model_config's {name} is {shown(values[name])}, not a rate")
    if not isinstance(values.get("cell", "lstm"), str):
        raise Bad("model_config's cell is not a name")
    try:
        return ModelConfig(**values)
    except (TypeError, ValueError) as error:
        raise Bad(f"its model settings cannot be used ({error})") from None


def check_vocab(vocab: object, size: int) -> None:
    if not isinstance(vocab, (list, tuple)) or not all(isinstance(c, str) and len(c) == 1 for c in vocab):
        raise Bad("vocab is not a list of characters")
    if len(vocab) != size:
        raise Bad(f"vocab has {len(vocab):,} characters but the model's weights are for {size:,}")
    if list(vocab) != sorted(set(vocab)):
        raise Bad("vocab is not sorted distinct characters")


def check_weights(weights: object, config: ModelConfig) -> None:
    check_state_dict(weights, state_shapes(config))


def check_state_dict(weights: object, expected: dict[str, tuple[int, ...]]) -> None:
    """``model_state`` holds exactly the tensors of ``expected``'s names and shapes, all finite."""
    if not isinstance(weights, dict):
        raise Bad("model_state is not a dictionary of tensors")
    if set(weights) != set(expected):
        missing, extra = sorted(set(expected) - set(weights)), sorted(map(str, set(weights) - set(expected)))
        raise Bad("model_state does not fit its model (" + "; ".join(
            part for part in (f"missing {', '.join(missing[:3])}" if missing else "",
                              f"unexpected {', '.join(extra[:3])}" if extra else "") if part) + ")")
    for name, shape in expected.items():
        tensor = weights[name]
        if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
            raise Bad(f"model_state's {name} is not a tensor of numbers")
        if tuple(tensor.shape) != shape:
            raise Bad(f"model_state's {name} has shape {tuple(tensor.shape)}, the model needs {shape}")
    if not all(bool(torch.isfinite(tensor).all()) for tensor in weights.values()):
        raise Bad("its weights hold NaN or infinite values: the model is broken (training may have "
                  "diverged before it was saved)")


def check_optimizer_state(state: object, config: ModelConfig) -> None:
    """Adam's state, as ``torch.optim.Adam.state_dict()`` writes it for this model: each
    parameter's moments must have that parameter's shape, or the first step would fail."""
    check_adam_state(state, list(state_shapes(config).values()))  # the order of model.parameters()


def check_adam_state(state: object, shapes: list[tuple[int, ...]]) -> None:
    """``shapes``: the model's parameters' shapes, in the order of ``model.parameters()``."""
    if not isinstance(state, dict) or not isinstance(state.get("state"), dict) \
            or not isinstance(state.get("param_groups"), list):
        raise Bad("optimizer_state is not an optimizer's state")
    for group in state["param_groups"]:
        if not isinstance(group, dict) or not isinstance(group.get("params"), list) \
                or not all(_is_int(i) and 0 <= i < len(shapes) for i in group["params"]):
            raise Bad("optimizer_state's parameter groups do not fit the model")
        check_adam_settings(group)
    amsgrad = {i for group in state["param_groups"] if group.get("amsgrad") for i in group["params"]}
    for index, moments in state["state"].items():
        if not _is_int(index) or not 0 <= index < len(shapes) or not isinstance(moments, dict):
            raise Bad("optimizer_state does not fit the model")
        needed = {"step", "exp_avg", "exp_avg_sq", *(("max_exp_avg_sq",) if index in amsgrad else ())}
        if moments and not needed <= set(moments):  # Adam's step reads them all once a state exists
            raise Bad(f"optimizer_state has no {', '.join(sorted(needed - set(moments)))} for parameter {index}")
        for name, value in moments.items():
            if not isinstance(value, torch.Tensor) or not value.is_floating_point():
                raise Bad(f"optimizer_state's {shown(name)} is not a tensor of numbers")
            if name == "step":
                if value.numel() != 1 or not bool(torch.isfinite(value).all()) or float(value) < 0:
                    raise Bad(f"optimizer_state's step is {shown(value)}, not a step count")
            elif tuple(value.shape) != shapes[index]:
                raise Bad(f"optimizer_state's {name} has shape {tuple(value.shape)}, its weight {shapes[index]}")
            elif not bool(torch.isfinite(value).all()) or (name != "exp_avg" and bool((value < 0).any())):
                # Adam divides by the root of the squared moments: a NaN or a negative one makes
                # the next step's weights NaN, which the resumed run would save.
                raise Bad(f"optimizer_state's {name} for parameter {index} holds "
                          + ("negative numbers" if bool(torch.isfinite(value).all()) else "NaN or infinite numbers"))


# Adam's settings as torch.optim.Adam saves them, and what each may be (rnntui's optimizers are
# made on the CPU or a GPU of this machine, so a saved capturable or differentiable run is not
# one of theirs).
ADAM_FLAGS = ("amsgrad", "maximize", "decoupled_weight_decay")
ADAM_CHOICES = ("foreach", "fused")  # None: torch decides


def check_adam_settings(group: dict) -> None:
    """One parameter group's settings, which ``load_state_dict`` takes from the file and the
    first step uses."""
    for name in ("lr", "eps", "weight_decay"):
        if name in group and not (_is_finite(group[name]) and group[name] >= 0):
            raise Bad(f"optimizer_state's {name} is {shown(group[name])}")
    betas = group.get("betas", (0.9, 0.999))
    if not (isinstance(betas, (list, tuple)) and len(betas) == 2
            and all(_is_finite(beta) and 0 <= beta < 1 for beta in betas)):
        raise Bad(f"optimizer_state's betas are {shown(betas)}")
    for name in ADAM_FLAGS:
        if not isinstance(group.get(name, False), bool):
            raise Bad(f"optimizer_state's {name} is {shown(group[name])}")
    for name in ADAM_CHOICES:
        if group.get(name) is not None and not isinstance(group[name], bool):
            raise Bad(f"optimizer_state's {name} is {shown(group[name])}")
    for name in ("capturable", "differentiable"):
        if group.get(name, False) is not False:
            raise Bad(f"optimizer_state's {name} is {shown(group[name])}: not an optimizer rnntui makes")


def check_generators(state: object, names: tuple[str, ...]) -> None:
    """``state``'s random generators ``names`` (each optional) are states a torch generator takes:
    of its size and valid, as a spare generator that takes each one shows."""
    if not isinstance(state, dict):
        raise Bad("rng_state is not a dictionary")
    for name in names:
        value = state.get(name)
        if value is None:
            continue
        if not isinstance(value, torch.Tensor) or value.dtype != torch.uint8 or value.dim() != 1:
            raise Bad(f"rng_state's {name} is not a generator state")
        try:
            torch.Generator().set_state(value)
        except (RuntimeError, ValueError, TypeError) as error:
            first = (str(error).splitlines() or ["damaged"])[0]
            raise Bad(f"rng_state's {name} is not a generator state ({first})") from None


def check_rng_state(state: object, config: ModelConfig) -> None:
    check_generators(state, ("windows", "torch"))
    streams = state.get("streams")
    if streams is None:
        return
    if not isinstance(streams, dict) or not all(_is_int(streams.get(k)) for k in ("epoch", "pos")):
        raise Bad("rng_state's streams are not a place in the text")
    carried = streams.get("carried")
    parts = carried if isinstance(carried, (tuple, list)) else [] if carried is None else [carried]
    for part in parts:
        if not isinstance(part, torch.Tensor) or part.dim() != 3 or part.shape[0] != config.layers \
                or part.shape[2] != config.hidden_size or not part.is_floating_point():
            raise Bad("rng_state's carried state does not fit the model")
    layout = streams.get("layout")
    if layout is not None and not (isinstance(layout, (list, tuple)) and all(_is_int(v) for v in layout)):
        raise Bad("rng_state's stream layout is not a list of numbers")


def check_history(history: object) -> None:
    if history is None:
        return
    if not isinstance(history, dict):
        raise Bad("history is not a dictionary")
    for name, points in history.items():
        if isinstance(points, torch.Tensor):
            if points.dim() != 2 or points.shape[1] != 2 or points.dtype != torch.float64:
                raise Bad(f"history's {name} is a tensor of shape {tuple(points.shape)}, not rows of (step, loss)")
            if points.numel() and not bool(torch.isfinite(points).all() and (points[:, 0] >= 0).all()
                                           and (points[:, 0] <= MAX_STEP).all()):
                raise Bad(f"history's {name} has steps or losses that are not finite numbers")
        elif isinstance(points, list):  # format 1
            for point in points:
                if not (isinstance(point, (list, tuple)) and len(point) == 2 and _is_int(point[0])
                        and 0 <= point[0] <= MAX_STEP and _is_finite(point[1])):
                    raise Bad(f"history's {name} is not a list of (step, loss) pairs")
        else:
            raise Bad(f"history's {name} is not a loss curve")


def check_train_config(values: object, config_class: type | None = None) -> None:
    """Training settings that ``config_class`` (the language model's ``TrainConfig`` by default)
    accepts."""
    if config_class is None:
        from rnntui.charlm.trainer import TrainConfig as config_class

    if not isinstance(values, dict):
        raise Bad(f"train_config is a {type(values).__name__}, not a dictionary")
    try:
        config_class.from_dict(values).validate()
    except RnntuiError as error:
        raise Bad(f"its training settings cannot be used ({error})") from None
    except TypeError as error:
        raise Bad(f"its training settings are damaged ({error})") from None


# The fields rnntui reads from a checkpoint's records, and what each must be.
NUMBER, WHOLE, TEXT = (int, float), int, str
CORPUS_FIELDS = {"name": TEXT, "sha256": TEXT, "characters": WHOLE, "path": TEXT, "encoding": TEXT}
PROVENANCE_FIELDS = {"command": TEXT, "machine": TEXT, "evaluated_with": TEXT, "val_loss": NUMBER,
                     "val_characters": WHOLE, "wall_time_s": NUMBER, "steps": WHOLE, "finetuned_from": dict,
                     "run_id": TEXT}
FINETUNED_FROM_FIELDS = {"checkpoint": TEXT, "step": WHOLE, "corpus": TEXT, "val_loss": NUMBER}


def _check_record(name: str, value: object, fields: dict) -> None:
    """``corpus``, ``provenance`` and its ``finetuned_from``: None or a dictionary of strings to
    JSON-like values, where each field rnntui reads (``fields``) is None or of its type."""
    if value is None:
        return
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value) or not _plain(value):
        raise Bad(f"{name} is a {type(value).__name__}, not a dictionary of text and numbers")
    for field, kind in fields.items():
        item = value.get(field)
        if item is None:
            continue
        wrong = not isinstance(item, kind) or isinstance(item, bool) or (
            kind in (NUMBER, WHOLE) and not _is_finite(item)) or (kind is WHOLE and item < 0)
        if wrong:
            raise Bad(f"{name}'s {field} is {shown(item)}")


def _plain(value: object, depth: int = 0) -> bool:
    if depth > 8:
        return False
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_plain(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v, depth + 1) for k, v in value.items())
    return False


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_finite(value: object) -> bool:
    try:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    except OverflowError:  # an integer beyond any float (10**400): no setting or figure of rnntui's
        return False


def shown(value: object) -> str:
    """A value of a crafted field, short and on one line (a tensor's repr spans lines)."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


def refuse(path, problem: Bad) -> CheckpointError:
    """The one line a person sees for a payload that fails its checks."""
    return CheckpointError(" ".join(f"checkpoint {path} cannot be used: {problem}".split()))
