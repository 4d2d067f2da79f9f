"""Turning plan files into live plans, or into the list of everything wrong with them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import TypeVar

from pydantic import ValidationError

from ivr.plan.checks.book import check_book, entries_from
from ivr.plan.checks.plan import check_plan
from ivr.plan.errors import PlanError, Problem
from ivr.plan.plan import Plan, PlanBook
from ivr.plan.schema_problems import schema_problems
from ivr.plan.source import (
    Source,
    SourceError,
    decode,
    parse,
    without_cyclic_gc,
    yaml_files,
)
from ivr.plan.spec import PlanSpec
from ivr.schedule.schedule import Schedule

T = TypeVar("T")


@dataclass(frozen=True)
class Draft:
    """A plan file that passed the schema, before the checks."""

    spec: PlanSpec
    source: Source
    text: str
    problems: list[Problem]


def load_plan(path: FilePath) -> tuple[Plan, list[Problem]]:
    """Load one plan file: the plan and its warnings, or PlanError with every error found."""
    return _finish(read_plan(path))


def parse_plan(text: str, file: str) -> tuple[Plan, list[Problem]]:
    """Parse and check a plan given as text; `file` is the name errors will carry."""
    return _finish(read_text(text, file))


def read_plan(path: FilePath) -> Draft:
    """Read one plan file through the schema; PlanError when it cannot be read or is invalid."""
    file = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PlanError([Problem(file, 1, 1, f"cannot read the file: {exc}")]) from None
    return read_bytes(data, file)


def read_bytes(data: bytes, file: str) -> Draft:
    """A plan file's bytes through the schema; PlanError when they are not a valid plan."""
    try:
        text = decode(data, file)
    except SourceError as exc:
        raise PlanError([exc.problem]) from None
    return read_text(text, file)


def read_text(text: str, file: str) -> Draft:
    """Parse `text` through the schema; PlanError when it is not a valid plan."""
    with without_cyclic_gc():  # see there: big plans would take quadratic time
        return _read_text(text, file)


def _read_text(text: str, file: str) -> Draft:
    try:
        source = parse(text, file)
    except SourceError as exc:
        raise PlanError([exc.problem]) from None
    problems = list(source.duplicates)
    if not isinstance(source.data, dict):
        problems.append(source.problem((), "a plan must be a mapping with name, numbers and nodes"))
        raise PlanError(problems)
    try:
        spec = PlanSpec.model_validate(source.data)
    except ValidationError as exc:
        problems.extend(schema_problems(exc, source))
        raise PlanError(problems) from None
    return Draft(spec, source, text, problems)


def load_book(paths: Iterable[FilePath]) -> tuple[PlanBook, list[Problem]]:
    """Load every plan; one bad file fails the whole book so nothing half-checked goes live."""
    return book_of(_read_each(read_plan, sorted(paths)))


def book_from(files: Iterable[tuple[str, bytes]]) -> tuple[PlanBook, list[Problem]]:
    """`load_book` for plan files already read: (file name, bytes) pairs."""
    return book_of(_read_each(lambda pair: read_bytes(pair[1], pair[0]), list(files)))


def book_of(read: tuple[list[Draft], list[Problem]]) -> tuple[PlanBook, list[Problem]]:
    """Plans that passed the schema, checked one by one and together; PlanError when any
    plan (or the reading before) has an error."""
    drafts, problems = read
    failed = bool(problems)
    entries = entries_from(d.spec for d in drafts)
    plans: list[Plan] = []
    for draft in drafts:
        try:
            plan, warnings = _finish(draft, entries.get(draft.spec.name, set()))
        except PlanError as exc:
            problems.extend(exc.problems)
            failed = True
            continue
        plans.append(plan)
        problems.extend(warnings)
    problems.extend(check_book(plans))
    if failed or any(not p.warning for p in problems):
        raise PlanError(problems)
    return PlanBook(tuple(plans)), problems


def _read_each(read: Callable[[T], Draft], items: list[T]) -> tuple[list[Draft], list[Problem]]:
    drafts: list[Draft] = []
    problems: list[Problem] = []
    for item in items:
        try:
            drafts.append(read(item))
        except PlanError as exc:
            problems.extend(exc.problems)
    return drafts, problems


# The plan files named, folders expanded to their *.yaml files.
plan_files = yaml_files


def _finish(draft: Draft, entries: Collection[str] = ()) -> tuple[Plan, list[Problem]]:
    with without_cyclic_gc():
        problems = draft.problems + check_plan(draft.spec, draft.source, entries)
    if any(not p.warning for p in problems):
        raise PlanError(problems)
    version = hashlib.sha256(draft.text.encode()).hexdigest()[:12]
    schedules = {
        name: Schedule.from_spec(name, spec) for name, spec in draft.spec.schedules.items()
    }
    return Plan(draft.spec, draft.source.file, version, schedules, draft.source), problems
