"""Call reports from the journal: per-call records, figures by period, queue and topic."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, tzinfo
from typing import Literal

from ivr.calls.notes import NoteKind
from ivr.store.port import Entry

By = Literal["hour", "day", "weekday"]
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(slots=True)
class CallRecord:
    """One call as the journal tells it; `queue` is the last queue it waited in."""

    call_id: str
    arrived: float
    plan: str = ""
    queue: str = ""
    topic: str = ""
    answered: bool = False
    abandoned: bool = False
    wait: float | None = None
    sla: float | None = None
    talk: float | None = None
    outcome: str = ""

    @property
    def missed(self) -> bool:
        """Queued and never reached an agent (abandoned, overflowed or sent to a callback)."""
        return bool(self.queue) and not self.answered


@dataclass(frozen=True, slots=True)
class Row:
    """Figures for one group; rates are fractions, times seconds, None when undefined."""

    group: str
    calls: int
    answered: int
    abandoned: int
    abandon_rate: float | None
    asa: float | None
    service_level: float | None
    aht: float | None


@dataclass(frozen=True, slots=True)
class Report:
    """The sections `ivr report` prints."""

    by: str
    periods: list[Row]
    queues: list[Row]
    topics: list[Row]
    missed_by_hour: dict[str, int]


def calls(entries: Iterable[Entry]) -> list[CallRecord]:
    """Fold the notes of each call into a record, in order of arrival."""
    records: dict[str, CallRecord] = {}
    for entry in entries:
        if not entry.call_id:
            continue  # desk notes (agents, API) belong to no call
        record = records.get(entry.call_id)
        if record is None:
            # A call that arrived before the window starts at its first note we see.
            record = records[entry.call_id] = CallRecord(entry.call_id, entry.at)
        _apply(record, entry)
    return sorted(records.values(), key=lambda r: (r.arrived, r.call_id))


def _apply(record: CallRecord, entry: Entry) -> None:
    fields = entry.fields
    match entry.kind:
        case NoteKind.ARRIVED:
            record.arrived, record.plan = entry.at, fields.get("plan", "")
        case NoteKind.TAG:
            record.topic = fields.get("tag", "")
        case NoteKind.QUEUE_JOIN:
            # An overflow joins a new queue: only the last attempt counts.
            record.queue, record.wait, record.sla = fields.get("queue", ""), None, None
            record.answered = record.abandoned = False
        case (
            NoteKind.ANSWERED
            | NoteKind.QUEUE_ABANDONED
            | NoteKind.QUEUE_EXIT
            | NoteKind.QUEUE_CALLBACK
        ):
            record.queue = fields.get("queue", record.queue)
            record.wait, record.sla = _number(fields.get("wait")), _number(fields.get("sla"))
            record.answered = entry.kind == NoteKind.ANSWERED
            record.abandoned = entry.kind == NoteKind.QUEUE_ABANDONED
            if entry.kind == NoteKind.ANSWERED and fields.get("topic") and not record.topic:
                record.topic = fields["topic"]
        case NoteKind.AGENT_HUNG_UP | NoteKind.CALLER_HUNG_UP:
            record.talk = _number(fields.get("talk"))
        case NoteKind.ENDED:
            record.outcome = fields.get("outcome", "")
            record.plan = record.plan or fields.get("plan", "")


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None  # a hand-edited or foreign note must not stop the report


def summarise(group: str, records: Sequence[CallRecord]) -> Row:
    """Calls, answered, abandoned, abandon rate, ASA, service level and AHT of `records`.

    Abandon rate and service level are over answered + abandoned (overflows and callbacks
    left the queue by design); service level counts answers within the queue's own sla.
    """
    answered = [r for r in records if r.answered]
    abandoned = sum(1 for r in records if r.abandoned)
    decided = len(answered) + abandoned
    waits = [r.wait for r in answered if r.wait is not None]
    within = sum(
        1 for r in answered if r.wait is not None and r.sla is not None and r.wait <= r.sla
    )
    talks = [r.talk for r in answered if r.talk is not None]
    return Row(
        group=group,
        calls=len(records),
        answered=len(answered),
        abandoned=abandoned,
        abandon_rate=abandoned / decided if decided else None,
        asa=sum(waits) / len(waits) if waits else None,
        service_level=within / decided if decided else None,
        aht=sum(talks) / len(talks) if talks else None,
    )


def period_key(by: By, tz: tzinfo = UTC) -> Callable[[CallRecord], str]:
    """The group a call falls in, by its arrival in `tz`."""
    formats = {"hour": "%Y-%m-%d %H:00", "day": "%Y-%m-%d"}

    def key(record: CallRecord) -> str:
        moment = datetime.fromtimestamp(record.arrived, tz)
        if by == "weekday":
            return f"{moment.weekday() + 1} {WEEKDAYS[moment.weekday()]}"
        return moment.strftime(formats[by])

    return key


def group(records: Sequence[CallRecord], key: Callable[[CallRecord], str]) -> list[Row]:
    """One row per key, sorted by key, and a `total` row last."""
    groups: dict[str, list[CallRecord]] = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    rows = [summarise(name, groups[name]) for name in sorted(groups)]
    return [*rows, summarise("total", records)]


def build(entries: Iterable[Entry], by: By = "day", tz: tzinfo = UTC) -> Report:
    """The whole report over `entries`."""
    records = calls(entries)
    queued = [r for r in records if r.queue]
    missed: dict[str, int] = {f"{hour:02d}": 0 for hour in range(24)}
    for record in records:
        if record.missed:
            missed[f"{datetime.fromtimestamp(record.arrived, tz).hour:02d}"] += 1
    return Report(
        by=by,
        periods=group(records, period_key(by, tz)),
        queues=group(queued, lambda r: r.queue),
        topics=group(records, lambda r: r.topic or "-"),
        missed_by_hour=missed,
    )


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
    return [(report.by, report.periods), ("queue", report.queues), ("topic", report.topics)]


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
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _round(value: object) -> object:
    return round(value, 4) if isinstance(value, float) else value


def _rounded(row: dict[str, object]) -> dict[str, object]:
    return {name: _round(value) for name, value in row.items()}


RENDER: dict[str, Callable[[Report], str]] = {"table": as_table, "csv": as_csv, "json": as_json}
