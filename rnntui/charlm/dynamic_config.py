"""The dynamic evaluation's settings (rnntui.charlm.dynamic adapts with them), without torch: the
command line's parser reads their defaults, and building it must not import torch (the app's
first frame waits for the parser)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from rnntui.core.errors import RnntuiError

RULES = ("rms", "sgd")
MAX_LEARNERS = 4  # each learner reads the whole text: the time grows with their number
# The useful rates are rms 0.00005-0.0008 and sgd 0.05-0.2 (docs/dynamic-evaluation.md); already
# at rms 0.0016 the loss grows. Far above both, a rate only blows the weights up (to inf at 1e39).
MAX_LR = 10.0


@dataclass(frozen=True)
class DynamicConfig:
    """How the model adapts: one learner per rate in ``lrs`` (each a copy of the model updated
    by ``rule`` at that rate and its decay), their predictions mixed by how well each has
    predicted so far. The defaults were chosen on a slice of the training text (never on the
    held-out tail it is scored on), scored by a twin of the bundled model that never saw that
    slice: see ``benchmarks/dynamic_eval.py`` and docs/dynamic-evaluation.md."""

    SGD_LR = 0.1  # the sgd rule's default rate (--dynamic-lr)

    rule: str = "rms"
    # rms: a step in units of each weight's typical gradient; sgd: plain. 0: the trained model as it is.
    lrs: tuple[float, ...] = (5e-5, 8e-4)
    decays: tuple[float, ...] = (0.0, 0.003)  # λ, one for all or one per rate: the pull back (rms only)
    share: float = 0.1  # of the mixture's weight spread evenly again after each character (fixed share)
    segment: int = 100  # characters read between two updates
    stats_chars: int = 20_000  # training text the rms rule's gradient statistics are gathered on
    eps: float = 1e-5

    def validate(self) -> None:
        if self.rule not in RULES:
            raise RnntuiError(f"the dynamic evaluation rule must be one of {', '.join(RULES)}, got {self.rule!r}")
        if not 1 <= len(self.lrs) <= MAX_LEARNERS:
            raise RnntuiError(f"the dynamic evaluation takes from 1 to {MAX_LEARNERS} learning rates, "
                              f"got {len(self.lrs)}")
        for lr in self.lrs:
            if not (isinstance(lr, (int, float)) and math.isfinite(lr) and 0 <= lr <= MAX_LR):
                given = f"{lr:g}" if isinstance(lr, (int, float)) else repr(lr)
                raise RnntuiError(f"the dynamic evaluation learning rate must be from 0 to {MAX_LR:g} (useful ones are "
                                  f"far smaller: rms about 0.0002, sgd about 0.1), got {given}")
        if self.rule == "rms" and len(self.decays) not in (1, len(self.lrs)):
            raise RnntuiError(f"give the dynamic evaluation one decay, or one per learning rate ({len(self.lrs)}); "
                              f"got {len(self.decays)}")
        for decay in self.decays:
            if not (isinstance(decay, (int, float)) and 0 <= decay < 1):
                raise RnntuiError(f"the dynamic evaluation decay must be in [0, 1), got {decay}")
        if not (isinstance(self.share, (int, float)) and 0 <= self.share <= 1):
            raise RnntuiError(f"the dynamic evaluation's mixing share must be in [0, 1], got {self.share}")
        if not (isinstance(self.segment, int) and 1 <= self.segment <= 100_000):
            raise RnntuiError(f"the dynamic evaluation segment must be from 1 to 100,000 characters, "
                              f"got {self.segment}")
        if not (isinstance(self.stats_chars, int) and self.stats_chars >= 0):
            raise RnntuiError(f"the gradient statistics need 0 or more characters, got {self.stats_chars}")

    def learners(self) -> list[tuple[float, float]]:
        """Each learner's (lr, decay); the sgd rule has no decay."""
        if self.rule == "sgd":
            return [(lr, 0.0) for lr in self.lrs]
        decays = self.decays * len(self.lrs) if len(self.decays) == 1 else self.decays
        return list(zip(self.lrs, decays, strict=True))

    def describe(self) -> str:
        """The rule and its settings, as the output names them."""
        if self.rule == "sgd":
            rates = " and ".join(f"lr {lr:g}" for lr in self.lrs)
            rule = f"SGD at {rates}"
        else:
            rates = " and ".join(f"lr {lr:g} (decay {decay:g})" for lr, decay in self.learners())
            rule = f"RMS rule (Krause et al. 2018) at {rates}"
        if len(self.lrs) > 1:
            rule += f", mixed by how well each predicts (share {self.share:g})"
        rule += f", {self.segment}-character segments"
        if self.rule == "rms":
            rule += f", gradient statistics from {self.stats_chars:,} training characters"
        return rule

    def to_dict(self) -> dict:
        return asdict(self)


# Adapting to a seed text before continuing it (``generate --adapt``, the app's reply setting):
# one learner, since a reply continues from one copy. Chosen on passages of never-seen texts other
# than those docs/dynamic-evaluation.md reports (benchmarks/dynamic_eval.py); the mixture's fast learner, right for
# reading on through a long text, overshoots on 2,000 characters of a text unlike the book.
SEED_TEXT_CONFIG = DynamicConfig(lrs=(2e-4,), decays=(0.0,))
