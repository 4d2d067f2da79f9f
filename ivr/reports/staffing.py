"""Agents needed per weekday and hour, from the journal's arrivals and handle times (issue 7).

Pure computation first (`build` takes journal entries and returns a `Staffing`), rendering
after it (`as_table`, `as_csv`, `as_json`, `write_png`). Only calls that queued for an
agent count: a caller served by the menu alone needs nobody.

- Arrivals: queued calls of each weekday × hour cell, divided by how many of that weekday
  the window holds (the average of the weeks in the window).
- Handle time: mean talk time of answered calls; a cell with at least `min_calls`
  answered calls uses its own, the others the overall mean.
- Model: Erlang C (`ivr.reports.erlang.agents_needed`) when nobody hung up while waiting;
  otherwise Erlang A (`agents_needed_with_abandonment`) with the mean patience estimated
  as the time all queued callers spent waiting divided by the number who hung up (the
  maximum-likelihood estimate for exponential patience: answered callers' waits count as
  time they were seen not to give up).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from ivr.reports import erlang as forecast
from ivr.reports import report as reports
from ivr.reports.records import finished
from ivr.reports.tally import Sum, Tally
from ivr.store.port import Entry

Model = Literal["erlang_c", "erlang_a"]
WEEKDAYS = reports.WEEKDAYS
MIN_CALLS = 30
"""Answered calls a cell needs before its own handle time is trusted over the overall one."""


@dataclass(frozen=True, slots=True)
class Cell:
    """One weekday × hour: queued calls in the window, average arrivals, handle time, agents."""

    weekday: int  # 0 = Monday
    hour: int
    calls: int
    arrivals_per_hour: float
    aht: float | None  # seconds; None when the cell has no calls
    aht_from: Literal["cell", "overall", ""]
    agents: int


@dataclass(frozen=True, slots=True)
class Staffing:
    """The forecast: 7 × 24 cells (Monday 00 first) and how they were computed."""

    start: date
    end: date  # exclusive
    tz: str
    target_level: float
    target_seconds: float
    model: Model
    mean_patience: float | None  # seconds, Erlang A only
    calls: int
    abandoned: int
    aht: float | None  # overall mean talk time of answered calls
    days: tuple[int, ...]  # how many Mondays .. Sundays the window holds
    cells: tuple[Cell, ...]

    def cell(self, weekday: int, hour: int) -> Cell:
        """The cell of `weekday` (0 = Monday) and `hour` (0..23)."""
        return self.cells[weekday * 24 + hour]

    @property
    def hours(self) -> list[int]:
        """The hours from the first to the last that has calls on any day (none: empty)."""
        busy = [c.hour for c in self.cells if c.calls]
        return list(range(min(busy), max(busy) + 1)) if busy else []

    @property
    def title(self) -> str:
        """What an owner reads first: "Agents needed per hour (80% answered within 20 s)"."""
        return (
            f"Agents needed per hour ({self.target_level * 100:g}% answered"
            f" within {self.target_seconds:g} s)"
        )

    @property
    def method(self) -> str:
        """Which model, handle time and window the figures come from, in one line."""
        if self.model == "erlang_a":
            model = (
                f"Erlang A: callers hang up after {self.mean_patience:.0f} s on average"
                f" ({self.abandoned} of {self.calls} queued calls abandoned)"
            )
        else:
            model = "Erlang C: no queued caller hung up"
        aht = "no answered calls" if self.aht is None else f"handle time {self.aht:.0f} s"
        last = self.end - timedelta(days=1)
        return f"{model}; {aht}; average of {self.start:%d %b %Y} – {last:%d %b %Y} ({self.tz})"


def weekday_counts(start: date, end: date) -> tuple[int, ...]:
    """How many Mondays .. Sundays lie in [start, end)."""
    counts = [0] * 7
    day = start
    while day < end:
        counts[day.weekday()] += 1
        day += timedelta(days=1)
    return tuple(counts)


def window(start: date, end: date, tz: str) -> tuple[float, float]:
    """The window's bounds as timestamps: midnight of `start` and of `end` in `tz`."""
    zone = ZoneInfo(tz)
    return (
        datetime.combine(start, time(), zone).timestamp(),
        datetime.combine(end, time(), zone).timestamp(),
    )


def _patience(waited: float, abandoned: int) -> float | None:
    """Mean patience in seconds: the time all queued callers were seen waiting, over how many
    hung up (None when nobody did)."""
    return waited / abandoned if abandoned and waited > 0 else None


