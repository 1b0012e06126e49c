"""Training: random windows (or consecutive ones with the state carried), Adam, clipping;
a stream of events."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from rnntui.charlm.config import TrainConfig
from rnntui.charlm.model import CharRNN, ModelConfig, State, state_shapes
from rnntui.core import distributed, memory
from rnntui.core.errors import RnntuiError
from rnntui.core.history import History
from rnntui.core.torch_internals import skip_compiler_import
from rnntui.core.training import StepEvent, TrainerBase


@dataclass(kw_only=True)
class TrainEvent(StepEvent):
    chars_per_s: float
    lr: float
    # val_loss is a sampled estimate (see TrainConfig). Set once, on the estimate where the
    # validation loss is seen rising for a while (see History.overfitting): the model has begun
    # to learn its text by heart.
    overfitting: str | None = None


def make_optimizer(model: CharRNN, lr: float) -> torch.optim.Adam:
    """Adam, with the fused kernel where this torch has it for the model's device: one pass
    over all the weights, about 1 ms a step for the book's model on 2 CPU cores instead of 7."""
    skip_compiler_import()
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(model.parameters(), lr=lr)


def learning_rate(config: TrainConfig, step: int) -> float:
    """The rate for training step ``step`` (0-based): constant, or cosine decay."""
    if config.lr_decay_steps <= 0:
        return config.lr
    progress = min(step / config.lr_decay_steps, 1.0)
    low = config.lr * config.lr_min_ratio
    return low + 0.5 * (config.lr - low) * (1.0 + math.cos(math.pi * progress))


def check_trainable(ids: np.ndarray, config: TrainConfig, what: str = "training text") -> None:
    if len(ids) < config.seq_length + 1:
        raise RnntuiError(
            f"the {what} has {len(ids)} characters, fewer than --seq-length + 1 = "
            f"{config.seq_length + 1}; use a longer corpus or a shorter --seq-length"
        )


def training_memory_bytes(model_config: ModelConfig, config: TrainConfig) -> int:
    """A rough upper estimate of what training needs: the weights, their gradients and Adam's
    two moments, and each step's activations (the gates and states kept for the backward pass,
    and the logits with their softmax and gradient)."""
    parameters = sum(math.prod(shape) for shape in state_shapes(model_config).values())
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[model_config.cell]
    per_char = model_config.layers * (3 * gates + 4) * model_config.hidden_size + 3 * model_config.vocab_size
    return 4 * (4 * parameters + config.batch_size * config.seq_length * per_char)


def check_training_memory(model_config: ModelConfig, config: TrainConfig) -> None:
    """Refuse a model and batch that could not fit in this machine's memory, before allocating."""
    memory.check_fits(training_memory_bytes(model_config, config),
                      f"training this model at batch {config.batch_size} × {config.seq_length}",
                      "lower --batch-size or --seq-length, or use a smaller model")


