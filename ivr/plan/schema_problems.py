"""Schema errors as ops staff read them: where in the file, what is wrong, how to fix it."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError

from ivr.plan.cases import Case
from ivr.plan.errors import Problem
from ivr.plan.fields import (
    DIALLED_NUMBER,
    EXTENSION,
    FIELD_PATH,
    LANGUAGE,
    MAILBOX,
    NODE_NAME,
    PARAM_NAME,
    TARGET,
    VAR_NAME,
)
from ivr.plan.nodes import NODE_KINDS, Route
from ivr.plan.queues import SETTINGS_FIX
from ivr.plan.source import Source
from ivr.plan.spec import PlanSpec
from ivr.schedule.holidays import HolidaySpec
from ivr.schedule.spec import ScheduleSpec


def schema_problems(exc: ValidationError, source: Source) -> list[Problem]:
    """Each of pydantic's errors about a plan file as a located Problem."""
    problems = []
    for error in exc.errors():
        loc = _file_path(tuple(error["loc"]), source.data)
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


def _file_path(loc: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """Pydantic's location with the node kinds it adds for tagged unions taken out.

    A queue node's kind is also one of its fields (`queue:`): left in, an unknown field of a
    queue node would be shown, and located, as its `queue`.
    """
    path: list[Any] = []
    dropped = -1
    for part in loc:
        if (
            dropped != len(path)
            and isinstance(data, dict)
            and isinstance(part, str)
            and part in NODE_KINDS
            and data.get("type") == part
            and len(path) >= 2
            and path[-2] == "nodes"
        ):
            dropped = len(path)
            continue  # the tag pydantic adds after nodes.NAME
        path.append(part)
        if isinstance(data, dict):
            data = _lookup(data, part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            data = None
    return tuple(path)


def _lookup(data: dict[Any, Any], part: Any) -> Any:
    if part in data:
        return data[part]
    if isinstance(part, str) and part.isascii() and part.isdigit():
        return data.get(int(part))  # menu keys are text in the model, numbers in the YAML
    return None


def _message(where: str, error: Any) -> str:
    kind = error["type"]
    if kind == "queue_settings":
        return str(error["msg"])  # worded with the queue's name where it was found
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
    if kind == "queue_settings":
        return SETTINGS_FIX
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
    models += NODE_KINDS.values()
    return sorted({f.alias or name for m in models for name, f in m.model_fields.items()})


# Every field a plan may hold (aliases as written), for "did you mean" on unknown ones.
FIELD_NAMES = _field_names()
NODE_TYPES = [f"'{kind}'" for kind in NODE_KINDS]
