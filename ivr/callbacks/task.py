"""One callback task: whom to call back, for which queue, and how the attempts went."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["pending", "done", "failed", "expired", "cancelled"]
Source = Literal["caller", "web", "abandon", "voicemail"]
OPEN: tuple[Status, ...] = ("pending",)

# What we dial: digits with an optional leading +; nothing else ever reaches a dial string.
NUMBER = re.compile(r"\+?[0-9]{6,15}")


def valid_number(number: str) -> bool:
    """True for a number we may dial: 6 to 15 digits, an optional leading +."""
    return NUMBER.fullmatch(number) is not None


@dataclass
class CallbackTask:
    """A callback; `place` (epoch seconds) is the caller's place in line, kept from their wait."""

    id: str
    number: str
    queue: str
    source: Source
    requested_at: float
    place: float
    topic: str = ""
    language: str = ""
    priority: int = 0
    not_before: float | None = None
    not_after: float | None = None
    voicemail: str = ""  # the recording's name, for voicemail tasks
    status: Status = "pending"
    attempts: int = 0
    next_attempt_at: float = 0.0
    history: list[dict[str, str]] = field(default_factory=list)  # every attempt and outcome
    reference: str = ""  # web requests: the unguessable key the website reads the task back by

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields, for the store and the API."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallbackTask:
        """The task a store kept (unknown fields from newer versions are ignored)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)
