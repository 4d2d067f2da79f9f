"""Call reports from the journal: figures by period, queue and topic, from calls as they finish."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Literal, TypeVar

from ivr.reports.records import CallRecord, calls, finished
from ivr.reports.tally import Row, Tally, summarise
from ivr.store.port import Entry

__all__ = ["CallRecord", "Report", "Row", "build", "calls", "summarise"]

By = Literal["hour", "day", "weekday"]
Key = TypeVar("Key", str, tuple[str, str, str, str])
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class Report:
    """The sections `ivr report` prints."""

    by: str
    periods: list[Row]
    queues: list[Row]
    topics: list[Row]
    missed_by_hour: dict[str, int]
    # By what agents said came of calls (roster `dispositions:`); empty when none was given.
    dispositions: list[Row] = field(default_factory=list)


def period_key(by: By, tz: tzinfo = UTC) -> Callable[[CallRecord], str]:
    """The group a call falls in, by its arrival in `tz`."""
    formats = {"hour": "%Y-%m-%d %H:00", "day": "%Y-%m-%d"}

    def key(record: CallRecord) -> str:
        moment = datetime.fromtimestamp(record.arrived, tz)
        if by == "weekday":
            return f"{moment.weekday() + 1} {WEEKDAYS[moment.weekday()]}"
        return moment.strftime(formats[by])

    return key


def _rows(tallies: dict[str, Tally], total: Tally) -> list[Row]:
    return [*(tallies[name].row(name) for name in sorted(tallies)), total.row("total")]


def build(entries: Iterable[Entry], by: By = "day", tz: tzinfo = UTC) -> Report:
    """The whole report over `entries` (oldest first), each call counted as it finishes:
    memory holds the calls under way and a tally per group, not the period."""
    period = period_key(by, tz)
    # One tally per (period, topic, queue, disposition) as calls come, summed into the
    # sections after.
    tallies: dict[tuple[str, str, str, str], Tally] = {}
    missed = [0] * 24
    for record in finished(entries):
        key = (period(record), record.topic or "-", record.queue, record.disposition)
        _tally(tallies, key).add(record)
        if record.missed:
            missed[datetime.fromtimestamp(record.arrived, tz).hour] += 1
    periods: dict[str, Tally] = {}
    topics: dict[str, Tally] = {}
    queues: dict[str, Tally] = {}
    dispositions: dict[str, Tally] = {}
    total, queued = Tally(), Tally()
    for (at, topic, queue, disposition), tally in tallies.items():
        for section, name in ((periods, at), (topics, topic)):
            _tally(section, name).merge(tally)
        _tally(dispositions, disposition or "-").merge(tally)
        total.merge(tally)
        if queue:
            _tally(queues, queue).merge(tally)
            queued.merge(tally)
    return Report(
        by=by,
        periods=_rows(periods, total),
        queues=_rows(queues, queued),
        topics=_rows(topics, total),
        missed_by_hour={f"{hour:02d}": count for hour, count in enumerate(missed)},
        dispositions=_rows(dispositions, total) if set(dispositions) - {"-"} else [],
    )


def _tally(tallies: dict[Key, Tally], name: Key) -> Tally:
    tally = tallies.get(name)
    if tally is None:
        tally = tallies[name] = Tally()
    return tally


COLUMNS = ("calls", "answered", "abandoned", "abandon_rate", "asa", "service_level", "aht")


def _cell(name: str, value: object) -> str:
    if value is None:
        return "-"
    if name in ("abandon_rate", "service_level"):
        return f"{float(value) * 100:.1f}%"  # type: ignore[arg-type]
    if name in ("asa", "aht"):
        return f"{float(value):.1f}"  # type: ignore[arg-type]
    return str(value)


def _sections(report: Report) -> list[tuple[str, list[Row]]]:
    sections = [(report.by, report.periods), ("queue", report.queues), ("topic", report.topics)]
    return sections + ([("disposition", report.dispositions)] if report.dispositions else [])


def as_table(report: Report) -> str:
    """Aligned text, one block per section, for a terminal."""
    blocks = []
    for title, rows in _sections(report):
        lines = [[title, *COLUMNS]]
        lines += [[row.group, *(_cell(c, getattr(row, c)) for c in COLUMNS)] for row in rows]
        widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
        blocks.append(
            "\n".join(
                "  ".join(
                    [line[0].ljust(widths[0])]
                    + [v.rjust(w) for v, w in zip(line[1:], widths[1:], strict=True)]
                )
                for line in lines
            )
        )
    missed = [f"{hour}  {count}" for hour, count in report.missed_by_hour.items() if count]
    blocks.append("missed calls by hour\n" + ("\n".join(missed) if missed else "none"))
    return "\n\n".join(blocks) + "\n"


def as_csv(report: Report) -> str:
    """One table with a `section` column; rates as fractions, empty when undefined."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "group", *COLUMNS])
    for title, rows in _sections(report):
        for row in rows:
            values = [getattr(row, c) for c in COLUMNS]
            writer.writerow([title, row.group, *("" if v is None else _round(v) for v in values)])
    for hour, count in report.missed_by_hour.items():
        writer.writerow(["missed_by_hour", hour, count, "", "", "", "", "", ""])
    return out.getvalue()


def as_json(report: Report) -> str:
    """The sections as JSON lists of objects (null when undefined)."""
    data = {
        "by": report.by,
        "periods": [_rounded(asdict(row)) for row in report.periods],
        "queues": [_rounded(asdict(row)) for row in report.queues],
        "topics": [_rounded(asdict(row)) for row in report.topics],
        "missed_by_hour": report.missed_by_hour,
    }
    if report.dispositions:
        data["dispositions"] = [_rounded(asdict(row)) for row in report.dispositions]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _round(value: object) -> object:
    return round(value, 4) if isinstance(value, float) else value


def _rounded(row: dict[str, object]) -> dict[str, object]:
    return {name: _round(value) for name, value in row.items()}


RENDER: dict[str, Callable[[Report], str]] = {"table": as_table, "csv": as_csv, "json": as_json}
