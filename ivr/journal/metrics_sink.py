"""Journal notes and the routing desk turned into Prometheus metrics (bounded labels only)."""

from __future__ import annotations

from prometheus_client import Gauge

from ivr.calls.commands import Note
from ivr.calls.notes import NoteKind
from ivr.journal.metrics import CALLBACK_OUTCOMES, SURVEY_KINDS, Metrics
from ivr.routing.desk import DeskFigures

# The router's agent states, in the metric's words (AGENT_STATES in ivr.journal.metrics).
AGENT_STATE = {
    "signed_out": "offline",
    "off_duty": "offline",
    "available": "available",
    "ringing": "ringing",
    "on_call": "busy",
    "wrap_up": "wrapup",
    "paused": "paused",
}
METRIC_STATES = tuple(dict.fromkeys(AGENT_STATE.values()))  # each of the metric's states once

# The note that ends a wait in a queue, in the metric's words (queue_exit: "overflowed").
WAIT_OUTCOME: dict[str, str] = {
    NoteKind.ANSWERED: "answered",
    NoteKind.QUEUE_ABANDONED: "abandoned",
    NoteKind.QUEUE_CALLBACK: "callback",
}


# The kinds record() counts (its `case`s; tests/unit/journal/test_metrics.py keeps the two
# alike): the others, half a call's notes, skip the match's dozen comparisons.
COUNTED = frozenset(
    {
        NoteKind.ARRIVED,
        NoteKind.ENDED,
        NoteKind.MENU_CHOICE,
        NoteKind.TAG,
        NoteKind.ANSWERED,
        NoteKind.QUEUE_ABANDONED,
        NoteKind.QUEUE_EXIT,
        NoteKind.QUEUE_CALLBACK,
        NoteKind.OVERFLOW,
        NoteKind.CALLBACK_REQUESTED,
        NoteKind.CALLBACK_FINISHED,
        NoteKind.SURVEY_ANSWER,
        NoteKind.AGENT_HUNG_UP,
        NoteKind.CALLER_HUNG_UP,
        NoteKind.DISPOSITION,
    }
)


class MetricsSink:
    """Counts calls by plan and outcome, live calls, menu choices, queue waits and talk time."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def record(self, note: Note, at: float) -> None:
        if note.kind not in COUNTED:
            return
        fields = note.fields
        metrics = self.metrics
        match note.kind:
            case NoteKind.ARRIVED:
                metrics.active_calls.inc()
            case NoteKind.ENDED:
                metrics.active_calls.dec()
                # Children looked up once (Metrics.child): .labels() is most of a note's cost.
                metrics.child(metrics.calls, fields["plan"], fields["outcome"]).inc()
            case NoteKind.MENU_CHOICE:
                metrics.child(
                    metrics.menu_selections, fields["plan"], fields["node"], fields["option"]
                ).inc()
            case NoteKind.TAG:
                metrics.child(metrics.calls_by_topic, fields["plan"], fields["tag"]).inc()
            case (
                NoteKind.ANSWERED
                | NoteKind.QUEUE_ABANDONED
                | NoteKind.QUEUE_EXIT
                | NoteKind.QUEUE_CALLBACK
            ):
                outcome = WAIT_OUTCOME.get(note.kind, "overflowed")
                if fields.get("reason") == "lost":
                    outcome = "lost"  # the PBX lost the call while the daemon was away
                metrics.observe_wait(
                    fields["queue"], outcome, float(fields["wait"]), float(fields["sla"])
                )
            case NoteKind.OVERFLOW:
                metrics.child(metrics.overflow, fields["queue"], fields["step"]).inc()
            case NoteKind.CALLBACK_REQUESTED:
                metrics.child(metrics.callbacks, "requested").inc()
            case NoteKind.CALLBACK_FINISHED if fields.get("outcome") in CALLBACK_OUTCOMES:
                metrics.child(metrics.callbacks, fields["outcome"]).inc()
            case NoteKind.SURVEY_ANSWER if fields.get("kind") in SURVEY_KINDS:
                metrics.child(metrics.survey_score, fields["kind"]).observe(float(fields["score"]))
            case NoteKind.AGENT_HUNG_UP | NoteKind.CALLER_HUNG_UP:
                metrics.child(metrics.talk, fields["queue"]).observe(float(fields["talk"]))
            case NoteKind.DISPOSITION:
                metrics.child(metrics.dispositions, fields["queue"], fields["disposition"]).inc()


class DeskGauges:
    """The gauges of agents by team and state and of each queue's callers, longest wait and
    hours, set from the desk's kept figures each second; a gauge is set only when its value
    changed since the last export (the label lookups are most of what setting one costs)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._last: dict[tuple[str, ...], tuple[Gauge, float]] = {}

    def export(self, figures: DeskFigures) -> None:
        counts: dict[tuple[str, str], int] = {}
        for (team, shown), people in figures.agents.items():
            key = (team, AGENT_STATE.get(str(shown), "offline"))
            counts[key] = counts.get(key, 0) + people
        agents = self.metrics.agents
        for team in figures.teams:
            for state in METRIC_STATES:
                self._set(agents, "agents", (team, state), counts.get((team, state), 0))
        callers = self.metrics.queue_callers
        longest = self.metrics.queue_longest_wait
        hours = self.metrics.queue_open
        for queue in figures.queues:
            name = (queue.queue,)
            self._set(callers, "callers", name, queue.waiting + queue.ringing)
            self._set(longest, "longest", name, round(queue.longest_wait, 1))
            self._set(hours, "open", name, 1 if figures.open.get(queue.queue, True) else 0)

    def _set(self, gauge: Gauge, kind: str, labels: tuple[str, ...], value: float) -> None:
        key = (kind, *labels)
        last = self._last.get(key)
        if last is not None and last[1] == value:
            return
        child = last[0] if last is not None else gauge.labels(*labels)
        child.set(value)
        self._last[key] = (child, value)
