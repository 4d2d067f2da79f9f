"""Staffing counts kept as agents change, so that no figure has to walk every agent.

A `Tally` follows one requirement (a queue's own, or a caller's after an overflow step widened
it). The agents who meet it are fixed while a router lives (skills and teams come from the
roster), so each agent keeps the list of tallies it belongs to. Every change of an agent's
facts goes through the router's `_refresh`, which only notes the agent (the routing hot path
stays as it was); the next question about the counts (`_settle`) moves each agent noted
between counts once, so a question costs the changes since the last one, never a walk over
every agent.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.routing.skills import Requirement

MAX_TALLIES = 1_000
"""Requirements followed at most; past this a figure is counted afresh each time it is asked
(queues' and overflow steps' requirements are a few hundred at most, so this is a guard)."""


@dataclass(slots=True, eq=False)
class Tally:
    """The agents meeting one requirement: how many are staffed (signed in, on duty, not
    paused, reachable), the places they bring (`max_concurrent` summed), and how many of
    them may be offered a call now."""

    requirement: Requirement
    staffed: int = 0
    places: int = 0
    available: int = 0
