"""One decision on a site's files: the dial plans and the agent roster, checked together, and
the routing desk they make. `ivr check`, `ivr run` and every reload ask `load_site`, so what
one accepts the others accept, and what one refuses the others refuse with the same words.

Errors in the files come back as a SiteError listing every problem (file:line:column, the
fix); files that cannot be read at all (missing, no permission) as SiteUnreadable.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ivr.plan.errors import PlanError, Problem
from ivr.plan.load import book_from
from ivr.plan.plan import Plan, PlanBook
from ivr.plan.queues import QueueSpec
from ivr.routing.coverage import unserved_queues
from ivr.routing.desk import Desk
from ivr.routing.results import RoutingError
from ivr.routing.roster import Roster, RosterError, roster_from

# (file name, its bytes)
FileData = tuple[str, bytes]


@dataclass(frozen=True)
class LoadedSite:
    """What a site's files hold once checked: plans, the roster (None without one), the
    warnings, and the routing desk built from them."""

    plans: PlanBook
    roster: Roster | None
    desk: Desk
    warnings: tuple[Problem, ...]

    @property
    def queues(self) -> list[QueueSpec]:
        """Every queue of the plans."""
        return self.plans.queue_specs()


class SiteError(Exception):
    """Plans or roster that must not go live, with every problem found (warnings included)."""

    def __init__(self, problems: Sequence[Problem], roster_files: Iterable[str] = ()) -> None:
        self.problems = list(problems)
        self.roster_files = frozenset(roster_files)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def errors(self) -> list[Problem]:
        """The problems that refuse the files (the rest are warnings)."""
        return [p for p in self.problems if not p.warning]

    def kind(self, problem: Problem) -> str:
        """ "roster" for a problem of a roster file, else "plan"."""
        return "roster" if problem.file in self.roster_files else "plan"


class SiteUnreadable(Exception):
    """A file or folder named cannot be read at all: nothing was checked."""


def load_site(plan_paths: Sequence[Path], roster_folder: Path | None) -> LoadedSite:
    """Read and check the plan files (folders stand for their *.yaml files) and the roster
    folder's files (none, or a folder that does not exist: a site without a roster)."""
    plan_files = _read(_listed(plan_paths, "plan"))
    if not plan_files:
        shown = ", ".join(map(str, plan_paths))
        raise SiteUnreadable(f"no plan files (*.yaml, *.yml) found in {shown}")
    roster_files: list[FileData] | None = None
    if roster_folder is not None and roster_folder.exists():
        roster_files = _read(_listed([roster_folder], "roster")) or None
    return check_site(plan_files, roster_files)


def check_site(
    plan_files: Sequence[FileData], roster_files: Sequence[FileData] | None
) -> LoadedSite:
    """`load_site` for files already read; SiteError with every problem found."""
    problems: list[Problem] = []
    plans: PlanBook | None = None
    try:
        plans, warnings = book_from(sorted(plan_files))
        problems.extend(warnings)
    except PlanError as exc:
        problems.extend(exc.problems)
    roster: Roster | None = None
    names = [file for file, _ in roster_files or ()]
    if roster_files:
        try:
            roster = roster_from(sorted(roster_files))
        except RosterError as exc:
            problems.extend(exc.problems)
    if plans is not None:
        problems.extend(shared_queues(plans))
        if roster is not None:
            problems.extend(queues_against_roster(plans, roster))
    if plans is None or (roster_files and roster is None) or any(not p.warning for p in problems):
        raise SiteError(problems, names)
    assert plans is not None
    try:
        desk = Desk(roster, plans.queue_specs()) if roster is not None else Desk.without_roster()
    except RoutingError as exc:
        # The checks above stand for the router's own; this is their safety net.
        raise SiteError([*problems, _routing_problem(plans, str(exc))], names) from None
    return LoadedSite(plans, roster, desk, tuple(problems))


