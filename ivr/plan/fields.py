"""The values plan fields hold: names, numbers, languages and texts, as pydantic types.

Every part of a plan is a `PlanModel`: unknown fields are refused, and a loaded plan never
changes, so a call can keep the version it started on.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

NODE_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
DIALLED_NUMBER = re.compile(r"^\+?[0-9]{1,20}$")
VAR_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
LANGUAGE = re.compile(r"^[a-z]{2}(_[A-Za-z0-9]+)*$")
# `goto` may leave the plan: `other-plan:node`.
TARGET = re.compile(r"^([a-z][a-z0-9_-]*:)?[a-z][a-z0-9_-]*$")
EXTENSION = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
MAILBOX = re.compile(r"^[A-Za-z0-9_-]{1,40}(@[A-Za-z0-9_-]{1,40})?$")
FIELD_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
PARAM_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class PlanModel(BaseModel):
    """A part of a plan: unknown fields refused, frozen once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def as_list(value: Any) -> Any:
    """One item where a list is expected, as that list."""
    return [value] if isinstance(value, str | int) and not isinstance(value, bool) else value


def as_text(value: Any) -> Any:
    """YAML scalars as the text a caller's keys or a backend's answer would compare to."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


NodeName = Annotated[str, Field(pattern=NODE_NAME.pattern)]
VarName = Annotated[str, Field(pattern=VAR_NAME.pattern)]
Language = Annotated[str, Field(pattern=LANGUAGE.pattern)]
_NumberText = Annotated[str, Field(pattern=DIALLED_NUMBER.pattern)]
Number = Annotated[
    str,
    Field(pattern=DIALLED_NUMBER.pattern),
    BeforeValidator(as_text, json_schema_input_type=_NumberText | int),
]
Numbers = Annotated[
    list[Number],
    BeforeValidator(as_list, json_schema_input_type=_NumberText | int | list[_NumberText | int]),
]
Text = Annotated[str, BeforeValidator(as_text, json_schema_input_type=str | int | float | bool)]
FieldPath = Annotated[str, Field(pattern=FIELD_PATH.pattern)]
