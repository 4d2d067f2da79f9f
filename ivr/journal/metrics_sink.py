"""Journal notes and the routing desk turned into Prometheus metrics (bounded labels only)."""

from __future__ import annotations

from typing import Any

from ivr.calls.commands import Note
from ivr.calls.notes import NoteKind
from ivr.journal.metrics import CALLBACK_OUTCOMES, SURVEY_KINDS, Metrics

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

# The note that ends a wait in a queue, in the metric's words (queue_exit: "overflowed").
WAIT_OUTCOME: dict[str, str] = {
    NoteKind.ANSWERED: "answered",
    NoteKind.QUEUE_ABANDONED: "abandoned",
    NoteKind.QUEUE_CALLBACK: "callback",
}


class MetricsSink:
    """Counts calls by plan and outcome, live calls, menu choices, queue waits and talk time."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def record(self, note: Note, at: float) -> None:
        fields = note.fields
        metrics = self.metrics
        match note.kind:
            case NoteKind.ARRIVED:
                metrics.active_calls.inc()
            case NoteKind.ENDED:
                metrics.active_calls.dec()
                metrics.calls.labels(plan=fields["plan"], outcome=fields["outcome"]).inc()
            case NoteKind.MENU_CHOICE:
                metrics.menu_selections.labels(
                    plan=fields["plan"], node=fields["node"], option=fields["option"]
                ).inc()
            case NoteKind.TAG:
                metrics.calls_by_topic.labels(plan=fields["plan"], topic=fields["tag"]).inc()
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
                metrics.overflow.labels(queue=fields["queue"], step=fields["step"]).inc()
            case NoteKind.CALLBACK_REQUESTED:
                metrics.callbacks.labels(outcome="requested").inc()
            case NoteKind.CALLBACK_FINISHED if fields.get("outcome") in CALLBACK_OUTCOMES:
                metrics.callbacks.labels(outcome=fields["outcome"]).inc()
            case NoteKind.SURVEY_ANSWER if fields.get("kind") in SURVEY_KINDS:
                metrics.survey_score.labels(kind=fields["kind"]).observe(float(fields["score"]))
            case NoteKind.AGENT_HUNG_UP | NoteKind.CALLER_HUNG_UP:
                metrics.talk.labels(queue=fields["queue"]).observe(float(fields["talk"]))


def export_desk(metrics: Metrics, snapshot: dict[str, Any]) -> None:
    """Set the gauges of agents by team and state, and of callers waiting per queue."""
    counts: dict[tuple[str, str], int] = {}
    for agent in snapshot["agents"]:
        key = (agent["team"], AGENT_STATE.get(agent["state"], "offline"))
        counts[key] = counts.get(key, 0) + 1
    teams = {agent["team"] for agent in snapshot["agents"]}
    for team in teams:
        for state in AGENT_STATE.values():
            metrics.agents.labels(team=team, state=state).set(counts.get((team, state), 0))
    for queue in snapshot["queues"]:
        metrics.queue_callers.labels(queue=queue["queue"]).set(queue["waiting"] + queue["ringing"])
        metrics.queue_longest_wait.labels(queue=queue["queue"]).set(queue["longest_wait"])
        metrics.queue_open.labels(queue=queue["queue"]).set(1 if queue.get("open", True) else 0)
