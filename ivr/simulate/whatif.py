"""What-if questions as small changes to a simulation's inputs, never to the code: more or
fewer calls, agents added to a team, a team taken away, overflow steps that fire sooner,
other shift hours, another plan or roster folder. The changed files go through the same
check as `ivr check` and `ivr run` (ivr/site_load.py: check_site)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ivr.plan.source import SourceError, decode, parse, yaml_files
from ivr.simulate.traffic import Traffic
from ivr.site_load import LoadedSite, check_site

NEVER = "simulate-never"  # the shift of a team taken away: never on duty
FileData = tuple[str, bytes]


# Copies of a team's agents one what-if may add: a typo of +20000000 made the run build the
# roster for minutes instead of refusing it.
MORE_AGENTS = 5_000


class WhatIfError(Exception):
    """A what-if that cannot be applied; the message says why and what to write instead."""


@dataclass(frozen=True)
class WhatIf:
    """One variant's changes; the empty WhatIf is the site as its files say."""

    name: str = "as is"
    arrivals: float = 1.0
    arrivals_at: tuple[tuple[frozenset[int], float], ...] = ()  # hours -> factor
    agents: tuple[tuple[str, int], ...] = ()  # team -> agents added (or removed)
    without: tuple[str, ...] = ()  # teams never on duty
    overflow_after: tuple[tuple[str, float], ...] = ()  # queue ("" every queue) -> seconds
    hours: tuple[tuple[str, str], ...] = ()  # schedule -> new weekly hours
    plans: Path | None = None
    roster: Path | None = None

    def traffic(self, traffic: Traffic) -> Traffic:
        """The traffic with this variant's arrivals."""
        if self.arrivals != 1.0:
            traffic = traffic.scaled(self.arrivals)
        for hours, factor in self.arrivals_at:
            traffic = traffic.scaled(factor, hours)
        return traffic

    def site(self, plans: Path, roster: Path | None) -> LoadedSite:
        """The site's files with this variant's changes, checked as `ivr check` checks them."""
        plan_files = _read(yaml_files([self.plans or plans]))
        roster_folder = self.roster or roster
        roster_files = (
            _read(yaml_files([roster_folder]))
            if roster_folder is not None and roster_folder.exists()
            else []
        )
        if self.hours:
            # A misspelt name would change nothing and the run would look like the what-if.
            known = _names(plan_files, "schedules") | _names(roster_files, "schedules")
            for name, _ in self.hours:
                if name not in known:
                    listed = ", ".join(sorted(known)) or "none"
                    raise WhatIfError(f"--hours {name}=...: no schedule '{name}' in the plans "
                                      f"or the roster (schedules: {listed})")  # fmt: skip
        queues = _names(plan_files, "queues")
        for target, _ in self.overflow_after:
            if target and target not in queues:
                listed = ", ".join(sorted(queues)) or "none"
                raise WhatIfError(f"--overflow-after {target}=...: no queue '{target}' in the "
                                  f"plans (queues: {listed})")  # fmt: skip
        if self.overflow_after or self.hours:
            plan_files = [self._plan(file) for file in plan_files]
        if self.agents or self.without or self.hours:
            roster_files = self._roster(roster_files)
        return check_site(plan_files, roster_files or None)

    def _plan(self, file: FileData) -> FileData:
        data = _data(file)
        if not isinstance(data, dict):
            return file
        for name, queue in (data.get("queues") or {}).items():
            for step in (queue or {}).get("overflow") or []:
                for target, seconds in self.overflow_after:
                    if target in ("", name) and "waited" in step:
                        step["waited"] = seconds
        _change_hours(data, self.hours)
        return file[0], yaml.safe_dump(data, allow_unicode=True).encode()

    def _roster(self, files: list[FileData]) -> list[FileData]:
        datas = [_data(file) for file in files]
        datas = [d if isinstance(d, dict) else {} for d in datas]
        teams = {name: d for d in datas for name in (d.get("teams") or {})}
        for team in (*self.without, *(t for t, _ in self.agents)):
            if team not in teams:
                known = ", ".join(sorted(teams)) or "none"
                raise WhatIfError(f"no team '{team}' in the roster (teams: {known})")
        for team in self.without:
            holder = teams[team]
            holder["teams"][team]["shift"] = NEVER
            holder.setdefault("schedules", {})[NEVER] = {
                "timezone": "UTC", "weekly": {}, "holidays": None,
            }  # fmt: skip
        for team, change in self.agents:
            _change_agents(datas, teams[team], team, change)
        for data in datas:
            _change_hours(data, self.hours)
        return [(file, yaml.safe_dump(d, allow_unicode=True).encode())
                for (file, _), d in zip(files, datas, strict=True)]  # fmt: skip


def _change_agents(datas: list[dict[str, Any]], holder: dict[str, Any], team: str, n: int) -> None:
    """Add copies of the team's most common skill set (or remove its last agents); a partner
    trunk gets `n` more (or fewer) lines instead."""
    trunk = holder["teams"][team].get("trunk")
    if trunk:
        trunk["max_concurrent"] = max(1, int(trunk["max_concurrent"]) + n)
        return
    members = [(d, a) for d in datas for a in d.get("agents") or [] if a.get("team") == team]
    if n < 0:
        for data, agent in members[n:]:
            data["agents"].remove(agent)
        return
    if not members:
        raise WhatIfError(f"team '{team}' has no agents to copy; add one to the roster first")
    if n > MORE_AGENTS:
        raise WhatIfError(f"--agents {team}=+{n}: at most +{MORE_AGENTS:,} agents a team")
    sets = Counter(tuple(sorted((a.get("skills") or {}).items())) for _, a in members)
    common = sets.most_common(1)[0][0]
    data, model = next(
        (d, a) for d, a in members if tuple(sorted((a.get("skills") or {}).items())) == common
    )
    for index in range(1, n + 1):
        name = f"{team}-extra{index}"
        data["agents"].append(
            {**model, "id": name, "name": f"Extra {team} {index}", "endpoint": f"PJSIP/{name}"}
        )


def _names(files: list[FileData], section: str) -> set[str]:
    """The names the files define in `section` (a plan's or roster's `schedules:`, a plan's
    `queues:`)."""
    names: set[str] = set()
    for file in files:
        data = _data(file)
        if isinstance(data, dict) and isinstance(data.get(section), dict):
            names.update(str(name) for name in data[section])
    return names


def _change_hours(data: dict[str, Any], hours: Sequence[tuple[str, str]]) -> None:
    schedules = data.get("schedules") or {}
    for name, text in hours:
        if name in schedules:
            schedules[name]["weekly"] = weekly(text)


def weekly(text: str) -> dict[str, str]:
    """`mon-fri 09:00-21:00; sat 10:00-18:00` as a schedule's weekly: mapping (`never`: none)."""
    out: dict[str, str] = {}
    if text.strip() == "never":
        return out
    for part in text.split(";"):
        days, _, spans = part.strip().partition(" ")
        if not days or not spans.strip():
            raise WhatIfError(
                f"cannot read the hours {text!r}; write e.g. 'mon-fri 09:00-21:00; sat 10:00-18:00'"
            )
        out[days] = spans.strip()
    return out


def _data(file: FileData) -> Any:
    try:
        return parse(decode(file[1], file[0]), file[0]).data
    except SourceError as exc:
        raise WhatIfError(str(exc.problem)) from None


def _read(paths: Sequence[Path]) -> list[FileData]:
    try:
        return [(str(p), p.read_bytes()) for p in paths]
    except OSError as exc:
        raise WhatIfError(f"cannot read {exc.filename}: {exc.strerror}") from None
