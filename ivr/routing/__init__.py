"""Queues, agents, skills, strategies, overflow steps and callbacks.

The routing core is pure: `Router` takes events with `now` from the injected clock and
answers with offers and exits; adapters (ARI, AMI, the simulator) carry them out.
"""

from ivr.routing.agents import AgentState, AgentView
from ivr.routing.queues import CallState
from ivr.routing.results import Exit, Offer, QueueStats, RingAnswer, RingFailure, RoutingError
from ivr.routing.roster import Roster, RosterError, load_roster, parse_roster
from ivr.routing.router import Router
from ivr.routing.skills import Requirement

__all__ = [
    "AgentState",
    "AgentView",
    "CallState",
    "Exit",
    "Offer",
    "QueueStats",
    "Requirement",
    "RingAnswer",
    "RingFailure",
    "Roster",
    "RosterError",
    "Router",
    "RoutingError",
    "load_roster",
    "parse_roster",
]
