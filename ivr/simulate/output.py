"""A simulation's figures as text: a summary per variant (side by side when compared), then
the figures per day or hour, as an aligned table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from ivr.simulate.tallies import Figures, Hour

FIELDS = (
    "calls", "answered", "abandoned", "abandon_rate", "service_level", "asa", "mean_wait",
    "answered_in_house", "answered_partner_agents", "answered_partner_trunk", "partner_cost",
    "callbacks", "voicemail", "missed_closed",
)  # fmt: skip
SHORT = {
    "abandon_rate": "aband%", "service_level": "SL%", "answered_in_house": "in_house",
    "answered_partner_agents": "partner", "answered_partner_trunk": "trunk",
    "partner_cost": "cost", "missed_closed": "closed", "mean_wait": "wait",
}  # fmt: skip


@dataclass(frozen=True)
class Result:
    """One variant's figures over its days."""

    figures: Figures
    days: list[date]

    def groups(self, by: str) -> list[tuple[str, dict[str, Any]]]:
        """(label, figures) per day or per hour."""
        if by == "hour":
            return [
                (f"{row.day.isoformat()} {row.hour:02d}:00",
                 {f: getattr(row, f) for f in FIELDS})
                for row in self.figures.rows(self.days)
            ]  # fmt: skip
        return [(label, hour.figures()) for label, hour in self.figures.by_day(self.days)]


def summary(result: Result) -> str:
    """One line: what the callers got and what the partner's cover cost."""
    f = result.figures.total().figures()
    currency = result.figures.currency
    lost = f["abandoned"] + f["missed_closed"]
    return (
        f"{result.figures.variant}: {f['calls']} calls, {f['answered']} answered by agents, "
        f"{lost} lost ({f['abandoned']} gave up in a queue, {f['missed_closed']} met a closed "
        f"line and reached nobody), "
        f"abandon rate {_pct(f['abandon_rate'])}, service level {_pct(f['service_level'])}, "
        f"ASA {_secs(f['asa'])}; partner answered "
        f"{f['answered_partner_agents'] + f['answered_partner_trunk']} for "
        f"{f['partner_cost']:.2f}{' ' + currency if currency else ''}; "
        f"{f['callbacks']} callbacks booked, {f['voicemail']} messages"
    )


def as_table(results: Sequence[Result], by: str) -> str:
    """Summaries, the variants side by side, then each variant's days (or hours)."""
    blocks = ["\n".join(summary(r) for r in results)]
    totals = [r.figures.total().figures() for r in results]
    lines = [["", *(r.figures.variant for r in results)]]
    lines += [[name, *(_cell(name, t[name]) for t in totals)] for name in FIELDS]
    blocks.append(_align(lines))
    for result in results:
        rows = [[by, *(SHORT.get(name, name) for name in FIELDS)]]
        rows += [[label, *(_cell(n, f[n]) for n in FIELDS)] for label, f in result.groups(by)]
        blocks.append(f"{result.figures.variant}\n{_align(rows)}")
    return "\n\n".join(blocks) + "\n"


def as_csv(results: Sequence[Result], by: str) -> str:
    """One row per variant and day (or hour); rates as fractions, empty when undefined."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["variant", by, *FIELDS])
    for result in results:
        for label, figures in result.groups(by):
            cells = ("" if figures[n] is None else _round(figures[n]) for n in FIELDS)
            writer.writerow([result.figures.variant, label, *cells])
    return out.getvalue()


def as_json(results: Sequence[Result], by: str) -> str:
    """Each variant's summary and rows (null when undefined)."""
    data = [
        {
            "variant": r.figures.variant,
            "currency": r.figures.currency,
            "total": _rounded(r.figures.total().figures()),
            by + "s": [{by: label, **_rounded(f)} for label, f in r.groups(by)],
        }
        for r in results
    ]
    return json.dumps({"variants": data}, indent=2) + "\n"


RENDER: dict[str, Callable[[Sequence[Result], str], str]] = {
    "table": as_table, "csv": as_csv, "json": as_json,
}  # fmt: skip


def _align(lines: list[list[str]]) -> str:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    cells = [
        [line[0].ljust(widths[0]), *(v.rjust(w) for v, w in zip(line[1:], widths[1:], strict=True))]
        for line in lines
    ]
    return "\n".join("  ".join(row) for row in cells)


def _cell(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if name in ("abandon_rate", "service_level"):
        return f"{value * 100:.1f}"
    if name in ("asa", "mean_wait"):
        return f"{value:.1f}"
    if name == "partner_cost":
        return f"{value:.2f}"
    return str(value)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _round(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def _rounded(figures: dict[str, Any]) -> dict[str, Any]:
    return {name: _round(value) for name, value in figures.items()}


__all__ = ["RENDER", "Hour", "Result", "summary"]
