"""What the router answers with: offers to ring, exits to take, answers, and snapshots."""

from __future__ import annotations

from typing import Literal

from ivr.message import message

ExitReason = Literal["max-wait", "full"]
RingFailure = Literal["no-answer", "busy", "rejected", "unreachable"]


class RoutingError(Exception):
    """A request the router cannot make sense of: an unknown agent, queue or team, a call id
    already held, or a widen that would narrow. It points at a bug or a stale configuration,
    never at a race between PBX events (those are ignored and reported with a False flag)."""


@message
class Offer:
    """Ring `agent_ids` (dial `endpoints`, same order) for `call_id` now, for `ring_timeout` s.

    One agent, except for ring-all queues. Report each leg back with ring_answered or
    ring_failed (Asterisk's dial timeout should be `ring_timeout`).
    """

    call_id: str
    queue: str
    agent_ids: tuple[str, ...]
    endpoints: tuple[str, ...]
    ring_timeout: float


@message
class Exit:
    """The caller leaves the queue for plan node `node`: waited `max-wait`, or queue `full`."""

    call_id: str
    queue: str
    reason: ExitReason
    node: str


@message
class RingAnswer:
    """The result of ring_answered: `accepted` False means the answer came too late (the
    caller left, or another agent took the call): hang that agent's leg up. `stop_ringing`
    lists the other agents still ringing for this call (ring-all): stop them."""

    accepted: bool
    stop_ringing: tuple[str, ...] = ()


@message
class QueueStats:
    """One queue at a glance, for the API and metrics."""

    queue: str
    waiting: int  # callers waiting for an offer
    ringing: int  # callers whose offer is ringing
    talking: int  # callers with an agent
    longest_wait: float  # seconds the longest-held unanswered caller has waited (0 if none)
    agents_staffed: int  # signed in, not paused, meet the queue's own requirement
    agents_available: int  # of those, offerable now
    answered: int
    answered_in_sla: int  # answered within sla_seconds of joining
    abandoned: int
    exited: int
    handle_time: float | None  # mean of recent handle times (talk + wrap-up), if any
