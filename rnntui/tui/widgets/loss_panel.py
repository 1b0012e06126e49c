"""The loss chart (textual-plotext) and the training figures under it.

The chart widget is imported and mounted once the app's first screen is drawn (the app calls
``mount_chart``): plotext's import and first plot take a tenth of a second that the first frame
need not wait for.
"""

from __future__ import annotations

import math

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

from rnntui.core.tasks import TASKS, TEXT_TASK

MAX_POINTS = 400
# The recent view: the last this many steps. Training on from a long history (the bundled model's
# 16,000 steps), the whole run's chart hardly moves with each new step; this one does.
RECENT_STEPS = 1_000
# The figures as six cells, and the orders they take in three columns or in two.
FIGURE_ORDERS = {3: (0, 1, 2, 3, 4, 5), 2: (0, 2, 1, 5, 3, 4)}


def downsample(points: list[tuple[int, float]], limit: int = MAX_POINTS) -> tuple[list[int], list[float]]:
    """At most ``limit`` points: means of equal runs of consecutive steps (smooths the noise)."""
    if not points:
        return [], []
    size = max(1, -(-len(points) // limit))
    steps, values = [], []
    for i in range(0, len(points), size):
        run = points[i:i + size]
        steps.append(run[-1][0])
        values.append(sum(v for _, v in run) / len(run))
    return steps, values


def step_ticks(last: int, count: int = 4, first: int = 0) -> list[int]:
    """Round steps for the x axis from ``first`` to ``last``: multiples of 1, 2, 2.5, 4 or 5 times
    a power of ten, about ``count`` of them (0, 4,000, 8,000, ... rather than 0, 4,001, 8,002, ...)."""
    if last <= first:
        return [first]
    raw = (last - first) / count
    power = 10 ** math.floor(math.log10(raw))
    spacing = next(power * m for m in (1, 2, 2.5, 4, 5, 10) if power * m >= raw)
    spacing = max(1, int(spacing))
    return list(range(-(-first // spacing) * spacing, last + 1, spacing))


def since(points: list[tuple[int, float]], first: int | None) -> list[tuple[int, float]]:
    """The points from step ``first`` on (all of them for None)."""
    return points if first is None else [point for point in points if point[0] >= first]


def loss_range(train: list[tuple[int, float]], val: list[tuple[int, float]]) -> tuple[float, float] | None:
    """The y range the chart shows: from the lowest loss to the highest over the later three
    quarters of the steps, so that the first steps' spike (a fresh model starts near ln V, far
    above where it soon is) does not squeeze the curve a person is watching into a thin band.
    None while there are too few points to tell."""
    points = train + val
    if len(train) < 20:
        return None
    first, last = train[0][0], train[-1][0]
    recent = [v for step, v in points if step >= first + (last - first) / 4]
    low, high = min(v for _, v in points), max(recent)
    margin = max((high - low) * 0.05, 1e-3)
    return max(low - margin, 0.0), high + margin  # a loss is never below 0


def format_rate(per_second: float | None) -> str:
    """A speed in at most five characters, so that it fits the figures on a GPU too:
    9,876, then 15.6k, 156k, then 2.4M."""
    if not per_second:
        return "-"
    if per_second < 9_999.5:
        return f"{per_second:,.0f}"
    value, unit = (per_second / 1e6, "M") if per_second >= 999_500 else (per_second / 1e3, "k")
    return f"{value:.1f}{unit}" if value < 99.95 else f"{value:.0f}{unit}"


def figures_grid(cells: list[str], width: int, short_cells: list[str] | None = None) -> Table:
    """The cells in three columns if they fit in ``width``, else in two, with less space
    between the columns if even two do not fit, and last ``short_cells``: a cell is never
    wrapped."""
    short_cells = short_cells or cells
    widths = {False: [Text.from_markup(cell).cell_len for cell in cells],
              True: [Text.from_markup(cell).cell_len for cell in short_cells]}
    for columns, padding, short in ((3, 2, False), (2, 2, False), (2, 1, False), (2, 1, True)):
        order = FIGURE_ORDERS[columns]
        needed = sum(max(widths[short][order[i]] for i in range(c, 6, columns)) for c in range(columns))
        if needed + padding * (columns - 1) <= width:
            break
    chosen = short_cells if short else cells
    grid = Table.grid(padding=(0, padding))
    for _ in range(columns):
        grid.add_column(no_wrap=True)
    for row in range(0, 6, columns):
        grid.add_row(*(chosen[i] for i in order[row:row + columns]))
    return grid


def format_seconds(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class LossPanel(Vertical):
    LOADING = "loading…"

    def __init__(self, empty: str = "no training yet: press ctrl+t", known: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.empty = empty  # what the chart says before the first point
        # The model's history has come in (until then the chart says LOADING); a watched run's
        # chart knows from the start that it waits for its first step.
        self.known = known
        self.corpus: str | None = None
        self.train: list[tuple[int, float]] = []
        self.val: list[tuple[int, float]] = []
        self.accuracy: list[tuple[int, float]] = []  # a review model's validation accuracy
        # Other runs' validation curves drawn beside this one's, by name (rnntui watch --compare).
        self.compared: dict[str, list[tuple[int, float]]] = {}
        # What the losses are of, and the speed's unit: the chat's language model's until the
        # reviews mode shows its own run, or a watched run says it is another model's (show_run).
        self.run_task = TEXT_TASK
        self.title, self.rate_label = TASKS[TEXT_TASK].loss_title, TASKS[TEXT_TASK].rate_label
        self.figures = {"step": 0, "chars_per_s": None, "elapsed": 0.0, "device": "-"}
        self._dirty = False
        # The view: the last RECENT_STEPS steps (True), the whole run (False), or None: the
        # recent steps while the model trains on from a history longer than that, else the whole.
        self.recent: bool | None = None
        self.live_from: int | None = None  # the first step trained since the history was shown
        self.x_range: tuple[int, int] | None = None  # the steps the chart spans, as last drawn

    def compose(self) -> ComposeResult:
        yield Static(self.empty if self.known else self.LOADING, id="loss-plot", classes="placeholder")
        yield Static(id="loss-figures")

    def on_mount(self) -> None:
        self.show_corpus(None)
        self.refresh_figures()
        # Redraw the chart at most a few times a second, however fast points arrive.
        self.set_interval(0.5, self._replot_if_dirty)

    def show_run(self, task: str, empty: str) -> None:
        """Show a run of another kind of model (``task``) from now on (the app's modes each have
        theirs); its history follows with set_history."""
        self.run_task, self.empty = task, empty
        self.title, self.rate_label = TASKS[task].loss_title, TASKS[task].rate_label
        self.figures["chars_per_s"] = None

    def set_history(self, train, val, step: int, elapsed: float = 0.0, accuracy=()) -> None:
        self.known = True
        self.train, self.val, self.accuracy = list(train), list(val), list(accuracy)
        self.live_from = None
        self.figures.update(step=step, elapsed=elapsed, chars_per_s=None)
        self.replot()
        self.refresh_figures()

    def add_events(self, events) -> None:
        self.known = True
        if self.live_from is None and events:
            self.live_from = events[0].step
        for event in events:
            if self.train and event.step <= self.train[-1][0]:
                # A run resumed from an earlier checkpoint repeats steps (a watched metrics file):
                # the later record of a step wins, and the curve goes on from there.
                self.train, self.val, self.accuracy = ([point for point in points if point[0] < event.step]
                                                       for points in (self.train, self.val, self.accuracy))
            self.train.append((event.step, event.train_loss))
            if event.val_loss is not None:
                self.val.append((event.step, event.val_loss))
            if getattr(event, "val_accuracy", None) is not None:
                self.accuracy.append((event.step, event.val_accuracy))
        last = events[-1]
        # A trainer's event names its speed by what it counts; a watched run's point, ``speed``.
        rate = next((getattr(last, name) for name in (*(task.speed_key for task in TASKS.values()), "speed")
                     if getattr(last, name, None) is not None), None)
        self.figures.update(step=last.step, chars_per_s=rate, elapsed=last.elapsed)
        self._dirty = True
        self.refresh_figures()

    def add_compared(self, name: str, points: list[tuple[int, float]]) -> None:
        """More of another run's validation estimates, drawn beside this run's curves."""
        self.compared.setdefault(name, []).extend(points)
        self._dirty = True

    @property
    def shows_recent(self) -> bool:
        """The chart shows the last RECENT_STEPS steps: as chosen (``recent``), or else while the
        model trains on from a history longer than that."""
        if self.recent is not None:
            return self.recent
        return (self.live_from is not None and bool(self.train)
                and self.live_from - self.train[0][0] > RECENT_STEPS)

    def toggle_view(self) -> bool:
        """Switch between the whole run and the recent steps; True: the recent steps now."""
        self.recent = not self.shows_recent
        self.replot()
        return self.recent

    def show_corpus(self, name: str | None) -> None:
        """Name the text (or the watched run) the losses are measured on in the panel's title,
        shortened in the middle to fit the panel's width."""
        from rnntui.tui.screens.picker import shortened

        self.corpus = name
        title = self.title
        room = (self.size.width or 40) - len(title) - 7  # the border's corners, " · " and padding
        self.border_title = f"{title} · {shortened(name, max(room, 8))}" if name else title

    def set_device(self, device: str) -> None:
        self.figures["device"] = device
        self.refresh_figures()

    def _replot_if_dirty(self) -> None:
        if self._dirty:
            self._dirty = False
            self.replot()

    async def mount_chart(self) -> None:
        """Replace the placeholder with the chart, which then plots the history so far."""
        from textual_plotext import PlotextPlot

        if self.chart is not None:
            return
        placeholder = self.query_one("#loss-plot")
        await placeholder.remove()
        await self.mount(PlotextPlot(id="loss-plot"), before="#loss-figures")
        self.replot()

    @property
    def chart(self) -> Widget | None:
        """The plotext widget, or None before it is mounted."""
        return next((plot for plot in self.query("#loss-plot") if hasattr(plot, "plt")), None)

    def replot(self) -> None:
        plot = self.chart
        if plot is None:  # the chart plots the whole history once it is mounted
            return
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        last = max(self.train[-1][0] if self.train else 0, self.val[-1][0] if self.val else 0)
        first = max(0, last - RECENT_STEPS) if self.shows_recent else None
        train, val = since(self.train, first), since(self.val, first)
        steps, values = downsample(train)
        if steps:
            plt.plot(steps, values, label="train", marker="braille")
        if val:
            vsteps, vvalues = downsample(val)
            plt.plot(vsteps, vvalues, label="validation", marker="braille")
        from rnntui.tui.screens.picker import shortened

        compared = [(name, shown) for name, points in self.compared.items() if (shown := since(points, first))]
        for name, points in compared:
            csteps, cvalues = downsample(points)
            plt.plot(csteps, cvalues, label=shortened(name, 16), marker="braille")
        if not steps and not val and not compared:
            plt.title(self.empty if self.known else self.LOADING)
            self.x_range = None
        else:
            last = max([last, *(points[-1][0] for _, points in compared)])
            start = first if first is not None else min(step for step, _ in train[:1] + val[:1]
                                                        + [points[0] for _, points in compared])
            self.x_range = (start, last)
            ticks = step_ticks(last, first=first or 0)
            plt.xticks(ticks, [f"{t:,}" for t in ticks])
            if first is not None:
                plt.xlim(first, last)
            shown = loss_range(train, val + [point for _, points in compared for point in points])
            if shown is not None:
                plt.ylim(*shown)
        plt.xlabel(f"step (the last {RECENT_STEPS:,}; f8: all)" if first is not None else "step")
        plt.ylabel("loss")
        plot.refresh()

    def refresh_figures(self) -> None:
        f = self.figures
        best = min((v for _, v in self.val), default=None)
        speed = format_rate(f["chars_per_s"])
        last_val = f"{self.val[-1][1]:.4f}" if self.val else "-"
        best_val = f"{best:.4f}" if best is not None else "-"
        step = f"{f['step']:,}" if self.known else "-"
        best_label = "best val~"
        if self.accuracy:  # a review model: its best validation accuracy says more than its loss
            best_label, best_val = "best acc", f"{max(a for _, a in self.accuracy):.1%}"
        cells = [f"step [b]{step}[/]", f"{self.rate_label} [b]{speed}[/]", f"time [b]{format_seconds(f['elapsed'])}[/]",
                 f"val~ [b]{last_val}[/]", f"{best_label} [b]{best_val}[/]", f"device [b]{f['device']}[/]"]
        # For a panel too narrow for these: a shorter label, and the device without its precision.
        short_cells = [*cells[:4], f"best [b]{best_val}[/]", f"device [b]{f['device'].split(' (')[0]}[/]"]
        self.figure_cells = cells  # as shown (the tests read them)
        grid = figures_grid(cells, self.content_size.width, short_cells)
        figures = self.query_one("#loss-figures", Static)
        figures.styles.height = grid.row_count
        figures.update(grid)

    def on_resize(self) -> None:
        self.refresh_figures()
        self.show_corpus(self.corpus)
