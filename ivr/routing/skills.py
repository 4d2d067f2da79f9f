"""Skills and requirements: what an agent can do, and what a caller needs.

A skill is a name (`returns`, `order_status`, `lang:ru`) with a level from 1 to 10.
A requirement is what one waiting caller needs: a minimum level per skill, and the teams
allowed to serve them. Overflow steps may only ever *widen* a requirement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ivr.plan.queues import MIN_LEVEL


class WidenError(ValueError):
    """A change that would narrow a requirement (make fewer agents eligible)."""


@dataclass(frozen=True, slots=True, eq=True)
class Requirement:
    """Minimum skill levels and allowed teams; an agent must meet every part.

    `skills` is kept as sorted (name, level) pairs so the value is immutable and hashable.
    Agents of `open_teams` (a partner that sorts calls itself) serve it whatever their skills.
    """

    skills: tuple[tuple[str, int], ...]
    teams: frozenset[str]
    open_teams: frozenset[str] = frozenset()

    @classmethod
    def of(cls, skills: Mapping[str, int], teams: Iterable[str]) -> Requirement:
        """A requirement from a skill -> minimum level mapping and team names."""
        return cls(tuple(sorted(skills.items())), frozenset(teams))

    @property
    def levels(self) -> dict[str, int]:
        """The skill -> minimum level mapping."""
        return dict(self.skills)

    def met_by(self, skills: Mapping[str, int], team: str) -> bool:
        """True when an agent of `team` with `skills` may serve this caller."""
        if team in self.open_teams:
            return True
        if team not in self.teams:
            return False
        for name, level in self.skills:  # noqa: SIM110 - hot path: a loop beats all(genexpr)
            if skills.get(name, 0) < level:
                return False
        return True

    def score(self, skills: Mapping[str, int]) -> int:
        """How well `skills` cover this requirement: the sum of the agent's required levels."""
        return sum(skills.get(name, 0) for name, _ in self.skills)

    def widened(
        self,
        *,
        skills: Mapping[str, int] | None = None,
        lower_levels: int = 0,
        add_teams: Iterable[str] = (),
        open_teams: Iterable[str] = (),
    ) -> Requirement:
        """A wider requirement; raises WidenError for any change that would narrow it.

        - `skills`: the new skill -> minimum level mapping; it may drop skills and lower
          levels, never add a skill or raise a level;
        - `lower_levels`: then lower every remaining minimum by this many (never below 1);
        - `add_teams`: allow these teams as well;
        - `open_teams`: allow these teams whatever their agents' skills.
        """
        current = self.levels
        levels = dict(current)
        if skills is not None:
            for name, level in skills.items():
                if name not in current:
                    raise WidenError(
                        f"skill '{name}' is not required yet, and adding it would narrow the "
                        "requirement; an overflow step may only drop skills or lower levels"
                    )
                if level > current[name]:
                    raise WidenError(
                        f"skill '{name}' would rise from level {current[name]} to {level}, "
                        "which narrows the requirement; an overflow step may only lower levels"
                    )
            levels = dict(skills)
        if lower_levels < 0:
            raise WidenError(f"lower_levels must be 0 or more, not {lower_levels}")
        levels = {name: max(MIN_LEVEL, level - lower_levels) for name, level in levels.items()}
        wider = Requirement.of(levels, self.teams | frozenset(add_teams))
        return Requirement(wider.skills, wider.teams, self.open_teams | frozenset(open_teams))
