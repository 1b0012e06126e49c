"""The character-level recurrent language model: Embedding -> RNN -> Linear (the book's)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from rnntui.charlm import lstm

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


# Far above any model rnntui trains, far below what would hang building one (a typo, or a
# crafted checkpoint asking for 10**9 layers).
MAX_SETTING = {"vocab_size": 0x110000, "embed_dim": 1 << 16, "hidden_size": 1 << 16, "layers": 64}


@dataclass(frozen=True)
class ModelConfig:
    """Defaults are chapter 15's: ``Embedding(V, 256) -> LSTM(256, 512) -> Linear(512, V)``."""

    vocab_size: int
    embed_dim: int = 256
    hidden_size: int = 512
    layers: int = 1
    cell: str = "lstm"
    dropout: float = 0.0
    # DropConnect on the recurrent (hidden-to-hidden) weights while training, one mask per
    # batch shared by every time step (AWD-LSTM's "weight drop"): it regularises the
    # recurrence itself, where ordinary dropout on the outputs cannot reach.
    weight_dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        for name, high in MAX_SETTING.items():
            if not 1 <= getattr(self, name) <= high:
                raise ValueError(f"{name} must be from 1 to {high:,}, got {getattr(self, name)}")
        for name in ("dropout", "weight_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")

    def to_dict(self) -> dict:
        return asdict(self)


def state_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The name and shape of each weight of ``CharRNN(config)``, in the order of its
    parameters, worked out without building it (a checkpoint is checked against this)."""
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[config.cell] * config.hidden_size
    shapes: dict[str, tuple[int, ...]] = {"embedding.weight": (config.vocab_size, config.embed_dim)}
    for layer in range(config.layers):
        inputs = config.embed_dim if layer == 0 else config.hidden_size
        shapes[f"rnn.weight_ih_l{layer}"] = (gates, inputs)
        shapes[f"rnn.weight_hh_l{layer}"] = (gates, config.hidden_size)
        shapes[f"rnn.bias_ih_l{layer}"] = (gates,)
        shapes[f"rnn.bias_hh_l{layer}"] = (gates,)
    shapes["fc.weight"] = (config.vocab_size, config.hidden_size)
    shapes["fc.bias"] = (config.vocab_size,)
    return shapes


# The recurrent state: (h, c) for an LSTM, h for a GRU or plain RNN.
State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


class CharRNN(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embed_dim)
        kwargs = {"nonlinearity": "tanh"} if config.cell == "rnn" else {}
        self.rnn = CELLS[config.cell](
            config.embed_dim,
            config.hidden_size,
            num_layers=config.layers,
            batch_first=True,
            # nn.LSTM applies dropout between stacked layers only; one layer would warn.
            dropout=config.dropout if config.layers > 1 else 0.0,
            **kwargs,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.fc = nn.Linear(config.hidden_size, config.vocab_size)

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """``x``: ``(batch, time)`` character ids. Returns ``(batch, time, V)`` logits and the
        state after the last character, so a long text can be fed in pieces."""
        weight_dropout = self.config.weight_dropout if self.training else 0.0
        if lstm.can_use(self.rnn, x):  # training on the CPU: same maths, less work
            out, state = lstm.lstm_train_forward(self.embedding, self.rnn, x, state, weight_dropout)
        elif weight_dropout > 0.0:
            dropped = {name: F.dropout(weight, weight_dropout)
                       for name, weight in self.rnn.named_parameters() if name.startswith("weight_hh")}
            out, state = functional_call(self.rnn, dropped, (self.embedding(x), state))
        else:
            out, state = self.rnn(self.embedding(x), state)
        return self.fc(self.dropout(out)), state

    def init_state(self, batch_size: int, device: torch.device | str = "cpu") -> State:
        shape = (self.config.layers, batch_size, self.config.hidden_size)
        zeros = torch.zeros(shape, device=device)
        return (zeros, zeros.clone()) if self.config.cell == "lstm" else zeros


def training_flops_per_char(config: ModelConfig, input_lookup: bool = False) -> int:
    """Matrix-multiply FLOPs to train on one character (forward + backward = 3x forward).

    Forward per character: the recurrent layers' input and hidden projections plus the output
    layer, 2 FLOPs per multiply-add. The embedding is a lookup and costs nothing. With
    ``input_lookup`` (rnntui's CPU trainer, see ``lstm.py``) the first layer's input
    projection is a row of a precomputed table, so it drops out too.
    """
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[config.cell]
    forward = 0
    for layer in range(config.layers):
        inputs = config.embed_dim if layer == 0 else config.hidden_size
        if layer == 0 and input_lookup:
            inputs = 0
        forward += 2 * gates * config.hidden_size * (inputs + config.hidden_size)
    forward += 2 * config.hidden_size * config.vocab_size
    return 3 * forward
