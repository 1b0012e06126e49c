"""What a checkpoint must hold, checked before anything is built from it.

A checkpoint's sha256 proves only that its payload is what its writer wrote, and anyone can
write one. So every field's type, every model setting's range and every weight's shape (against
the model settings and the vocabulary) is checked, from the plain data the weights-only
unpickler returns, before a model, an optimizer or a trainer is made: a crafted file gets one
clear line, never a traceback, an allocator error or a hang. The checks every task's payload
shares are here (``check_payload``); each task gives its own (``PayloadChecks``) beside its
checkpoint.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from rnntui.core.errors import CheckpointError, RnntuiError
from rnntui.core.settings import is_int

MAX_STEP = 10**15
# How deep a header's JSON may nest: the header, a record in it (provenance), a record in that
# (finetuned_from) and _plain's eight levels of values inside a record fit with room to spare.
MAX_HEADER_DEPTH = 16


class InvalidField(Exception):
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


@dataclass(frozen=True)
class PayloadChecks:
    """What one task's payload is checked against, beyond the fields every task has alike."""

    model_config: Callable[[object], Any]  # the checked model settings, from the payload's dictionary
    check_vocab: Callable[[object, int], None]  # the vocabulary, against the model's vocab_size
    state_shapes: Callable[[Any], dict[str, tuple[int, ...]]]  # the weights' names and shapes
    parameter_shapes: Callable[[Any], list[tuple[int, ...]]]  # in the order Adam's state numbers them
    check_rng_state: Callable[[object, Any], None]  # the random generators, against the model settings
    records: dict[str, dict]  # the payload's records (corpus, data, provenance) and their fields
    train_config: type  # the task's training settings


def check_payload(payload: object, checks: PayloadChecks) -> Any:
    """Raise ``InvalidField`` unless a model can be built from ``payload`` and its training
    resumed; returns its model settings."""
    check_required(payload)
    check_tensors(payload)
    config = checks.model_config(payload["model_config"])
    checks.check_vocab(payload["vocab"], config.vocab_size)
    check_state_dict(payload["model_state"], checks.state_shapes(config))
    check_step(payload["step"])
    if payload.get("optimizer_state") is not None:
        check_adam_state(payload["optimizer_state"], checks.parameter_shapes(config))
    if payload.get("rng_state") is not None:
        checks.check_rng_state(payload["rng_state"], config)
    check_history(payload.get("history"))
    for name, fields in checks.records.items():
        check_record(name, payload.get(name), fields)
    if payload.get("train_config") is not None:
        check_train_config(payload["train_config"], checks.train_config)
    check_times(payload)
    return config


def model_settings(values: object, config_class: type, whole: tuple[str, ...] = (), rates: tuple[str, ...] = (),
                   names: tuple[str, ...] = (), flags: tuple[str, ...] = ()) -> Any:
    """``config_class`` made from a payload's ``model_config``: each of its settings in ``whole``
    a whole number, in ``rates`` a finite number, in ``names`` text, in ``flags`` true or false
    (where present), and the rest of the checks the class's own."""
    if not isinstance(values, dict):
        raise InvalidField(f"model_config is a {type(values).__name__}, not a dictionary")
    unknown = set(values) - set(config_class.__dataclass_fields__)
    if unknown:
        raise InvalidField(f"model_config has unknown settings ({', '.join(sorted(map(str, unknown)))})")
    for name in whole:
        if name in values and not is_int(values[name]):
            raise InvalidField(f"model_config's {name} is {shown(values[name])}, not a whole number")
    for name in rates:
        if name in values and not is_finite(values[name]):
            raise InvalidField(f"model_config's {name} is {shown(values[name])}, not a rate")
    for group, kind, what in ((names, str, "a name"), (flags, bool, "true or false")):
        for name in group:
            if name in values and not isinstance(values[name], kind):
                raise InvalidField(f"model_config's {name} is {shown(values[name])}, not {what}")
    try:
        return config_class(**values)
    except (TypeError, ValueError) as error:
        raise InvalidField(f"its model settings cannot be used ({error})") from None


def check_required(payload: object) -> None:
    """A dictionary with the fields every task's checkpoint has."""
    if not isinstance(payload, dict):
        raise InvalidField("the payload is not a dictionary")
    for name in ("model_config", "vocab", "model_state", "step"):
        if name not in payload:
            raise InvalidField(f"it has no {name}")


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
        raise InvalidField(f"{shown(name)} is a {kind} tensor, not a plain one")
    if tensor.dtype not in PLAIN_DTYPES:
        raise InvalidField(f"{shown(name)} holds {str(tensor.dtype).removeprefix('torch.')} numbers, which rnntui "
                           "never writes")
    if not tensor.numel():
        return
    # Sorted by stride, each dimension must step past all the elements of the smaller ones.
    extent = 1  # elements from the first to the last, in the storage
    dimensions = sorted((stride, size) for size, stride in zip(tensor.shape, tensor.stride(), strict=True) if size > 1)
    for stride, size in dimensions:
        if stride < extent:
            raise InvalidField(f"{shown(name)} repeats its elements (an expanded or overlapping view): it declares "
                      f"{tensor.numel():,} elements that its file does not hold")
        extent += (size - 1) * stride
    if tensor.untyped_storage().nbytes() < (tensor.storage_offset() + extent) * tensor.element_size():
        raise InvalidField(f"{shown(name)} declares more elements than its storage holds")


