"""Every Prometheus metric of the daemon, in one object with its own registry.

The domain core never imports this module: adapters and the daemon translate the
core's notes into metric updates. Nothing here touches prometheus_client's global
default registry, so tests (and several daemons in one process) each get a clean
set of metrics by building their own ``Metrics()``.

Labels are bounded sets only: plan names, queue names, team names, node and option
ids from the dial plan, and the fixed vocabularies below. Never a phone number, a
caller ID, a call id or anything else a caller controls.
"""

from __future__ import annotations

from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics import MetricWrapperBase

__all__ = [
    "AGENT_STATES",
    "AMI_EVENTS",
    "CALLBACK_OUTCOMES",
    "CALL_OUTCOMES",
    "PBX_INTERFACES",
    "PLAN_RELOAD_RESULTS",
    "QUEUE_WAIT_BUCKETS",
    "ROLES",
    "SURVEY_KINDS",
    "SURVEY_SCORE_BUCKETS",
    "TALK_BUCKETS",
    "WAIT_OUTCOMES",
    "Metrics",
]

CALL_OUTCOMES: tuple[str, ...] = (
    "answered",
    "abandoned",
    "voicemail",
    "callback",
    "transferred",
    "overflowed_external",
    "closed",
    "failed",
    "hungup_in_menu",
    "completed",
    "no_choice",
    "handed_back",
    "lost",
)
"""Values of ``outcome`` on ``ivr_calls_total``: how a call ended, one per call."""

ROLES: tuple[str, ...] = ("single", "standby", "active")
"""Values of ``role`` on ``ivr_daemon_role``: one daemon alone, or one of an active/standby pair."""

WAIT_OUTCOMES: tuple[str, ...] = (
    "answered",
    "abandoned",
    "callback",
    "voicemail",
    "overflowed",
    "transferred",
    "failed",
    "lost",
)
"""Values of ``outcome`` on ``ivr_queue_wait_seconds``: how a wait in a queue ended."""

AGENT_STATES: tuple[str, ...] = ("available", "ringing", "busy", "wrapup", "paused", "offline")
"""Values of ``state`` on ``ivr_agents``; all but ``offline`` count as signed in."""

CALLBACK_OUTCOMES: tuple[str, ...] = ("requested", "completed", "failed", "expired", "cancelled")
"""Values of ``outcome`` on ``ivr_callbacks_total``."""

SURVEY_KINDS: tuple[str, ...] = ("csat", "nps")
PBX_INTERFACES: tuple[str, ...] = ("ari", "ami")
AMI_EVENTS: tuple[str, ...] = ("DeviceStateChange", "FullyBooted", "Shutdown", "other")
"""Values of ``event`` on ``ivr_ami_events_total``: the events the daemon reads (ivr/pbx/ami/
link.py USED_EVENTS) and ``other``, which stays 0 while Asterisk accepts the session's filter."""
PLAN_RELOAD_RESULTS: tuple[str, ...] = ("ok", "failed")

QUEUE_WAIT_BUCKETS: tuple[float, ...] = (
    5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 300, 420, 600, 900,
)  # fmt: skip
"""Seconds; fine-grained around the usual 20 s / 30 s / 60 s service-level targets."""

TALK_BUCKETS: tuple[float, ...] = (
    15, 30, 60, 90, 120, 180, 240, 300, 420, 600, 900, 1200, 1800, 2700, 3600,
)  # fmt: skip
"""Seconds, from 15 s to one hour."""

SURVEY_SCORE_BUCKETS: tuple[float, ...] = tuple(float(i) for i in range(11))
"""One bucket per integer score 0..10 (CSAT uses 1..5 or 0..10, NPS 0..10)."""

M = TypeVar("M", bound=MetricWrapperBase)


