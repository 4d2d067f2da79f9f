"""The dial-plan language: what ops staff may write in `dialplans/*.yaml`, as pydantic models.

The models are frozen: a loaded plan never changes, so a call can keep the version it started on.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

# Prompt names end up in PBX media URIs and file paths: a strict set, no way out of the folder.
SOUND_NAME = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")
NODE_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
DIGITS = re.compile(r"^[0-9*#]{1,4}$")
DIALLED_NUMBER = re.compile(r"^\+?[0-9]{1,20}$")


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _check_prompt(item: str) -> str:
    kind, sep, name = item.partition(":")
    if not sep or kind != "sound":
        raise ValueError(
            f"prompt '{item}' is not understood; write sound:NAME (an Asterisk sound, "
            "for example sound:hello)"
        )
    if not SOUND_NAME.match(name):
        raise ValueError(
            f"sound name '{name}' may only hold letters, digits, '-', '_' and '/' between "
            "names (no '..', no leading '/')"
        )
    return item


Prompt = Annotated[str, BeforeValidator(lambda v: _check_prompt(v) if isinstance(v, str) else v)]
Prompts = Annotated[list[Prompt], BeforeValidator(_as_list)]
NodeName = Annotated[str, Field(pattern=NODE_NAME.pattern)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MenuNode(_Model):
    """Play a prompt and wait for a choice; replay on no input or a wrong key, then give up."""

    type: Literal["menu"]
    prompt: Prompts = Field(min_length=1)
    options: dict[str, NodeName] = Field(min_length=1)
    timeout: float = Field(5.0, gt=0, le=60, description="seconds to wait for the first key")
    inter_digit_timeout: float = Field(2.0, gt=0, le=10, description="seconds between keys")
    retries: int = Field(2, ge=0, le=9, description="replays after no input or a wrong key")
    barge_in: bool = Field(True, description="a key pressed during the prompt counts")
    invalid: Prompts = Field(default_factory=lambda: ["sound:pbx-invalid"])
    no_input: Prompts = Field(default_factory=list)
    exhausted: NodeName | None = Field(
        None, description="where to go when retries run out; default: goodbye and hang up"
    )

    @field_validator("options", mode="before")
    @classmethod
    def _digit_keys(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        options: dict[str, Any] = {}
        for key, target in value.items():
            digits = str(key)
            if not DIGITS.match(digits):
                raise ValueError(
                    f"option '{digits}' is not a key sequence; use 1 to 4 of 0-9, * and # "
                    "(quote '*' and '#' in YAML)"
                )
            options[digits] = target
        return options


class PlayNode(_Model):
    """Play one or more prompts, then go on."""

    type: Literal["play"]
    prompt: Prompts = Field(min_length=1)
    next: NodeName


class HangupNode(_Model):
    """Say a last prompt (optional) and end the call."""

    type: Literal["hangup"]
    prompt: Prompts = Field(default_factory=list)


class GotoNode(_Model):
    """Continue at another node."""

    type: Literal["goto"]
    target: NodeName


Node = Annotated[MenuNode | PlayNode | HangupNode | GotoNode, Field(discriminator="type")]


class PlanSpec(_Model):
    """One shop's plan: the numbers it answers and a graph of named nodes starting at `start`."""

    name: Annotated[str, Field(pattern=NODE_NAME.pattern)]
    numbers: list[Annotated[str, Field(pattern=DIALLED_NUMBER.pattern)]] = Field(min_length=1)
    language: Annotated[str, Field(pattern=r"^[a-z]{2}(_[A-Za-z0-9]+)*$")] = "en"
    goodbye: Prompts = Field(
        default_factory=lambda: ["sound:goodbye"],
        description="said before hanging up when a menu gives up",
    )
    nodes: dict[NodeName, Node] = Field(min_length=1)

    @field_validator("numbers", mode="before")
    @classmethod
    def _numbers_as_text(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [str(v) if isinstance(v, int) else v for v in value]
        return _as_list(str(value)) if isinstance(value, int) else _as_list(value)


def node_targets(node: Node) -> list[tuple[tuple[str | int, ...], str]]:
    """Every node name `node` can lead to, with the path (inside the node) that names it."""
    match node:
        case MenuNode():
            targets: list[tuple[tuple[str | int, ...], str]] = [
                (("options", digits), target) for digits, target in node.options.items()
            ]
            if node.exhausted:
                targets.append((("exhausted",), node.exhausted))
            return targets
        case PlayNode():
            return [(("next",), node.next)]
        case GotoNode():
            return [(("target",), node.target)]
        case HangupNode():
            return []