def check_step(step: object) -> None:
    if not is_int(step) or not 0 <= step <= MAX_STEP:
        raise InvalidField(f"step is {shown(step)}, not a step count")


def check_times(payload: dict) -> None:
    """``elapsed`` (seconds of training) and ``created`` (an ISO date), where present."""
    elapsed = payload.get("elapsed", 0.0)
    if not is_finite(elapsed) or elapsed < 0:
        raise InvalidField(f"elapsed is {shown(elapsed)}, not a number of seconds")
    if not isinstance(payload.get("created", ""), str):
        raise InvalidField("created is not a date")


def check_state_dict(weights: object, expected: dict[str, tuple[int, ...]]) -> None:
    """``model_state`` holds exactly the tensors of ``expected``'s names and shapes, all finite."""
    if not isinstance(weights, dict):
        raise InvalidField("model_state is not a dictionary of tensors")
    if set(weights) != set(expected):
        missing, extra = sorted(set(expected) - set(weights)), sorted(map(str, set(weights) - set(expected)))
        raise InvalidField("model_state does not fit its model (" + "; ".join(
            part for part in (f"missing {', '.join(missing[:3])}" if missing else "",
                              f"unexpected {', '.join(extra[:3])}" if extra else "") if part) + ")")
    for name, shape in expected.items():
        tensor = weights[name]
        if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
            raise InvalidField(f"model_state's {name} is not a tensor of numbers")
        if tuple(tensor.shape) != shape:
            raise InvalidField(f"model_state's {name} has shape {tuple(tensor.shape)}, the model needs {shape}")
    if not all(bool(torch.isfinite(tensor).all()) for tensor in weights.values()):
        raise InvalidField("its weights hold NaN or infinite values: the model is broken (training may have "
                  "diverged before it was saved)")