def build(
    entries: Iterable[Entry],
    start: date,
    end: date,
    tz: str = "UTC",
    target_level: float = 0.8,
    target_seconds: float = 20.0,
    min_calls: int = MIN_CALLS,
) -> Staffing:
    """Agents needed per weekday × hour over the calls that arrived in [start, end) in `tz`.

    Raises ValueError when calls queued but none was answered with a talk time (no
    handle time to staff for), or when the window is empty.
    """
    if end <= start:
        raise ValueError("the window must end after it starts")
    zone = ZoneInfo(tz)
    first, last = window(start, end, tz)
    # Counted as each call finishes: a Tally per weekday × hour, not every call's record.
    by_cell: dict[tuple[int, int], Tally] = {}
    queued = Tally()
    waited = Sum()  # every queued caller's wait, for the patience estimate
    for record in finished(entries):
        if not record.queue or not first <= record.arrived < last:
            continue
        moment = datetime.fromtimestamp(record.arrived, zone)
        cell_key = (moment.weekday(), moment.hour)
        tally = by_cell.get(cell_key)
        if tally is None:
            tally = by_cell[cell_key] = Tally()
        tally.add(record)
        queued.add(record)
        if record.wait is not None:
            waited.add(record.wait)

    aht = queued.talks.mean
    if queued.calls and aht is None:
        raise ValueError("no answered call with a talk time in the window: no handle time")
    patience = _patience(waited.total, queued.abandoned)
    abandoned = queued.abandoned
    model: Model = "erlang_a" if patience is not None else "erlang_c"
    days = weekday_counts(start, end)

    cells = []
    for weekday in range(7):
        for hour in range(24):
            cell = by_cell.get((weekday, hour))
            if cell is None or aht is None:
                cells.append(Cell(weekday, hour, 0, 0.0, None, "", 0))
                continue
            rate = cell.calls / days[weekday]
            own = cell.talks
            source: Literal["cell", "overall"] = "cell" if own.count >= min_calls else "overall"
            cell_aht = own.total / own.count if source == "cell" else aht
            cells.append(
                Cell(
                    weekday,
                    hour,
                    cell.calls,
                    rate,
                    cell_aht,
                    source,
                    _agents(rate, cell_aht, target_seconds, target_level, patience),
                )
            )
    return Staffing(
        start=start,
        end=end,
        tz=tz,
        target_level=target_level,
        target_seconds=target_seconds,
        model=model,
        mean_patience=patience,
        calls=queued.calls,
        abandoned=abandoned,
        aht=aht,
        days=days,
        cells=tuple(cells),
    )


def _agents(
    rate: float, aht: float, target_seconds: float, target_level: float, patience: float | None
) -> int:
    if aht <= 0:
        return 0
    if patience is None:
        return forecast.agents_needed(rate, aht, target_seconds, target_level)
    return forecast.agents_needed_with_abandonment(
        rate, aht, target_seconds, target_level, patience
    )


# --- rendering ---


def as_table(staffing: Staffing) -> str:
    """Title, method line, then rows Mon..Sun and columns of the hours with calls."""
    head = f"{staffing.title}\n{staffing.method}\n"
    hours = staffing.hours
    if not hours:
        return head + "no queued calls in the window\n"
    lines = [["", *(f"{h:02d}" for h in hours)]]
    for weekday, name in enumerate(WEEKDAYS):
        lines.append([name, *(str(staffing.cell(weekday, h).agents) for h in hours)])
    width = max(len(v) for line in lines for v in line[1:])
    body = "\n".join(
        " ".join([line[0].ljust(3), *(v.rjust(width) for v in line[1:])]).rstrip() for line in lines
    )
    return f"{head}\n{body}\n"


CSV_COLUMNS = ("weekday", "hour", "calls", "arrivals_per_hour", "aht", "aht_from", "agents")


def as_csv(staffing: Staffing) -> str:
    """One row per weekday × hour (all 168); weekday as Mon..Sun, hour as 00..23."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for c in staffing.cells:
        aht = "" if c.aht is None else round(c.aht, 1)
        writer.writerow(
            [WEEKDAYS[c.weekday], f"{c.hour:02d}", c.calls, round(c.arrivals_per_hour, 3),
             aht, c.aht_from, c.agents]
        )  # fmt: skip
    return out.getvalue()


def as_json(staffing: Staffing) -> str:
    """The settings, the model used and all 168 cells."""
    data = {
        "title": staffing.title,
        "method": staffing.method,
        "from": staffing.start.isoformat(),
        "to": staffing.end.isoformat(),
        "tz": staffing.tz,
        "target_level": staffing.target_level,
        "target_seconds": staffing.target_seconds,
        "model": staffing.model,
        "mean_patience": _round(staffing.mean_patience),
        "calls": staffing.calls,
        "abandoned": staffing.abandoned,
        "aht": _round(staffing.aht),
        "hours": staffing.hours,
        "cells": [
            {**asdict(c), "weekday": WEEKDAYS[c.weekday], "arrivals_per_hour":
             _round(c.arrivals_per_hour), "aht": _round(c.aht)}
            for c in staffing.cells
        ],
    }  # fmt: skip
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


RENDER = {"table": as_table, "csv": as_csv, "json": as_json}

PNG_SIZE = (1200, 500)
"""Width and height in pixels of `write_png`'s image."""


def write_png(staffing: Staffing, path: Path) -> None:
    """A heat map (colour = agents needed, the number in each cell) as a PNG, no display.

    Uses matplotlib's Agg canvas directly (no pyplot, no global state).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    hours = staffing.hours or list(range(24))
    grid = [[staffing.cell(w, h).agents for h in hours] for w in range(7)]
    top = max(max(row) for row in grid)
    dpi = 100
    figure = Figure(figsize=(PNG_SIZE[0] / dpi, PNG_SIZE[1] / dpi), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(grid, cmap="YlOrRd", vmin=0, vmax=max(top, 1), aspect="auto")
    for w, row in enumerate(grid):
        for i, agents in enumerate(row):
            colour = "white" if agents > 0.6 * top else "black"
            text = str(agents) if staffing.cell(w, hours[i]).calls else "·"
            axes.text(i, w, text, ha="center", va="center", color=colour, fontsize=10)
    axes.set_xticks(range(len(hours)), [f"{h:02d}" for h in hours])
    axes.set_yticks(range(7), list(WEEKDAYS))
    axes.set_xlabel(f"hour of day ({staffing.tz})")
    axes.set_title(staffing.method, fontsize=9, color="#444444")
    figure.suptitle(staffing.title, fontsize=15, fontweight="bold")
    bar = figure.colorbar(image, ax=axes, label="agents on the phones", fraction=0.03, pad=0.02)
    bar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    figure.savefig(path, format="png", dpi=dpi)