class Metrics:
    """All metrics of the daemon, registered in one ``CollectorRegistry``.

    Args:
        registry: where to register the metrics; a fresh registry when ``None``.
            The global default registry is never used.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry: CollectorRegistry = (
            registry if registry is not None else CollectorRegistry(auto_describe=True)
        )
        r = self.registry
        self._children: dict[tuple[MetricWrapperBase, tuple[str, ...]], MetricWrapperBase] = {}

        # Calls, one increment per call when it ends.
        self.calls = Counter(
            "ivr_calls",
            "Calls handled, by dial plan and how the call ended.",
            ["plan", "outcome"],
            registry=r,
        )
        self.active_calls = Gauge(
            "ivr_active_calls", "Calls currently owned by the daemon.", registry=r
        )

        # Queues.
        self.queue_wait = Histogram(
            "ivr_queue_wait_seconds",
            "Time callers spent waiting in a queue, by how the wait ended.",
            ["queue", "outcome"],
            buckets=QUEUE_WAIT_BUCKETS,
            registry=r,
        )
        self.queue_abandoned = Counter(
            "ivr_queue_abandoned",
            "Callers who hung up while waiting in the queue.",
            ["queue"],
            registry=r,
        )
        self.queue_answered = Counter(
            "ivr_queue_answered",
            "Queued callers answered by an agent.",
            ["queue"],
            registry=r,
        )
        self.queue_answered_within_sla = Counter(
            "ivr_queue_answered_within_sla",
            "Queued callers answered within the queue's service-level target time.",
            ["queue"],
            registry=r,
        )
        self.queue_callers = Gauge(
            "ivr_queue_callers", "Callers waiting in the queue now.", ["queue"], registry=r
        )
        self.queue_longest_wait = Gauge(
            "ivr_queue_longest_wait_seconds",
            "How long the longest-waiting caller in the queue has waited so far (0 if none).",
            ["queue"],
            registry=r,
        )
        self.queue_open = Gauge(
            "ivr_queue_open",
            "1 while the queue is inside its opening hours, 0 outside.",
            ["queue"],
            registry=r,
        )
        self.overflow = Counter(
            "ivr_overflow",
            "Overflow steps taken by waiting callers.",
            ["queue", "step"],
            registry=r,
        )
        self.talk = Histogram(
            "ivr_talk_seconds",
            "Talk time of answered queue calls, from answer to hang-up or transfer.",
            ["queue"],
            buckets=TALK_BUCKETS,
            registry=r,
        )

        # Agents.
        self.agents = Gauge(
            "ivr_agents",
            "Agents by team and state; every state but 'offline' means signed in.",
            ["team", "state"],
            registry=r,
        )

        # Callbacks.
        self.callbacks_pending = Gauge(
            "ivr_callbacks_pending", "Callbacks requested and not yet completed.", registry=r
        )
        self.callbacks = Counter(
            "ivr_callbacks", "Callback events, by outcome.", ["outcome"], registry=r
        )

        # Menus and topics.
        self.menu_selections = Counter(
            "ivr_menu_selections",
            "Menu options chosen by callers (dial-plan node and option ids).",
            ["plan", "node", "option"],
            registry=r,
        )
        self.calls_by_topic = Counter(
            "ivr_calls_by_topic",
            "Calls by the topic the dial plan assigned them.",
            ["plan", "topic"],
            registry=r,
        )
        # The roster's `dispositions:` bound the label (ivr/routing/roster.py).
        self.dispositions = Counter(
            "ivr_dispositions",
            "What agents said came of their calls in wrap-up, by queue and disposition.",
            ["queue", "disposition"],
            registry=r,
        )

        # Surveys.
        self.survey_score = Histogram(
            "ivr_survey_score",
            "Post-call survey scores (csat, nps), integers 0..10.",
            ["kind"],
            buckets=SURVEY_SCORE_BUCKETS,
            registry=r,
        )

        # Health.
        self.pbx_connected = Gauge(
            "ivr_pbx_connected",
            "1 while the daemon is connected to the PBX interface (ari, ami), else 0.",
            ["interface"],
            registry=r,
        )
        self.ami_events = Counter(
            "ivr_ami_events",
            "AMI events the daemon's session received (not answers to its actions), by event.",
            ["event"],
            registry=r,
        )
        self.plan_reloads = Counter(
            "ivr_plan_reloads", "Dial-plan reloads, by result.", ["result"], registry=r
        )

        self.role = Gauge(
            "ivr_daemon_role",
            "1 for the role this daemon has now (single, standby, active), 0 for the others.",
            ["role"],
            registry=r,
        )
        self.line_closed = Gauge(
            "ivr_line_closed",
            "1 while ops have closed the plan's line (arriving calls hear the emergency message).",
            ["plan"],
            registry=r,
        )
        # The store's writer (ivr/store/writer.py); `store` is journal, live or callbacks.
        self.store_pending = Gauge(
            "ivr_store_pending",
            "Writes waiting in memory for the store (a slow or unreachable Redis or SQLite).",
            ["store"],
            registry=r,
        )
        self.store_dropped = Counter(
            "ivr_store_dropped",
            "Writes given up: journal notes past store.buffer_notes, records a lost lease fenced.",
            ["store"],
            registry=r,
        )
        self.store_failures = Counter(
            "ivr_store_write_failures",
            "Attempts to land writes that failed (a timeout, a lock, an error); tried again.",
            ["store"],
            registry=r,
        )
        self.store_up = Gauge(
            "ivr_store_up",
            "0 while the store is slow or down (writes waiting past store.timeout_seconds).",
            registry=r,
        )
        # Fixed label sets exist from the start, so dashboards and alerts see 0, not nothing.
        for interface in PBX_INTERFACES:
            self.pbx_connected.labels(interface=interface).set(0)
        for name in AMI_EVENTS:
            self.ami_events.labels(event=name)
        for role in ROLES:
            self.role.labels(role=role).set(0)
        for result in PLAN_RELOAD_RESULTS:
            self.plan_reloads.labels(result=result)
        for outcome in CALLBACK_OUTCOMES:
            self.callbacks.labels(outcome=outcome)

    def init_queue(self, queue: str) -> None:
        """Create a queue's series at zero, so rates and ratios exist before its first call."""
        self.queue_abandoned.labels(queue=queue)
        self.queue_answered.labels(queue=queue)
        self.queue_answered_within_sla.labels(queue=queue)
        self.queue_callers.labels(queue=queue).set(0)
        self.queue_longest_wait.labels(queue=queue).set(0)

    def child(self, metric: M, *values: str) -> M:
        """`metric.labels(*values)` (values in the order of its label names), looked up once:
        .labels() checks and joins the names on each call, and the journal's notes ask for
        one on most notes. No label set is ever removed, so a child found stays valid."""
        key = (metric, values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*values)
        return found  # type: ignore[return-value]  # the child of an M is an M

    def observe_wait(self, queue: str, outcome: str, seconds: float, sla_seconds: float) -> None:
        """Record the end of one caller's wait in ``queue``, keeping the counters consistent.

        Observes ``ivr_queue_wait_seconds{queue, outcome}`` and, for ``answered``,
        increments ``ivr_queue_answered_total`` and (when ``seconds <= sla_seconds``)
        ``ivr_queue_answered_within_sla_total``; for ``abandoned``, increments
        ``ivr_queue_abandoned_total``. Other outcomes (callback, voicemail, overflowed,
        transferred, failed) only feed the histogram.

        Raises:
            ValueError: for an outcome outside ``WAIT_OUTCOMES`` or a negative or NaN wait.
        """
        if outcome not in WAIT_OUTCOMES:
            raise ValueError(f"unknown wait outcome {outcome!r}; expected one of {WAIT_OUTCOMES}")
        if not seconds >= 0:
            raise ValueError(f"wait must be a non-negative number of seconds, got {seconds!r}")
        self.child(self.queue_wait, queue, outcome).observe(seconds)
        if outcome == "answered":
            self.child(self.queue_answered, queue).inc()
            if seconds <= sla_seconds:
                self.child(self.queue_answered_within_sla, queue).inc()
        elif outcome == "abandoned":
            self.child(self.queue_abandoned, queue).inc()

    def series_names(self) -> frozenset[str]:
        """Every sample name these metrics can expose, as PromQL would select it.

        Counters give ``<name>_total``, histograms ``<name>_bucket``, ``_sum`` and
        ``_count``, gauges their plain name. Used to keep alert rules and dashboards
        from drifting away from the code.
        """
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
        names: set[str] = set()
        for family in self.registry.collect():
            for suffix in suffixes.get(family.type, ("",)):
                names.add(family.name + suffix)
        return frozenset(names)

    def render(self) -> tuple[bytes, str]:
        """The registry in Prometheus text format, with the matching Content-Type."""
        return generate_latest(self.registry), CONTENT_TYPE_PLAIN_0_0_4
