"""Journal notes turned into Prometheus metrics (labels from bounded sets only)."""

from __future__ import annotations

from ivr.calls.commands import Note
from ivr.metrics import Metrics


class MetricsSink:
    """Counts calls by plan and outcome, live calls, and menu choices."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def record(self, note: Note, at: float) -> None:
        fields = note.fields
        if note.kind == "arrived":
            self.metrics.active_calls.inc()
        elif note.kind == "ended":
            self.metrics.active_calls.dec()
            self.metrics.calls.labels(plan=fields["plan"], outcome=fields["outcome"]).inc()
        elif note.kind == "menu_choice":
            self.metrics.menu_selections.labels(
                plan=fields["plan"], node=fields["node"], option=fields["option"]
            ).inc()
