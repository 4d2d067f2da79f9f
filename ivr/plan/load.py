"""Turning plan files into live plans, or into the list of everything wrong with them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path as FilePath
from typing import Any

from pydantic import ValidationError

from ivr.plan.check import check_plan
from ivr.plan.errors import PlanError, Problem
from ivr.plan.model import PlanSpec
from ivr.plan.plan import Plan, PlanBook
from ivr.plan.source import Source, SourceError, parse


def load_plan(path: FilePath) -> tuple[Plan, list[Problem]]:
    """Load one plan file: the plan and its warnings, or PlanError with every error found."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError([Problem(file, 1, 1, f"cannot read the file: {exc}")]) from None
    return parse_plan(text, file)


def parse_plan(text: str, file: str) -> tuple[Plan, list[Problem]]:
    """Parse and check a plan given as text; `file` is the name errors will carry."""
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
    problems.extend(check_plan(spec, source))
    errors = [p for p in problems if not p.warning]
    if errors:
        raise PlanError(problems)
    version = hashlib.sha256(text.encode()).hexdigest()[:12]
    return Plan(spec, file, version), problems


def load_book(paths: Iterable[FilePath]) -> tuple[PlanBook, list[Problem]]:
    """Load every plan; one bad file fails the whole book so nothing half-checked goes live."""
    plans: list[Plan] = []
    problems: list[Problem] = []
    failed = False
    for path in sorted(paths):
        try:
            plan, warnings = load_plan(path)
        except PlanError as exc:
            problems.extend(exc.problems)
            failed = True
            continue
        plans.append(plan)
        problems.extend(warnings)
    problems.extend(_shared_numbers(plans))
    if failed or any(not p.warning for p in problems):
        raise PlanError(problems)
    return PlanBook(tuple(plans)), problems


def plan_files(paths: Iterable[FilePath]) -> list[FilePath]:
    """The plan files named, folders expanded to their *.yaml files."""
    files: list[FilePath] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")))
        else:
            files.append(path)
    return files


def _shared_numbers(plans: list[Plan]) -> list[Problem]:
    owner: dict[str, Plan] = {}
    problems = []
    for plan in plans:
        for number in plan.spec.numbers:
            if number in owner:
                problems.append(
                    Problem(
                        plan.file,
                        1,
                        1,
                        f"number {number} is claimed by plan '{owner[number].name}' "
                        f"({owner[number].file}) and by plan '{plan.name}'",
                        "a number can ring into one plan only: remove it from one of them",
                    )
                )
            else:
                owner[number] = plan
    return problems


def _schema_problems(exc: ValidationError, source: Source) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        shown = [str(p) for p in loc if _in_file(source, loc, p)]
        where = ".".join(shown) or "the plan"
        problems.append(source.problem(loc, _message(where, error), _fix(error)))
    return problems


def _in_file(source: Source, loc: tuple[Any, ...], part: Any) -> bool:
    # Discriminated unions add the tag ('menu') to pydantic's location; the file has no such key.
    index = loc.index(part)
    prefix = loc[: index + 1]
    return source.where(prefix) != source.where(loc[:index]) or index == 0


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
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}"


def _fix(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "remove it or check its spelling"
    if kind == "missing":
        return "add it"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return "set type to one of: " + ", ".join(error["ctx"]["expected_tags"].split(", "))
    if kind == "string_pattern_mismatch":
        return "use lower-case letters, digits, '-' and '_' for names and digits for numbers"
    return ""
