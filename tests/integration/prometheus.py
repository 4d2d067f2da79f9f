"""What the dashboard and the rules ask Prometheus, and what the journal says they should see."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import yaml

from ivr.journal.metrics import QUEUE_WAIT_BUCKETS
from ivr.lab.prometheus import Sample, value
from ivr.reports.report import CallRecord
from ivr.store.port import Entry
from tests.unit.journal.test_grafana_dashboard import RECORDING, dashboard_panels, metric_names


@dataclass(frozen=True, slots=True)
class Query:
    """One expression to run: where it comes from (`panel/refId` or `rule:name`) and its PromQL."""

    source: str
    expr: str

    def names(self) -> set[str]:
        """The ivr_ series and recording rules it selects."""
        return metric_names(self.expr)


def dashboard_queries() -> list[Query]:
    """Every target of every panel, as `title (type)/refId`, Grafana variables kept."""
    queries = [
        Query(f"{panel['title']} ({panel['type']})/{target.get('refId', '?')}", target["expr"])
        for panel in dashboard_panels()
        for target in panel["targets"]
    ]
    assert len({q.source for q in queries}) == len(queries), "two panels share title and type"
    return queries


def recording_queries() -> list[Query]:
    """Each recording rule's expression, and the series it records."""
    doc = yaml.safe_load(RECORDING.read_text())
    rules = [rule for group in doc["groups"] for rule in group["rules"]]
    return [Query(f"rule:{r['record']}", r["expr"]) for r in rules] + [
        Query(f"recorded:{r['record']}", r["record"]) for r in rules
    ]


def grafana_to_promql(expr: str, window: str, queue: str = ".*") -> str:
    """`expr` with Grafana's variables filled in as for one point covering the whole run.

    `$__range` and `$__rate_interval` both become `window`, so every increase() sees the
    whole run; `$queue` becomes its "All" value.
    """
    for variable, text in (("$__rate_interval", window), ("$__range", window), ("$queue", queue)):
        expr = expr.replace(variable, text)
    return expr


def keyed(result: Sequence[Sample], *labels: str) -> dict[tuple[str, ...], float]:
    """Samples by the values of `labels` (missing labels as "")."""
    return {tuple(s["metric"].get(name, "") for name in labels): value(s) for s in result}


def rounded(result: Sequence[Sample], *labels: str) -> dict[tuple[str, ...], int]:
    """As `keyed`, to whole numbers: increase() extrapolates a little past the samples."""
    return {key: round(v) for key, v in keyed(result, *labels).items()}


# --- what the journal says ---


def callers(entries: Iterable[Entry]) -> dict[str, str]:
    """Call id -> caller number, from the arrival notes."""
    return {e.call_id: e.fields.get("caller_number", "") for e in entries if e.kind == "arrived"}


def wait_outcome(record: CallRecord) -> str:
    """The `outcome` label the daemon gives the record's wait (answered or abandoned here)."""
    return "answered" if record.answered else "abandoned" if record.abandoned else "other"


def waits(records: Iterable[CallRecord]) -> list[tuple[str, str, float]]:
    """(queue, outcome, seconds) of every queued call with a known wait."""
    return [(r.queue, wait_outcome(r), r.wait) for r in records if r.queue and r.wait is not None]


def count_by(records: Iterable[CallRecord], *fields: str) -> dict[tuple[str, ...], int]:
    """How many records share each combination of `fields`."""
    return dict(Counter(tuple(str(getattr(r, f)) for f in fields) for r in records))


def le(bound: float) -> str:
    """A bucket's `le` label as prometheus_client writes it."""
    return "+Inf" if math.isinf(bound) else repr(float(bound))


def buckets(
    seconds: Iterable[float], bounds: Sequence[float] = QUEUE_WAIT_BUCKETS
) -> dict[str, int]:
    """Cumulative bucket counts of `seconds`, keyed by `le`, +Inf included."""
    values = list(seconds)
    return {le(b): sum(1 for s in values if s <= b) for b in [*bounds, math.inf]}


def bucket_of(seconds: float, bounds: Sequence[float] = QUEUE_WAIT_BUCKETS) -> tuple[float, float]:
    """The (lower, upper] bucket that holds `seconds`."""
    lower = 0.0
    for bound in [*bounds, math.inf]:
        if seconds <= bound:
            return lower, float(bound)
        lower = float(bound)
    raise AssertionError("unreachable: +Inf holds everything")


def rank_quantile(q: float, seconds: Sequence[float]) -> float:
    """The value of rank ceil(q * n): what histogram_quantile() estimates within its bucket."""
    ordered = sorted(seconds)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]
