"""Strategies: which of the eligible, offerable agents a caller's offer rings.

Every strategy is deterministic: ties end on the roster order (`ordinal`).
- longest-idle: the agent whose last call ended longest ago (or who signed in longest ago);
- most-skilled: the highest sum of the agent's levels in the required skills, then idle time;
- round-robin: the next agent in roster order after the one this queue offered last;
- ring-all: every eligible agent at once; the first to answer takes the call.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

from ivr.plan.queues import Strategy
from ivr.routing.agents import AgentRecord
from ivr.routing.skills import Requirement


def choose(
    strategy: Strategy,
    eligible: Sequence[AgentRecord],
    requirement: Requirement,
    rr_last: int,
    roster_size: int,
) -> list[AgentRecord]:
    """The agents to ring for one caller (empty when `eligible` is empty)."""
    if not eligible:
        return []
    if strategy == "ring-all":
        return sorted(eligible, key=lambda a: a.ordinal)
    if strategy == "most-skilled":
        return [
            min(
                eligible,
                key=lambda a: (-requirement.score(a.skills), a.idle_since, a.ordinal),
            )
        ]
    if strategy == "round-robin":
        size = max(roster_size, 1)
        return [min(eligible, key=lambda a: (a.ordinal - rr_last - 1) % size)]
    return [min(eligible, key=_idle_order)]


# longest-idle's key, (idle_since, ordinal), made in C: it runs for every agent of every offer.
_idle_order = attrgetter("idle_since", "ordinal")
