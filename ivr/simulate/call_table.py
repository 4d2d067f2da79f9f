"""What became of each call of a fixed list (`ivr simulate --calls`), per variant: the queue,
the overflow steps and when they fired, who answered and after how long, and how it ended; as
an aligned table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ivr.simulate.arrivals import Outline

COLUMNS = ("variant", "caller", "arrived", "queues", "overflows", "agent", "team",
           "answered_after", "ended_after", "outcome")  # fmt: skip


def rows(variant: str, calls: Sequence[Outline], tz: ZoneInfo) -> list[dict[str, Any]]:
    """One row per call, in the order they arrived."""
    return [
        {
            "variant": variant,
            "caller": call.caller,
            "arrived": datetime.fromtimestamp(call.arrived, tz).strftime("%Y-%m-%d %H:%M:%S"),
            "queues": list(call.queues),
            "overflows": [{"step": step, "after": round(at, 1)} for step, at in call.overflows],
            "agent": call.agent,
            "team": call.team,
            "answered_after": None if call.answered is None else round(call.answered, 1),
            "ended_after": round(call.ended, 1),
            "outcome": call.outcome,
        }
        for call in sorted(calls, key=lambda c: c.arrived)
    ]


def render(table: list[dict[str, Any]], form: str) -> str:
    """The rows as `table`, `csv` or `json`."""
    if form == "json":
        return json.dumps(table, indent=2, ensure_ascii=False) + "\n"
    flat = [{c: _text(row[c]) for c in COLUMNS} for row in table]
    if form == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(flat)
        return out.getvalue()
    widths = {c: max([len(c)] + [len(row[c]) for row in flat]) for c in COLUMNS}
    lines = ["  ".join(c.ljust(widths[c]) for c in COLUMNS).rstrip()]
    lines += ["  ".join(row[c].ljust(widths[c]) for c in COLUMNS).rstrip() for row in flat]
    return "\n".join(lines) + "\n"


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return " ".join(
            f"{v['step']}@{v['after']:g}s" if isinstance(v, dict) else str(v) for v in value
        )
    return str(value)