def check_adam_state(state: object, shapes: list[tuple[int, ...]]) -> None:
    """``shapes``: the model's parameters' shapes, in the order of ``model.parameters()``."""
    if not isinstance(state, dict) or not isinstance(state.get("state"), dict) \
            or not isinstance(state.get("param_groups"), list):
        raise InvalidField("optimizer_state is not an optimizer's state")
    for group in state["param_groups"]:
        if not isinstance(group, dict) or not isinstance(group.get("params"), list) \
                or not all(is_int(i) and 0 <= i < len(shapes) for i in group["params"]):
            raise InvalidField("optimizer_state's parameter groups do not fit the model")
        check_adam_settings(group)
    listed = sorted(i for group in state["param_groups"] for i in group["params"])
    if listed != list(range(len(shapes))):  # torch would refuse (or skip) the rest at the first step
        raise InvalidField("optimizer_state's parameter groups do not hold each of the model's parameters once")
    amsgrad = {i for group in state["param_groups"] if group.get("amsgrad") for i in group["params"]}
    for index, moments in state["state"].items():
        if not is_int(index) or not 0 <= index < len(shapes) or not isinstance(moments, dict):
            raise InvalidField("optimizer_state does not fit the model")
        needed = {"step", "exp_avg", "exp_avg_sq", *(("max_exp_avg_sq",) if index in amsgrad else ())}
        if moments and not needed <= set(moments):  # Adam's step reads them all once a state exists
            raise InvalidField(f"optimizer_state has no {', '.join(sorted(needed - set(moments)))} for parameter "
                               f"{index}")
        for name, value in moments.items():
            if not isinstance(value, torch.Tensor) or not value.is_floating_point():
                raise InvalidField(f"optimizer_state's {shown(name)} is not a tensor of numbers")
            if name == "step":
                if value.numel() != 1 or not bool(torch.isfinite(value).all()) or float(value) < 0:
                    raise InvalidField(f"optimizer_state's step is {shown(value)}, not a step count")
            elif tuple(value.shape) != shapes[index]:
                raise InvalidField(f"optimizer_state's {name} has shape {tuple(value.shape)}, its weight "
                                   f"{shapes[index]}")
            elif not bool(torch.isfinite(value).all()) or (name != "exp_avg" and bool((value < 0).any())):
                # Adam divides by the root of the squared moments: a NaN or a negative one makes
                # the next step's weights NaN, which the resumed run would save.
                raise InvalidField(f"optimizer_state's {name} for parameter {index} holds "
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
        if name in group and not (is_finite(group[name]) and group[name] >= 0):
            raise InvalidField(f"optimizer_state's {name} is {shown(group[name])}")
    betas = group.get("betas", (0.9, 0.999))
    if not (isinstance(betas, (list, tuple)) and len(betas) == 2
            and all(is_finite(beta) and 0 <= beta < 1 for beta in betas)):
        raise InvalidField(f"optimizer_state's betas are {shown(betas)}")
    for name in ADAM_FLAGS:
        if not isinstance(group.get(name, False), bool):
            raise InvalidField(f"optimizer_state's {name} is {shown(group[name])}")
    for name in ADAM_CHOICES:
        if group.get(name) is not None and not isinstance(group[name], bool):
            raise InvalidField(f"optimizer_state's {name} is {shown(group[name])}")
    for name in ("capturable", "differentiable"):
        if group.get(name, False) is not False:
            raise InvalidField(f"optimizer_state's {name} is {shown(group[name])}: not an optimizer rnntui makes")


def check_generators(state: object, names: tuple[str, ...]) -> None:
    """``state``'s random generators ``names`` (each optional) are states a torch generator takes:
    of its size and valid, as a spare generator that takes each one shows."""
    if not isinstance(state, dict):
        raise InvalidField("rng_state is not a dictionary")
    for name in names:
        value = state.get(name)
        if value is None:
            continue
        if not isinstance(value, torch.Tensor) or value.dtype != torch.uint8 or value.dim() != 1:
            raise InvalidField(f"rng_state's {name} is not a generator state")
        try:
            torch.Generator().set_state(value)
        except (RuntimeError, ValueError, TypeError) as error:
            first = (str(error).splitlines() or ["damaged"])[0]
            raise InvalidField(f"rng_state's {name} is not a generator state ({first})") from None


def check_torch_rng(state: object, config: object = None) -> None:
    """The random state of a run whose one generator is torch's (``config``: unused, as the
    checks of ``PayloadChecks.check_rng_state`` take it)."""
    check_generators(state, ("torch",))
    if state.get("torch") is None:
        raise InvalidField("rng_state has no generator state")


def check_history(history: object) -> None:
    if history is None:
        return
    if not isinstance(history, dict):
        raise InvalidField("history is not a dictionary")
    for name, points in history.items():
        if isinstance(points, torch.Tensor):
            if points.dim() != 2 or points.shape[1] != 2 or points.dtype != torch.float64:
                raise InvalidField(f"history's {name} is a tensor of shape {tuple(points.shape)}, not rows of "
                                   "(step, loss)")
            if points.numel() and not bool(torch.isfinite(points).all() and (points[:, 0] >= 0).all()
                                           and (points[:, 0] <= MAX_STEP).all()):
                raise InvalidField(f"history's {name} has steps or losses that are not finite numbers")
        elif isinstance(points, list):  # format 1
            for point in points:
                if not (isinstance(point, (list, tuple)) and len(point) == 2 and is_int(point[0])
                        and 0 <= point[0] <= MAX_STEP and is_finite(point[1])):
                    raise InvalidField(f"history's {name} is not a list of (step, loss) pairs")
        else:
            raise InvalidField(f"history's {name} is not a loss curve")


def check_train_config(values: object, config_class: type) -> None:
    """Training settings that ``config_class`` (a task's training settings, with ``from_dict`` and
    ``validate``) accepts."""
    if not isinstance(values, dict):
        raise InvalidField(f"train_config is a {type(values).__name__}, not a dictionary")
    try:
        config_class.from_dict(values).validate()
    except RnntuiError as error:
        raise InvalidField(f"its training settings cannot be used ({error})") from None
    except TypeError as error:
        raise InvalidField(f"its training settings are damaged ({error})") from None


# The fields rnntui reads from a checkpoint's records, and what each must be.
NUMBER, WHOLE, TEXT = (int, float), int, str


def check_record(name: str, value: object, fields: dict) -> None:
    """A record such as ``corpus``, ``data`` or ``provenance``: None or a dictionary of strings to
    JSON-like values, where each field rnntui reads (``fields``) is None or of its type."""
    if value is None:
        return
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value) or not _plain(value):
        raise InvalidField(f"{name} is a {type(value).__name__}, not a dictionary of text and numbers")
    for field, kind in fields.items():
        item = value.get(field)
        if item is None:
            continue
        wrong = not isinstance(item, kind) or isinstance(item, bool) or (
            kind in (NUMBER, WHOLE) and not is_finite(item)) or (kind is WHOLE and item < 0)
        if wrong:
            raise InvalidField(f"{name}'s {field} is {shown(item)}")


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


def is_finite(value: object) -> bool:
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


def refuse(path, problem: InvalidField) -> CheckpointError:
    """The one line a person sees for a payload that fails its checks."""
    return CheckpointError(" ".join(f"checkpoint {path} cannot be used: {problem}".split()))
