"""The loss chart (textual-plotext) and the training figures under it.

The chart widget is imported and mounted once the app's first screen is drawn (the app calls
``mount_chart``): plotext's import and first plot take a tenth of a second that the first frame
need not wait for.
"""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

MAX_POINTS = 400
WIDE_FIGURES = 44  # columns for the figures in three columns


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


def format_seconds(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class LossPanel(Vertical):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.train: list[tuple[int, float]] = []
        self.val: list[tuple[int, float]] = []
        self.figures = {"step": 0, "chars_per_s": None, "elapsed": 0.0, "device": "-"}
        self._dirty = False

    def compose(self) -> ComposeResult:
        yield Static("no training yet: press ctrl+t", id="loss-plot", classes="placeholder")
        yield Static(id="loss-figures")

    def on_mount(self) -> None:
        self.border_title = "Loss (nats/char)"
        self.refresh_figures()
        # Redraw the chart at most a few times a second, however fast points arrive.
        self.set_interval(0.5, self._replot_if_dirty)

    def set_history(self, train, val, step: int, elapsed: float = 0.0) -> None:
        self.train, self.val = list(train), list(val)
        self.figures.update(step=step, elapsed=elapsed, chars_per_s=None)
        self.replot()
        self.refresh_figures()

    def add_events(self, events) -> None:
        for event in events:
            self.train.append((event.step, event.train_loss))
            if event.val_loss is not None:
                self.val.append((event.step, event.val_loss))
        last = events[-1]
        self.figures.update(step=last.step, chars_per_s=last.chars_per_s, elapsed=last.elapsed)
        self._dirty = True
        self.refresh_figures()

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
        steps, values = downsample(self.train)
        if steps:
            plt.plot(steps, values, label="train", marker="braille")
        if self.val:
            vsteps, vvalues = downsample(self.val)
            plt.plot(vsteps, vvalues, label="validation", marker="braille")
        if not steps and not self.val:
            plt.title("no training yet: press ctrl+t")
        else:
            last = max(steps[-1] if steps else 0, self.val[-1][0] if self.val else 0)
            ticks = sorted({round(last * i / 4) for i in range(5)})
            plt.xticks(ticks, [f"{t:,}" for t in ticks])
        plt.xlabel("step")
        plt.ylabel("loss")
        plot.refresh()

    def refresh_figures(self) -> None:
        f = self.figures
        best = min((v for _, v in self.val), default=None)
        speed = f"{f['chars_per_s']:,.0f}" if f["chars_per_s"] else "-"
        last_val = f"{self.val[-1][1]:.4f}" if self.val else "-"
        best_val = f"{best:.4f}" if best is not None else "-"
        cells = [f"step [b]{f['step']:,}[/]", f"chars/s [b]{speed}[/]", f"time [b]{format_seconds(f['elapsed'])}[/]",
                 f"val~ [b]{last_val}[/]", f"best val~ [b]{best_val}[/]", f"device [b]{f['device']}[/]"]
        # Three columns where they fit, else two (a narrow panel: app.tcss gives it 3 rows).
        columns = 3 if self.content_size.width >= WIDE_FIGURES else 2
        grid = Table.grid(padding=(0, 2))
        for _ in range(columns):
            grid.add_column()
        order = cells if columns == 3 else [cells[0], cells[2], cells[1], cells[5], cells[3], cells[4]]
        for row in range(0, 6, columns):
            grid.add_row(*order[row:row + columns])
        self.query_one("#loss-figures", Static).update(grid)

    def on_resize(self) -> None:
        self.refresh_figures()
