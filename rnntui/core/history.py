"""A training run's curves: ``(step, value)`` points by name, as checkpoints keep them. Every
task keeps "train" (the loss of each step) and "val" (the validation loss); the review
classifier adds "accuracy" (its validation accuracy). A task's ``Curves`` says which it keeps
and which curve's best point is the model's best."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

Point = tuple[int, float]


@dataclass(frozen=True)
class Curves:
    """A task's curves: their names (the keys of its checkpoints' history, in order) and the
    one whose best point is the model's best (the lowest, or the highest)."""

    names: tuple[str, ...] = ("train", "val")
    best: str = "val"
    higher_is_better: bool = False


LOSS_CURVES = Curves()  # the language models: the loss and the validation loss


class History:
    """The curves of one run; ``history.train``, ``history.val`` (and ``history.accuracy`` for
    the review classifier) are its lists of points, appended to as the run goes."""

    def __init__(self, curves: Curves = LOSS_CURVES, **points: Iterable[Point]) -> None:
        unknown = sorted(set(points) - set(curves.names))
        if unknown:
            raise ValueError(f"no curve named {', '.join(unknown)} in {curves.names}")
        self.kind = curves
        self.curves: dict[str, list[Point]] = {name: list(points.get(name, ())) for name in curves.names}

    def __getattr__(self, name: str) -> list[Point]:
        curves = self.__dict__.get("curves", {})
        if name in curves:
            return curves[name]
        raise AttributeError(f"{type(self).__name__} has no curve or attribute {name!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, History) and (self.kind, self.curves) == (other.kind, other.curves)

    def __repr__(self) -> str:
        return f"History({', '.join(f'{name}={len(points)} points' for name, points in self.curves.items())})"

    def _best_index(self) -> int | None:
        points = self.curves[self.kind.best]
        if not points:
            return None
        if self.kind.higher_is_better:  # the first of equal bests
            return max(range(len(points)), key=lambda i: (points[i][1], -i))
        return min(range(len(points)), key=lambda i: points[i][1])

    def best(self) -> Point | None:
        """The best point of the task's deciding curve (the first of equal ones), or None."""
        index = self._best_index()
        return None if index is None else self.curves[self.kind.best][index]

    def since_best(self) -> int:
        """Validations after the best one (0 when the latest is the best, or there is none)."""
        index = self._best_index()
        return 0 if index is None else len(self.curves[self.kind.best]) - 1 - index

    def overfitting(self, after: int = 5, margin: float = 0.02) -> str | None:
        """A sentence for a person when the validation estimate has risen for a while: ``after``
        estimates in a row without a new best, the latest ``margin`` (2 %) above the best, while
        the training loss went on falling. None otherwise."""
        val, train = self.curves["val"], self.curves["train"]
        if self.since_best() < after or not val:
            return None
        best_step, best = min(val, key=lambda point: point[1])
        step, latest = val[-1]
        if latest < best * (1 + margin):
            return None
        train_then = [v for s, v in train if s <= best_step][-50:]
        train_now = [v for _, v in train][-50:]
        if not train_then or sum(train_now) / len(train_now) >= sum(train_then) / len(train_then):
            return None  # the training loss rose too: a bad rate, not learning by heart
        return (f"the validation estimate has risen for {self.since_best()} estimates (best {best:.4f} at "
                f"step {best_step:,}, now {latest:.4f}) while the training loss fell: the model is learning "
                "its text by heart")

    def to_dict(self) -> dict:
        """The form checkpoints keep: each curve's points as ``[step, value]`` lists."""
        return {name: [list(point) for point in points] for name, points in self.curves.items()}

    @classmethod
    def from_dict(cls, values: dict | None, curves: Curves = LOSS_CURVES) -> History:
        """The task's curves from a checkpoint's history (curves it lacks start empty)."""
        values = values or {}
        return cls(curves, **{name: _pairs(values.get(name) or []) for name in curves.names})


def _pairs(points: list) -> list[Point]:
    # map and zip, not a loop: converting 16,000 pairs one by one took 0.17 s of opening the
    # bundled model in the app.
    steps, values = zip(*points, strict=True) if points else ((), ())
    return list(zip(map(int, steps), map(float, values), strict=True))
