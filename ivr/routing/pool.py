"""The offerable agents, indexed by skill and by team, so matching a caller never scans everyone."""

from __future__ import annotations

from collections.abc import Collection

from ivr.routing.agents import AgentRecord
from ivr.routing.skills import Requirement

_EMPTY: frozenset[str] = frozenset()


class AgentPool:
    """Agents that may be offered a call now (the router keeps it in step with `offerable`)."""

    def __init__(self) -> None:
        self._members: set[str] = set()
        self._by_skill: dict[str, set[str]] = {}
        self._by_team: dict[str, set[str]] = {}

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._members

    def __len__(self) -> int:
        return len(self._members)

    def add(self, agent: AgentRecord) -> None:
        self._members.add(agent.id)
        for skill in agent.skills:
            self._by_skill.setdefault(skill, set()).add(agent.id)
        self._by_team.setdefault(agent.team, set()).add(agent.id)

    def remove(self, agent: AgentRecord) -> None:
        self._members.discard(agent.id)
        for skill in agent.skills:
            self._by_skill[skill].discard(agent.id)
        self._by_team[agent.team].discard(agent.id)

    def candidates(self, requirement: Requirement) -> Collection[str]:
        """A small superset of the offerable agents meeting `requirement` (check each one).

        With skills: the members of the required skill that has the fewest offerable agents.
        Without: the members of the allowed teams. Members of open teams always.
        """
        if requirement.open_teams:
            found: set[str] = set()
            for team in requirement.teams | requirement.open_teams:
                found |= self._by_team.get(team, _EMPTY)
            return found
        if requirement.skills:
            smallest: Collection[str] | None = None
            for skill, _ in requirement.skills:
                members = self._by_skill.get(skill, _EMPTY)
                if smallest is None or len(members) < len(smallest):
                    smallest = members
                    if not members:
                        break
            return smallest if smallest is not None else _EMPTY
        found = set()
        for team in requirement.teams:
            found |= self._by_team.get(team, _EMPTY)
        return found