class Trainer(TrainerBase):
    """Trains ``model`` on ``train_ids``; ``run()`` yields one ``TrainEvent`` per step.

    ``pause()``, ``resume()`` and ``stop()`` may be called from another thread; they take
    effect between steps, so the step in flight always completes.
    """

    def __init__(self, model: CharRNN, train_ids: np.ndarray, val_ids: np.ndarray,
                 config: TrainConfig, device: torch.device, precision: str = "fp32",
                 optimizer: torch.optim.Optimizer | None = None, step: int = 0,
                 history: History | None = None, elapsed: float = 0.0,
                 dist_info: distributed.DistInfo | None = None) -> None:
        config.validate()
        check_trainable(train_ids, config)
        check_training_memory(model.config, config)
        if device.type == "cpu":
            memory.keep_freed_memory()
        TrainerBase.__init__(self, model.to(device), optimizer or make_optimizer(model, config.lr), step,
                             history or History(), elapsed)
        self.dist = dist_info or distributed.DistInfo()
        # Under torchrun the forward pass goes through DDP (which averages the gradients);
        # self.model stays the plain module, so checkpoints never carry "module." prefixes.
        self.forward_model = model
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            self.forward_model = DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None)
        self.config = config
        self.device = device
        self.precision = precision
        # The text stays a compact uint8/uint16 array; windows are gathered by tensor indexing.
        self.train_data = torch.from_numpy(np.ascontiguousarray(train_ids)).to(device)
        self.val_windows = self._fixed_val_windows(val_ids)
        self.window_rng = torch.Generator().manual_seed(distributed.window_seed(config.random_seed, self.dist.rank))
        self._offsets = torch.arange(config.seq_length + 1, device=device)
        # With carry_state: which pass over the streams, the position in them, and the state.
        self.stream_epoch, self.stream_pos = 0, -1
        self.carried: State | None = None
        if config.carry_state:
            streams = config.batch_size * self.dist.world_size
            if (len(train_ids) - config.seq_length) // streams < config.seq_length + 1:
                raise RnntuiError(
                    f"--carry-state cuts the training text ({len(train_ids)} characters) into "
                    f"{streams} streams, too short for windows of --seq-length {config.seq_length}; "
                    "use a smaller --batch-size or --seq-length")
        self._overfitting_said = False  # once per rise of the validation loss (TrainEvent.overfitting)
        self._boundary = self._capture_rng()

    @property
    def total_steps(self) -> int:
        return self.config.steps

    # -- RNG state, for exact resume (rng_state: the generators and, with carry_state, the streams)
    def _capture_rng(self) -> dict:
        state = {"windows": self.window_rng.get_state(), "torch": torch.get_rng_state()}
        if self.config.carry_state:
            # No copy needed: each step replaces the carried tensors, never changes them.
            state["streams"] = {"epoch": self.stream_epoch, "pos": self.stream_pos, "carried": self.carried,
                                "layout": list(self._stream_layout(self.stream_epoch))}
        return state

    def set_rng_state(self, state: dict) -> None:
        """Restore the saved generators. The file holds rank 0's; other ranks of a distributed
        run (any number of them) reseed from their rank and the step."""
        if self.dist.rank == 0:
            self.window_rng.set_state(state["windows"])
        else:
            self.window_rng.manual_seed(distributed.window_seed(self.config.random_seed, self.dist.rank)
                                        + 1_000_003 * self.step)
        torch.set_rng_state(state["torch"])
        streams = state.get("streams")
        if self.config.carry_state and streams:
            self.stream_epoch, self.stream_pos = int(streams["epoch"]), int(streams["pos"])
            # Other ranks' states are not in the file: they restart theirs from zeros.
            carried = streams["carried"] if self.dist.rank == 0 else None
            if isinstance(carried, list):  # files written before 2026-11-29: [], [h] or [h, c]
                carried = (tuple(carried) if len(carried) > 1 else carried[0]) if carried else None
            self.carried = None if carried is None else _map_state(carried, lambda t: t.to(self.device))
            layout = streams.get("layout")  # absent in files written before 2026-11-29
            moved = layout is not None and tuple(layout) != self._stream_layout(self.stream_epoch)
            first = carried[0] if isinstance(carried, tuple) else carried
            if moved or (first is not None and first.shape[1] != self.config.batch_size):
                # The run is resumed with another batch size, rank count or window length: the
                # streams are cut differently, so the saved place and state mean nothing here.
                # Start the next pass afresh, as at the end of a pass.
                self.stream_epoch, self.stream_pos, self.carried = self.stream_epoch + 1, -1, None
        self._boundary = self._capture_rng()

    # -- the work ---------------------------------------------------------------------------
    def batch(self) -> torch.Tensor:
        """``(batch, seq_length + 1)`` windows of the training text, as int64 ids: random ones,
        or with ``carry_state`` the next window of each stream."""
        if self.config.carry_state:
            return self._stream_batch()
        high = len(self.train_data) - self.config.seq_length
        starts = torch.randint(0, high, (self.config.batch_size,), generator=self.window_rng)
        index = starts.to(self.device)[:, None] + self._offsets
        return self.train_data[index].long()

    def _stream_layout(self, epoch: int) -> tuple[int, int]:
        """``(offset, stream_length)`` for pass ``epoch``: each pass starts the streams at a
        different offset, so window borders move, the same on every rank."""
        length = self.config.seq_length
        offset = int(torch.randint(0, length, (1,), generator=torch.Generator().manual_seed(
            self.config.random_seed * 1_000_003 + epoch)))
        streams = self.config.batch_size * self.dist.world_size
        return offset, (len(self.train_data) - offset) // streams

    def _stream_batch(self) -> torch.Tensor:
        config, length = self.config, self.config.seq_length
        offset, stream_length = self._stream_layout(self.stream_epoch)
        if self.stream_pos < 0 or self.stream_pos + length + 1 > stream_length:
            if self.stream_pos >= 0:
                self.stream_epoch += 1
                offset, stream_length = self._stream_layout(self.stream_epoch)
            self.stream_pos, self.carried = 0, None
        # Rank r reads streams r * batch_size ... (r + 1) * batch_size - 1.
        first = offset + self.dist.rank * config.batch_size * stream_length + self.stream_pos
        starts = first + stream_length * torch.arange(config.batch_size, device=self.device)
        self.stream_pos += length
        return self.train_data[starts[:, None] + self._offsets].long()

    def train_step(self, window: torch.Tensor) -> float:
        model, config = self.forward_model, self.config
        model.train()
        lr = learning_rate(config, self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        state = self.carried if config.carry_state else None
        loss, state = self.window_loss(model, window, state)
        # Every rank sees the same (mean) loss, so all of them stop together if it blows up.
        loss_value = distributed.mean(loss.item(), self.device) if self.dist.enabled else loss.item()
        # A uniform guess costs ln(V) nats; far above that the run has blown up even if finite.
        self.check_loss(loss_value, self.explode_at)

        def carry() -> None:
            self.carried = _map_state(state, torch.Tensor.detach)

        self.update(loss, model.parameters(), config.grad_clip, carry if config.carry_state else None)
        return loss_value

    def window_loss(self, model: torch.nn.Module, window: torch.Tensor,
                    state: State | None = None) -> tuple[torch.Tensor, State]:
        """Mean cross-entropy of predicting each window's next characters from ``state`` (zeros
        if None), and the state after the windows (autocast if bf16)."""
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            logits, state = model(window[:, :-1], state)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), window[:, 1:].reshape(-1))
        return loss, state

    @property
    def explode_at(self) -> float:
        return max(100.0, 20.0 * math.log(self.model.config.vocab_size))

    def _fixed_val_windows(self, val_ids: np.ndarray) -> torch.Tensor | None:
        length = min(self.config.eval_length, len(val_ids))
        if length < 2 or self.config.eval_windows < 1:
            return None
        starts = np.linspace(0, len(val_ids) - length, self.config.eval_windows).astype(np.int64)
        starts = np.unique(starts)
        windows = np.stack([val_ids[s:s + length] for s in starts]).astype(np.int64)
        return torch.from_numpy(windows).to(self.device)

    @torch.inference_mode()
    def estimate_val_loss(self) -> float | None:
        """Mean cross-entropy (nats/char) over fixed windows of the held-out tail: a sampled
        estimate; ``evaluate.evaluate_ids`` gives the exact figure."""
        if self.val_windows is None:
            return None
        self.model.eval()
        return self.window_loss(self.model, self.val_windows)[0].item()

    def run(self) -> Iterator[TrainEvent]:
        """Train until ``config.steps`` (a total, so a resumed run continues to it) or ``stop()``."""
        config = self.config
        chars_per_step = config.batch_size * config.seq_length * self.dist.world_size
        speed = None
        while self.step < config.steps:
            self.wait_while_paused()
            stop = self.stopping
            if self.dist.enabled:
                stop = distributed.any_rank(stop, self.device)  # all ranks stop at the same step
            if stop:
                return
            started = time.perf_counter()
            train_loss = self.train_step(self.batch())
            self.history.train.append((self.step, train_loss))
            val_loss, new_best, overfitting = None, False, None
            if config.eval_every and (self.step % config.eval_every == 0 or self.step == config.steps):
                val_loss = self.estimate_val_loss()
                if val_loss is not None:
                    self.history.val.append((self.step, val_loss))
                    since_best = self.history.since_best()
                    new_best = since_best == 0
                    if new_best:
                        self._overfitting_said = False
                    elif not self._overfitting_said:
                        overfitting = self.history.overfitting()
                        self._overfitting_said = overfitting is not None
                    if config.patience and since_best >= config.patience and self.step < config.steps:
                        # Stops at the next step's check, on every rank alike (see above).
                        self.early_stopped = True
                        self.stop()
            spent = time.perf_counter() - started
            self.elapsed += spent
            rate = chars_per_step / max(spent, 1e-9)
            speed = rate if speed is None else 0.9 * speed + 0.1 * rate
            yield TrainEvent(step=self.step, total_steps=config.steps, train_loss=train_loss, val_loss=val_loss,
                             elapsed=self.elapsed, new_best=new_best, chars_per_s=speed,
                             lr=learning_rate(config, self.step - 1), overfitting=overfitting)


def _map_state(state: State, fn: Callable[[torch.Tensor], torch.Tensor]) -> State:
    """``fn`` applied to each tensor of a recurrent state: ``(h, c)`` or ``h``."""
    return tuple(fn(t) for t in state) if isinstance(state, tuple) else fn(state)
