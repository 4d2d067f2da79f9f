"""Turning plan files into live plans, or into the list of everything wrong with them."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from ivr.plan.check import check_book, check_plan, entries_from
from ivr.plan.errors import PlanError, Problem
from ivr.plan.model import (
    DIALLED_NUMBER,
    EXTENSION,
    FIELD_PATH,
    LANGUAGE,
    MAILBOX,
    NODE_NAME,
    PARAM_NAME,
    TARGET,
    VAR_NAME,
    Case,
    Node,
    PlanSpec,
    Route,
)
from ivr.plan.plan import Plan, PlanBook
from ivr.plan.source import Source, SourceError, parse, yaml_files
from ivr.schedule import HolidaySpec, Schedule, ScheduleSpec


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
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError([Problem(file, 1, 1, f"cannot read the file: {exc}")]) from None
    return read_text(text, file)


def read_text(text: str, file: str) -> Draft:
    """Parse `text` through the schema; PlanError when it is not a valid plan."""
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
        problems.extend(_schema_problems(exc, source))
        raise PlanError(problems) from None
    return Draft(spec, source, text, problems)


def load_book(paths: Iterable[FilePath]) -> tuple[PlanBook, list[Problem]]:
    """Load every plan; one bad file fails the whole book so nothing half-checked goes live."""
    drafts: list[Draft] = []
    problems: list[Problem] = []
    failed = False
    for path in sorted(paths):
        try:
            drafts.append(read_plan(path))
        except PlanError as exc:
            problems.extend(exc.problems)
            failed = True
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


# The plan files named, folders expanded to their *.yaml files.
plan_files = yaml_files


def _finish(draft: Draft, entries: Collection[str] = ()) -> tuple[Plan, list[Problem]]:
    problems = draft.problems + check_plan(draft.spec, draft.source, entries)
    if any(not p.warning for p in problems):
        raise PlanError(problems)
    version = hashlib.sha256(draft.text.encode()).hexdigest()[:12]
    schedules = {
        name: Schedule.from_spec(name, spec) for name, spec in draft.spec.schedules.items()
    }
    return Plan(draft.spec, draft.source.file, version, schedules, draft.source), problems


def _schema_problems(exc: ValidationError, source: Source) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        # Discriminated unions add the tag ('menu') to pydantic's location; the file has no
        # such key, so only parts that move the position are shown (and a missing key).
        shown = [
            str(part)
            for i, part in enumerate(loc)
            if i == 0 or source.where(loc[: i + 1]) != source.where(loc[:i])
        ]
        if error["type"] == "missing" and loc and shown[-1:] != [str(loc[-1])]:
            shown.append(str(loc[-1]))
        where = ".".join(shown) or "the plan"
        problems.append(source.problem(loc, _message(where, error), _fix(error)))
    return problems


def _message(where: str, error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{where}: unknown field"
    if kind == "missing":
        return f"{where}: required but missing"
    if kind == "union_tag_invalid":
        return f"{where}: unknown node type '{error['input'].get('type')}'"
    if kind == "union_tag_not_found":
        return f"{where}: the node has no 'type'"
    if kind == "too_short":
        return f"{where}: is empty"
    if kind == "string_pattern_mismatch" and error["ctx"]["pattern"] in PATTERNS:
        text = str(error["input"])
        shown = text if len(text) <= 60 else text[:57] + "..."
        return f"{where}: '{shown}' {PATTERNS[error['ctx']['pattern']][0]}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}"


def _fix(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(error["loc"][-1]), FIELD_NAMES, n=1, cutoff=0.75)
        return f"did you mean '{close[0]}'?" if close else "remove it or check its spelling"
    if kind == "missing":
        return "add it"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return "set type to one of: " + ", ".join(NODE_TYPES)
    if kind == "too_short":
        count = error["ctx"].get("min_length", 1)
        return f"give at least {count} {'entry' if count == 1 else 'entries'}"
    if kind == "string_pattern_mismatch":
        known = PATTERNS.get(error["ctx"]["pattern"])
        return known[1] if known else "check the characters it is made of"
    return ""


# What each name pattern of the model stands for, and how to write one.
PATTERNS = {
    NODE_NAME.pattern: (
        "is not a name",
        "use lower-case letters, digits, '-' and '_', starting with a letter",
    ),
    DIALLED_NUMBER.pattern: (
        "is not a phone number",
        "write digits only, with an optional leading '+', in quotes",
    ),
    VAR_NAME.pattern: (
        "is not a variable name",
        "use up to 32 lower-case letters, digits and '_', starting with a letter",
    ),
    LANGUAGE.pattern: ("is not a language code", "write a two-letter code such as en or ru"),
    TARGET.pattern: (
        "is not a node",
        "write a node's name, or plan:node for a node of another plan",
    ),
    EXTENSION.pattern: (
        "is not an extension",
        "write the PJSIP endpoint's name: letters, digits, '-' and '_'",
    ),
    MAILBOX.pattern: ("is not a mailbox", "write box or box@context"),
    FIELD_PATH.pattern: (
        "is not a field of the answer",
        "write a field's name, dotted for nested objects: order.status",
    ),
    PARAM_NAME.pattern: ("is not a parameter name", "use letters, digits, '.', '-' and '_'"),
}


def _field_names() -> list[str]:
    models: list[type[BaseModel]] = [PlanSpec, Case, Route, ScheduleSpec, HolidaySpec]
    for node in get_args(get_args(Node)[0]):
        models.append(node)
    return sorted({f.alias or name for m in models for name, f in m.model_fields.items()})


FIELD_NAMES = _field_names()
NODE_TYPES = [
    f"'{get_args(node.model_fields['type'].annotation)[0]}'" for node in get_args(get_args(Node)[0])
]
