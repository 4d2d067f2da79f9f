"""`ivr simulate --png DIR`: the run's charts as PNG files (matplotlib, drawn off screen).

- service_by_hour.png: service level and abandon rate by hour of day, a line per variant;
- who_answered.png: answered calls per day, stacked: in-house, partner agents, partner trunk,
  a panel per variant;
- wait_heatmap.png: mean wait by weekday and hour, a panel per variant on one colour scale.

The same rows give the same bytes: no time stamp or version is written into the files.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

from matplotlib import rc_context
from matplotlib.figure import Figure

from ivr.simulate.chart_series import HOURS, ChartSeries, Curve, chart_series
from ivr.simulate.figures import HourRow

DPI = 100
# Left out of the files so that they depend on the rows alone.
METADATA: dict[str, str | None] = {"Software": None}
WEEKDAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WHO = (
    ("in-house", "#1f77b4"),
    ("partner agents", "#ff7f0e"),
    ("partner trunk", "#2ca02c"),
)


def draw(rows: Iterable[HourRow], folder: Path) -> list[Path]:
    """Draw the run's charts into `folder` (made if missing); the files written, in order.
    Rows of one variant give one line or panel each; two variants are compared."""
    series = chart_series(rows)
    if not series.variants:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    drawn = []
    # One look whatever a matplotlibrc on the machine says.
    with rc_context({"figure.facecolor": "white", "axes.grid": True, "grid.alpha": 0.3}):
        for name, figure in (
            ("service_by_hour.png", _service_by_hour(series)),
            ("who_answered.png", _who_answered(series)),
            ("wait_heatmap.png", _wait_heatmap(series)),
        ):
            path = folder / name
            figure.savefig(path, dpi=DPI, metadata=METADATA)
            drawn.append(path)
    return drawn


def _service_by_hour(series: ChartSeries) -> Figure:
    figure = Figure(figsize=(9, 6), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True)
    hours = list(range(HOURS))
    for index, curve in enumerate(series.by_hour):
        colour = f"C{index}"
        top.plot(
            hours, _percent(curve.service_level), marker="o", color=colour, label=curve.variant
        )
        bottom.plot(
            hours, _percent(curve.abandon_rate), marker="s", color=colour, label=curve.variant
        )
    top.set_ylabel("service level (%)")
    bottom.set_ylabel("abandon rate (%)")
    for axes, corner in ((top, "lower left"), (bottom, "upper left")):
        axes.set_ylim(0, 100)
        axes.legend(loc=corner)
    bottom.set_xlabel("hour of day")
    bottom.set_xticks(hours)
    figure.suptitle("Service level and abandon rate by hour of day")
    return figure


def _who_answered(series: ChartSeries) -> Figure:
    panels = len(series.answered)
    figure = Figure(figsize=(10, 3.2 * panels + 0.8), layout="constrained")
    axes_list = figure.subplots(panels, 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    for axes, who in zip(axes_list, series.answered, strict=True):
        days = list(range(len(who.days)))
        below = [0] * len(days)
        for (label, colour), counts in zip(
            WHO, (who.in_house, who.partner_agents, who.partner_trunk), strict=True
        ):
            axes.bar(days, counts, bottom=below, color=colour, label=label, width=0.8)
            below = [b + c for b, c in zip(below, counts, strict=True)]
        axes.set_title(who.variant)
        axes.set_ylabel("answered calls")
        every = max(1, math.ceil(len(days) / 10))
        axes.set_xticks(days[::every], [f"{d:%d %b}" for d in who.days[::every]])
    # One legend for every panel, beside the first so that it hides no bar.
    axes_list[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.suptitle("Who answered, per day")
    return figure


def _wait_heatmap(series: ChartSeries) -> Figure:
    panels = len(series.waits)
    figure = Figure(figsize=(9, 2.6 * panels + 0.8), layout="constrained")
    axes_list = figure.subplots(panels, 1, squeeze=False)[:, 0]
    values = [v for wait in series.waits for day in wait.mean_wait for v in day if v is not None]
    top = max(values, default=0.0) or 1.0
    image = None
    for axes, wait in zip(axes_list, series.waits, strict=True):
        grid = [_nan(day) for day in wait.mean_wait]
        image = axes.imshow(grid, aspect="auto", cmap="viridis", vmin=0, vmax=top)
        axes.set_title(wait.variant)
        axes.set_yticks(range(len(WEEKDAY_LABELS)), WEEKDAY_LABELS)
        axes.set_xticks(range(HOURS))
        axes.set_xlabel("hour of day")
        axes.grid(False)
    if image is not None:
        figure.colorbar(image, ax=list(axes_list), label="mean wait (s)")
    figure.suptitle("Mean wait in queue by weekday and hour (blank: nobody waited)")
    return figure


def _percent(curve: Curve) -> list[float]:
    return [math.nan if v is None else 100.0 * v for v in curve]


def _nan(values: Sequence[float | None]) -> list[float]:
    return [math.nan if v is None else v for v in values]
