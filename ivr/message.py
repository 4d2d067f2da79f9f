"""The core's messages (events, commands, legs, routing answers): frozen to the type checker,
plain slotted dataclasses at run time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar, dataclass_transform

T = TypeVar("T")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def message(cls: type[T]) -> type[T]:
    """A message class: mypy refuses any assignment to its fields, as for a frozen dataclass.

    Why not frozen at run time: a frozen dataclass sets each field through
    object.__setattr__, and the core makes some 30 messages a call; that was a tenth of a
    simulated month's CPU (`bench/simulate.py`). mypy, which CI runs, keeps them read-only.
    Equal messages still hash alike, as frozen ones did."""
    return dataclass(slots=True, unsafe_hash=True)(cls)
