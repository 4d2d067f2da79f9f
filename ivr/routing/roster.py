"""The agent roster (`agents/*.yaml`): teams and the people who answer calls.

```yaml
schedules:                                      # shifts, in the plans' schedule format
  weekdays: {timezone: Europe/Moscow, weekly: {mon-fri: "09:00-18:00"}}
  weekends: {timezone: Europe/Moscow, weekly: {sat-sun: "10:00-20:00"}, holidays: off}
teams:
  shop:      {kind: in-house, shift: weekdays}  # no shift: on duty around the clock
  callpoint: {kind: outsourced}                 # partner agents on our Asterisk
  nightdesk:                                    # partner PBX behind a trunk
    kind: outsourced
    trunk: {dial: "PJSIP/200@partner", max_concurrent: 2, skills: {returns: 5}}
agents:
  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop,
     skills: {returns: 7, "lang:ru": 10}, max_concurrent: 1}
```

Several files may share the roster (teams in one, agents in others); they are checked
together. Every problem names the file, line, agent or team, and the fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ivr.plan.checks.suggest import Suggester
from ivr.plan.errors import Problem
from ivr.plan.queues import MAX_LEVEL, MIN_LEVEL, TEAM_NAME, Level, SkillName, TeamName
from ivr.plan.recording import RecordingPolicy
from ivr.plan.source import Source, SourceError, decode, parse, yaml_files
from ivr.schedule.schedule import Schedule
from ivr.schedule.spec import ScheduleSpec

AGENT_ID = r"^[a-z0-9][a-z0-9_.-]{0,39}$"
# TECH/resource: no spaces, commas or '&' (those would smuggle dial options or extra targets).
ENDPOINT = r"^[A-Z][A-Za-z0-9]{1,9}/[A-Za-z0-9_.-]+$"
DIAL = r"^[A-Z][A-Za-z0-9]{1,9}/[A-Za-z0-9_.@:+*#-]+(/[A-Za-z0-9_.@:+*#-]+)*$"
DISPLAY_NAME = r"^[^\x00-\x1f\x7f]+$"
# A disposition is a metric label: short, lower case, a bounded list.
DISPOSITION = r"^[a-z][a-z0-9-]{0,29}$"
MAX_DISPOSITIONS = 20
DEFAULT_DISPOSITIONS: tuple[str, ...] = ("resolved", "follow-up", "order-placed", "complaint")

AgentId = Annotated[str, Field(pattern=AGENT_ID)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrunkSpec(_Model):
    """A partner PBX reached over a trunk: it takes up to `max_concurrent` calls at once."""

    dial: Annotated[str, Field(pattern=DIAL, max_length=200)]
    max_concurrent: Annotated[int, Field(ge=1, le=1000, strict=True)]
    skills: dict[SkillName, Level] = Field(default_factory=dict)


class PriceSpec(_Model):
    """What a partner charges: per call answered, per started minute of talk, or both."""

    per_call: Annotated[float, Field(ge=0)] = 0.0
    per_minute: Annotated[float, Field(ge=0)] = 0.0


class TeamSpec(_Model):
    """A team: our own staff, or an outsourced partner (own agents, or a trunk)."""

    kind: Literal["in-house", "outsourced"]
    trunk: TrunkSpec | None = None
    shift: Annotated[str, Field(pattern=TEAM_NAME)] | None = Field(
        None, description="the schedule (under schedules:) when the team is on duty"
    )
    recording: RecordingPolicy | None = Field(
        None, description="overrides the queue's recording policy for this team's calls"
    )
    price: PriceSpec | None = Field(
        None, description="the partner's price, in the roster's currency (`ivr simulate`)"
    )


class AgentSpec(_Model):
    """One person who answers calls on a SIP softphone registered on our Asterisk."""

    id: AgentId
    name: Annotated[str, Field(min_length=1, max_length=80, pattern=DISPLAY_NAME)]
    endpoint: Annotated[str, Field(pattern=ENDPOINT, max_length=80)]
    team: TeamName
    skills: dict[SkillName, Level] = Field(default_factory=dict)
    max_concurrent: Annotated[int, Field(ge=1, le=10, strict=True)] = 1


class RosterFile(_Model):
    """What one roster file may hold."""

    schedules: dict[Annotated[str, Field(pattern=TEAM_NAME)], ScheduleSpec] = Field(
        default_factory=dict
    )
    teams: dict[TeamName, TeamSpec] = Field(default_factory=dict)
    agents: list[AgentSpec] = Field(default_factory=list)
    currency: Annotated[str, Field(min_length=1, max_length=8)] | None = Field(
        None, description="of the teams' prices, e.g. RUB"
    )
    dispositions: list[Annotated[str, Field(pattern=DISPOSITION)]] | None = Field(
        None,
        description="what agents may say came of a call in wrap-up (a metric label)",
        max_length=MAX_DISPOSITIONS,
    )


@dataclass(frozen=True)
class Roster:
    """The checked roster: every agent's team exists, ids and endpoints are unique."""

    teams: Mapping[str, TeamSpec]
    agents: tuple[AgentSpec, ...]
    schedules: Mapping[str, Schedule] = field(default_factory=dict)
    currency: str = ""  # of the teams' prices
    # What agents may say came of a call in wrap-up (journal, `ivr report`, a metric label).
    dispositions: tuple[str, ...] = DEFAULT_DISPOSITIONS

    def in_house_teams(self) -> tuple[str, ...]:
        """Names of the in-house teams, the default for a queue without `teams`."""
        return tuple(name for name, team in self.teams.items() if team.kind == "in-house")

    def on_duty(self, team: str, at: datetime) -> bool:
        """True when `team` is on shift at `at` (a team without a shift always is)."""
        shift = self.teams[team].shift
        return shift is None or self.schedules[shift].is_open(at)

    def next_shift_change(self, at: datetime) -> datetime | None:
        """The next moment any team goes on or off duty, if one comes within the search window."""
        changes = []
        for team in self.teams.values():
            if team.shift is None:
                continue
            schedule = self.schedules[team.shift]
            is_open = schedule.is_open(at)
            change = schedule.next_closing(at) if is_open else schedule.next_opening(at)
            if change is not None:
                changes.append(change)
        return min(changes, default=None)


