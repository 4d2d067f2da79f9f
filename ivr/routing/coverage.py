"""Queues nobody can serve: the roster checked against the plans' queues, for `ivr check`."""

from __future__ import annotations

from collections.abc import Iterable

from ivr.plan.queues import QueueSpec
from ivr.routing.roster import Roster
from ivr.routing.skills import Requirement


def unserved_queues(roster: Roster, queues: Iterable[QueueSpec]) -> list[str]:
    """A sentence for each queue no agent (nor partner trunk) of the roster could ever answer."""
    problems = []
    in_house = roster.in_house_teams()
    for queue in queues:
        teams = queue.teams if queue.teams is not None else in_house
        unknown = [t for t in teams if t not in roster.teams]
        if unknown:
            problems.append(
                f"queue '{queue.name}' names team(s) {', '.join(unknown)} that the roster does "
                f"not have; known teams: {', '.join(sorted(roster.teams))}"
            )
            continue
        need = Requirement.of(queue.skills, teams)
        agents = any(need.met_by(a.skills, a.team) for a in roster.agents)
        trunks = any(
            t.trunk is not None and need.met_by(t.trunk.skills, name)
            for name, t in roster.teams.items()
        )
        if not agents and not trunks:
            wanted = ", ".join(f"{s}>={lvl}" for s, lvl in sorted(queue.skills.items()))
            problems.append(
                f"queue '{queue.name}' can never be answered: no agent of team(s) "
                f"{', '.join(teams)} has {wanted or 'any skill'}; give an agent these skills "
                "or lower the levels"
            )
    return problems