def shared_queues(plans: PlanBook) -> list[Problem]:
    """A queue name defined by two plans: the site has one queue of each name."""
    problems: list[Problem] = []
    first: dict[str, Plan] = {}
    for plan in plans.plans:
        for name in plan.spec.queues:
            owner = first.setdefault(name, plan)
            if owner is plan:
                continue
            line, _ = _where(owner, ("queues", name))
            problems.append(
                _at(
                    plan,
                    ("queues", name),
                    f"queue '{name}' is also defined in plan '{owner.name}' "
                    f"({owner.file}, line {line}); all plans of a site share their queues",
                    "define it in one plan only (the others' queue nodes may use it), "
                    "or give it another name",
                )
            )
    return problems


def queues_against_roster(plans: PlanBook, roster: Roster) -> list[Problem]:
    """Teams the queues name that the roster does not have, and queues nobody could answer."""
    problems: list[Problem] = []
    teams = set(roster.teams)
    known = ", ".join(sorted(teams)) or "none"
    in_house = roster.in_house_teams()
    seen: set[str] = set()
    for plan in plans.plans:
        for name, spec in plan.spec.queues.items():
            if name in seen:
                continue  # a second definition: reported by shared_queues
            seen.add(name)
            at = ("queues", name)
            unknown = [
                (index, team) for index, team in enumerate(spec.teams or []) if team not in teams
            ]
            for index, team in unknown:
                problems.append(
                    _at(
                        plan,
                        (*at, "teams", index),
                        f"queue '{name}': team '{team}' is not in the roster",
                        f"use one of the roster's teams ({known}), or add it to the roster",
                    )
                )
            for index, step in enumerate(spec.overflow):
                if step.add_team is not None and step.add_team not in teams:
                    problems.append(
                        _at(
                            plan,
                            (*at, "overflow", index, "add_team"),
                            f"queue '{name}': overflow step '{step.label}' adds team "
                            f"'{step.add_team}', which is not in the roster",
                            f"use one of the roster's teams ({known}), or add it to the roster",
                        )
                    )
            if spec.teams is None and not in_house:
                problems.append(
                    _at(
                        plan,
                        at,
                        f"queue '{name}' has no teams: it lists none and the roster has no "
                        "in-house team",
                        "list the teams that answer it under teams:, or add an in-house team",
                    )
                )
                continue
            if unknown:
                continue
            for sentence in unserved_queues(roster, [spec]):
                problems.append(
                    _at(
                        plan,
                        (*at, "skills") if spec.skills else at,
                        sentence.split("; ")[0],
                        sentence.split("; ", 1)[1] if "; " in sentence else "",
                    )
                )
    return problems


def _listed(paths: Iterable[Path], what: str) -> list[Path]:
    """The files named, folders expanded to their *.yaml and *.yml files, sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            try:
                with os.scandir(path) as entries:
                    names = sorted(e.name for e in entries)
            except OSError as exc:
                raise SiteUnreadable(f"cannot read the {what} folder {path}: {_why(exc)}") from None
            files += [path / n for n in names if n.endswith((".yaml", ".yml"))]
        elif path.exists():
            files.append(path)
        else:
            raise SiteUnreadable(f"{path}: no such {what} file or folder")
    return files


def _read(files: Iterable[Path]) -> list[FileData]:
    read: list[FileData] = []
    for path in files:
        try:
            read.append((str(path), path.read_bytes()))
        except OSError as exc:
            raise SiteUnreadable(f"cannot read {path}: {_why(exc)}") from None
    return read


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _where(plan: Plan, path: tuple[str | int, ...]) -> tuple[int, int]:
    return plan.source.where(path) if plan.source is not None else (1, 1)


def _at(plan: Plan, path: tuple[str | int, ...], message: str, fix: str) -> Problem:
    line, column = _where(plan, path)
    return Problem(plan.file, line, column, message, fix)


def _routing_problem(plans: PlanBook, message: str) -> Problem:
    """The router's refusal, at the queue it names when it names one."""
    for plan in plans.plans:
        for name in plan.spec.queues:
            if f"queue '{name}'" in message:
                return _at(plan, ("queues", name), message, "")
    file = plans.plans[0].file if plans.plans else "the plans"
    return Problem(file, 1, 1, message)