class RosterError(Exception):
    """A roster that must not go live, with every problem found in it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def load_roster(paths: Iterable[FilePath]) -> Roster:
    """Load and check roster files (folders stand for their *.yaml files) as one roster."""
    files: list[tuple[str, bytes]] = []
    problems: list[Problem] = []
    for path in yaml_files(paths):
        try:
            files.append((str(path), path.read_bytes()))
        except OSError as exc:
            problems.append(Problem(str(path), 1, 1, f"cannot read the file: {exc}"))
    if problems:
        raise RosterError(problems)
    return roster_from(files)


def roster_from(files: Iterable[tuple[str, bytes]]) -> Roster:
    """`load_roster` for roster files already read: (file name, bytes) pairs."""
    texts: list[tuple[str, str]] = []
    problems: list[Problem] = []
    for file, data in files:
        try:
            texts.append((decode(data, file), file))
        except SourceError as exc:
            problems.append(exc.problem)
    if problems:
        raise RosterError(problems)
    return parse_roster(*texts)


def parse_roster(*texts: tuple[str, str]) -> Roster:
    """Check roster files given as (text, file name) pairs; RosterError lists every problem."""
    problems: list[Problem] = []
    parsed: list[tuple[RosterFile, Source]] = []
    for text, file in texts:
        try:
            source = parse(text, file)
        except SourceError as exc:
            problems.append(exc.problem)
            continue
        problems.extend(source.duplicates)
        if source.data is None:
            continue
        if not isinstance(source.data, dict):
            problems.append(
                source.problem(
                    (), "a roster file must be a mapping", "start it with teams: or agents:"
                )
            )
            continue
        try:
            parsed.append((RosterFile.model_validate(source.data), source))
        except ValidationError as exc:
            problems.extend(_schema_problems(exc, source))
    if not problems:
        problems.extend(_cross_check(parsed))
    if problems:
        raise RosterError(problems)
    teams: dict[str, TeamSpec] = {}
    agents: list[AgentSpec] = []
    schedules: dict[str, Schedule] = {}
    currency = ""
    dispositions = DEFAULT_DISPOSITIONS
    for roster, _ in parsed:
        currency = roster.currency or currency
        if roster.dispositions is not None:
            dispositions = tuple(dict.fromkeys(roster.dispositions))
        teams.update(roster.teams)
        agents.extend(roster.agents)
        for name, spec in roster.schedules.items():
            schedules[name] = Schedule.from_spec(name, spec)
    return Roster(teams, tuple(agents), schedules, currency, dispositions)


def _cross_check(parsed: list[tuple[RosterFile, Source]]) -> list[Problem]:
    problems: list[Problem] = []
    teams: dict[str, tuple[TeamSpec, Source]] = {}
    schedules = {name for roster, _ in parsed for name in roster.schedules}
    for roster, source in parsed:
        for name, team in roster.teams.items():
            if team.shift is not None and team.shift not in schedules:
                known = ", ".join(sorted(schedules)) or "none yet"
                problems.append(
                    source.problem(
                        ("teams", name, "shift"),
                        f"team '{name}': shift '{team.shift}' is not a schedule of the roster",
                        f"define it under schedules: (known: {known})",
                    )
                )
            if name in teams:
                other = teams[name][1]
                problems.append(
                    source.problem(
                        ("teams", name),
                        f"team '{name}' is already defined in {other.file} "
                        f"(line {other.where(('teams', name))[0]})",
                        "define each team once",
                    )
                )
                continue
            teams[name] = (team, source)
            if team.trunk is not None and team.kind != "outsourced":
                problems.append(
                    source.problem(
                        ("teams", name, "trunk"),
                        f"team '{name}': only an outsourced team can have a trunk",
                        "set kind: outsourced, or remove the trunk",
                    )
                )
    ids: dict[str, tuple[Source, int]] = {}
    endpoints: dict[str, str] = {}
    team_names = Suggester(teams, "known")
    for roster, source in parsed:
        for index, agent in enumerate(roster.agents):
            where = ("agents", index)
            if agent.id in ids:
                first, first_index = ids[agent.id]
                line = first.where(("agents", first_index))[0]
                also = f"line {line}" if first is source else f"{first.file}, line {line}"
                problems.append(
                    source.problem(
                        (*where, "id"),
                        f"agent '{agent.id}' is defined twice (also at {also})",
                        "give each agent their own id",
                    )
                )
                continue
            ids[agent.id] = (source, index)
            if agent.endpoint in endpoints:
                problems.append(
                    source.problem(
                        (*where, "endpoint"),
                        f"agent '{agent.id}': endpoint {agent.endpoint} is already used by "
                        f"agent '{endpoints[agent.endpoint]}'",
                        "give each agent their own SIP endpoint",
                    )
                )
            else:
                endpoints[agent.endpoint] = agent.id
            found = teams.get(agent.team)
            if found is None:
                known = team_names.listing().removeprefix("known: ") if teams else "none yet"
                close = team_names.close(agent.team)
                hint = f"did you mean '{close}'? " if close else ""
                problems.append(
                    source.problem(
                        (*where, "team"),
                        f"agent '{agent.id}': team '{agent.team}' is not defined",
                        f"{hint}define it under teams:, or use one of: {known}",
                    )
                )
            elif found[0].trunk is not None:
                problems.append(
                    source.problem(
                        (*where, "team"),
                        f"agent '{agent.id}': team '{agent.team}' is a trunk to a partner PBX "
                        "and cannot have agents",
                        "move the agent to another team, or make a separate outsourced team "
                        "without a trunk for the partner's agents",
                    )
                )
    return problems


# --- schema errors, in words ops staff can act on -------------------------------------------

_FIELD_FIXES = {
    "id": (
        "is not a valid agent id",
        "use lower-case letters, digits, '.', '-' and '_', e.g. agent1",
    ),
    "team": ("is not a valid team name", "use lower-case letters, digits, '-' and '_'"),
    "endpoint": ("is not a SIP endpoint", "write it as TECH/NAME, e.g. PJSIP/agent1"),
    "dial": (
        "is not a dial string",
        "write it as TECH/RESOURCE without spaces or commas, e.g. PJSIP/200@partner",
    ),
    "name": ("is not a usable display name", "use 1 to 80 printable characters"),
}


_EXAMPLES = {
    "id": "agent1",
    "name": "Anna Petrova",
    "endpoint": "PJSIP/agent1",
    "team": "shop",
    "kind": "in-house",
    "dial": "PJSIP/200@partner",
    "max_concurrent": "2",
}


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """The fields allowed where `loc` points (its last part is the unknown field)."""
    parts = [p for p in loc[:-1] if isinstance(p, str)]
    model: type[BaseModel] = RosterFile
    if parts[:1] == ["agents"]:
        model = AgentSpec
    elif parts[:1] == ["teams"]:
        model = TrunkSpec if "trunk" in parts else PriceSpec if "price" in parts else TeamSpec
    return list(model.model_fields)


def _schema_problems(exc: ValidationError, source: Source) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        who = _who(loc, source.data)
        message, fix = _explain(loc, error)
        file_loc = tuple(p for p in loc if p != "[key]")
        problems.append(source.problem(file_loc, f"{who}: {message}", fix))
    return problems


def _who(loc: tuple[Any, ...], data: Any) -> str:
    if len(loc) >= 2 and loc[0] == "agents" and isinstance(loc[1], int):
        item = data.get("agents", [])[loc[1]] if isinstance(data, dict) else None
        if isinstance(item, dict) and isinstance(item.get("id"), str | int):
            return f"agent '{item['id']}'"
        return f"agents[{loc[1]}] (no id)"
    if len(loc) >= 2 and loc[0] == "teams":
        return f"team '{loc[1]}'"
    return "the roster"


def _explain(loc: tuple[Any, ...], error: Any) -> tuple[str, str]:
    kind = error["type"]
    value = error.get("input")
    field = next((p for p in reversed(loc) if isinstance(p, str) and p != "[key]"), "")
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(field, _fields_at(loc), n=1)
        fix = f"did you mean '{close[0]}'?" if close else "remove it or check its spelling"
        return f"unknown field '{field}'", fix
    if kind == "missing":
        example = _EXAMPLES.get(field)
        return f"'{field}' is missing", f"add it, e.g. {field}: {example}" if example else "add it"
    if len(loc) >= 3 and loc[-1] == "[key]" and loc[-3] == "skills":
        return (
            f"skill name '{value}' is not valid",
            "use lower-case words, with an optional ':' qualifier, e.g. returns or lang:ru",
        )
    if len(loc) >= 3 and loc[-2] == "skills":
        return (
            f"skill '{loc[-1]}' has level {value!r}",
            f"use a whole number from {MIN_LEVEL} to {MAX_LEVEL}",
        )
    if loc[-1] == "[key]" and loc[0] == "teams":
        return f"team name '{value}' is not valid", _FIELD_FIXES["team"][1]
    if field == "kind":
        return f"kind '{value}' is not known", "use kind: in-house or kind: outsourced"
    if field == "max_concurrent":
        upper = 1000 if "trunk" in loc else 10
        return (
            f"max_concurrent {value!r} is not allowed",
            f"use a whole number from 1 to {upper}",
        )
    if kind in ("string_pattern_mismatch", "string_too_short", "string_too_long"):
        problem, fix = _FIELD_FIXES.get(field, ("is not valid", ""))
        return f"{field} '{value}' {problem}", fix
    if kind in ("dict_type", "list_type", "model_type"):
        shape = {"dict_type": "a mapping", "list_type": "a list", "model_type": "a mapping"}[kind]
        return f"'{field}' must be {shape}", "check the indentation and the '-' before list items"
    return f"{field}: {str(error['msg']).removeprefix('Value error, ')}", ""
