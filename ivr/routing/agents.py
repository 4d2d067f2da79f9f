"""An agent at run time: presence, calls in hand, wrap-up, misses; and the state they show.

The record holds facts; the router changes them. `state` is derived from the facts, in this
order: on_call > ringing > wrap_up > paused > signed_out > off_duty > available. So an agent
who signs out or is paused during a call shows on_call until the call and its wrap-up end,
and an agent with two lines shows on_call while any call is up, even while a second rings.
A partner trunk is an agent too (id `trunk:TEAM`): always signed in at start, no wrap-up,
and it may ring several calls at once, up to its `max_concurrent`.

An agent with `max_concurrent` above 1 (two lines, as app_queue's `ringinuse=yes`) holds a
set of calls: rings and talks are kept per call, never as one value, so the end of one call
touches only that call. Wrap-up is per call, as app_queue's `wrapuptime`: each call that
ends gives the queue's wrap-up from its end, and the agent is offered nothing until the
latest of them is over (`wrap_until`), even with another line free; the agent is writing
notes for the call that ended. A person rings for one call at a time, and rings plus talks
never exceed `max_concurrent`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from ivr.routing.tallies import Tally


class AgentState(StrEnum):
    SIGNED_OUT = "signed_out"
    OFF_DUTY = "off_duty"
    AVAILABLE = "available"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


TRUNK_PREFIX = "trunk:"


@dataclass(slots=True, eq=False)
class AgentRecord:
    """One agent's facts. `ordinal` is the roster position (ties and round-robin use it)."""

    id: str
    name: str
    endpoint: str
    team: str
    skills: Mapping[str, int]
    max_concurrent: int
    ordinal: int
    is_trunk: bool = False
    signed_in: bool = False
    pause_reason: str | None = None
    reachable: bool = True
    busy: bool = False
    on_duty: bool = True  # the team's shift is on
    ringing: set[str] = field(default_factory=set)
    talking: set[str] = field(default_factory=set)
    wrap_until: float | None = None
    idle_since: float = 0.0  # when the last call ended (or sign-in): longest-idle's measure
    misses: int = 0  # offers in a row that were not answered
    # What the router's counts hold for this agent (kept by RouterState._settle): the
    # tallies of the requirements the agent meets, whether it is counted as staffed and as
    # offerable in them, and the state it is counted under.
    tallies: list[Tally] = field(default_factory=list)
    counted_staffed: bool = False
    counted_offerable: bool = False
    shown: AgentState | None = None
    # Since when the agent shows `since_state` (kept by RouterState._refresh; None: not known
    # yet, before the desk's first moment), for the wallboard's time in state.
    since_state: AgentState | None = None
    state_since: float | None = None

    @property
    def device_ok(self) -> bool:
        """Reachable, and not busy with a call the router did not give them.

        AMI shows our own calls as busy too, so `busy` only counts while the router knows of
        no call in the agent's hands.
        """
        return self.reachable and (not self.busy or bool(self.ringing or self.talking))

    @property
    def staffed(self) -> bool:
        """At work for the queues they meet (signed in, on duty, not paused, reachable), even
        while ringing, talking or in wrap-up: what staffing counts and estimated waits use."""
        return self.signed_in and self.on_duty and self.pause_reason is None and self.reachable

    @property
    def offerable(self) -> bool:
        """May be offered a call now."""
        return (
            self.signed_in
            and self.on_duty
            and self.pause_reason is None
            and self.wrap_until is None
            and self.device_ok
            and (self.is_trunk or not self.ringing)
            and len(self.ringing) + len(self.talking) < self.max_concurrent
        )

    @property
    def state(self) -> AgentState:
        if self.talking:
            return AgentState.ON_CALL
        if self.ringing:
            return AgentState.RINGING
        if self.wrap_until is not None:
            return AgentState.WRAP_UP
        if self.pause_reason is not None:
            return AgentState.PAUSED
        if not self.signed_in:
            return AgentState.SIGNED_OUT
        if not self.on_duty:
            return AgentState.OFF_DUTY
        return AgentState.AVAILABLE

    def view(self) -> AgentView:
        return AgentView(
            id=self.id,
            name=self.name,
            team=self.team,
            endpoint=self.endpoint,
            state=self.state,
            pause_reason=self.pause_reason,
            device_ok=self.device_ok,
            reachable=self.reachable,
            calls=tuple(sorted(self.ringing | self.talking)),
            misses=self.misses,
            wrap_until=self.wrap_until,
            signed_in=self.signed_in,
            state_since=self.state_since,
        )


@dataclass(frozen=True, slots=True)
class AgentView:
    """A snapshot of one agent for the API, metrics and adapters."""

    id: str
    name: str
    team: str
    endpoint: str
    state: AgentState
    pause_reason: str | None
    device_ok: bool
    calls: tuple[str, ...]
    misses: int
    wrap_until: float | None
    signed_in: bool = False
    reachable: bool = True  # the softphone is registered (AMI), whatever the state says
    state_since: float | None = None  # when `state` began (the daemon's start at the latest)
