"""A caller's earlier calls as the journal tells them, for the screen pop: when, the topic,
how each ended and the agent's disposition; and how many calls the number made today.

Both stores answer it from an index on the arrival notes' `caller_number` (SQLite: a partial
index on the JSON field; Redis: a sorted set per number), so the journal's numbers decide:
a number masked by retention or erased by `ivr erase` has no history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ARRIVED = "arrived"
NUMBER_FIELD = "caller_number"
MASKED = "masked"  # what retention writes over a number (ivr/ops/retention.py)
# The notes a summary is folded from, and the field each gives: kind -> (field, summary key).
SUMMARY_FIELDS: dict[str, tuple[str, str]] = {
    "tag": ("tag", "topic"),
    "ended": ("outcome", "outcome"),
    "disposition": ("disposition", "disposition"),
}
MIN_DIGITS = 3  # fewer is no caller's number: withheld (""), "anonymous", a short extension


def has_history(number: str) -> bool:
    """Whether calls from `number` can be told apart from others': withheld and masked
    numbers are everybody's, so they have no history."""
    return number != MASKED and sum(c.isdigit() for c in number) >= MIN_DIGITS


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """Which earlier calls to find: from `number` (or the same number spelled as in `others`:
    networks send 89001234567 for +79001234567), but not the call `current`; arrived at or
    after `since`, the newest `limit` of them; and how many arrived at or after `day_start`."""

    number: str
    current: str
    since: float
    day_start: float
    limit: int
    others: tuple[str, ...] = ()

    @property
    def numbers(self) -> tuple[str, ...]:
        """Every spelling to look up; none when the number has no history."""
        if not has_history(self.number):
            return ()
        return tuple(n for n in dict.fromkeys((self.number, *self.others)) if has_history(n))


@dataclass(slots=True)
class EarlierCall:
    """One earlier call from the number, as the screen pop shows it."""

    call: str
    at: float
    topic: str = ""
    outcome: str = ""
    disposition: str = ""

    def fold(self, kind: str, fields: dict[str, str]) -> None:
        """Take what one of the call's notes says (the last tag and disposition win)."""
        field, key = SUMMARY_FIELDS[kind]
        setattr(self, key, fields.get(field, ""))

    def shown(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"call": self.call, "at": self.at, "topic": self.topic, "outcome": self.outcome,
                "disposition": self.disposition}  # fmt: skip


@dataclass(frozen=True, slots=True)
class CallerHistory:
    """The earlier calls found (newest first) and the number's calls today, `current` left
    out of both."""

    calls: tuple[EarlierCall, ...] = ()
    today: int = 0
