"""The journal store port: an append-only log of call notes, read back by time."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Protocol

_decode = json.JSONDecoder().decode  # json.loads less its per-call checks (~0.75 M a month)


class Entry:
    """One stored note: when, which call (`""` for desk notes), what kind, and its fields.

    A store hands a note's fields over as the JSON text it keeps (`Entry.stored`), parsed the
    first time they are asked for: a report that reads the fields of a few kinds of note
    parses only those (most notes of a call are nodes and prompts)."""

    __slots__ = ("_fields", "_text", "at", "call_id", "kind")

    def __init__(
        self, at: float, call_id: str, kind: str, fields: dict[str, str] | None = None
    ) -> None:
        self.at = at
        self.call_id = call_id
        self.kind = kind
        self._fields: dict[str, str] | None = {} if fields is None else fields
        self._text = ""

    @classmethod
    def stored(cls, at: float, call_id: str, kind: str, text: str) -> Entry:
        """A note as a store read it, its fields still JSON text."""
        entry = cls.__new__(cls)
        entry.at, entry.call_id, entry.kind = at, call_id, kind
        entry._fields, entry._text = None, text
        return entry

    @property
    def fields(self) -> dict[str, str]:
        """The note's fields (parsed now if the store gave them as text)."""
        if self._fields is None:
            self._fields = _decode(self._text)
        return self._fields

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Entry):
            return NotImplemented
        return (self.at, self.call_id, self.kind, self.fields) == (
            other.at, other.call_id, other.kind, other.fields,
        )  # fmt: skip

    __hash__ = None  # type: ignore[assignment]  # fields are a dict: as unhashable as before

    def __repr__(self) -> str:
        return (f"Entry(at={self.at!r}, call_id={self.call_id!r}, kind={self.kind!r}, "
                f"fields={self.fields!r})")  # fmt: skip


class JournalStore(Protocol):
    """Where notes are kept for reports; adapters: SqliteJournal, RedisJournal."""

    def append(self, call_id: str, kind: str, fields: dict[str, str], at: float) -> None:
        """Keep one note; cheap enough to call on every note of every call."""
        ...

    def read(self, start: float, end: float) -> Iterator[Entry]:
        """Entries with `start <= at < end`, oldest first."""
        ...

    def prune(self, before: float) -> int:
        """Forget entries older than `before`; returns how many went (approximate on Redis)."""
        ...

    def close(self) -> None:
        """Flush what is pending and let go of the file or connection."""
        ...

    # --- erasure and retention of callers' data (ivr/ops/) ---
    def erase(self, doomed: Callable[[Entry], bool]) -> int:
        """Delete every entry `doomed` says yes to; how many went (a full scan)."""
        ...

    def rewrite(self, before: float, change: Callable[[Entry], dict[str, str] | None]) -> int:
        """Replace the fields of entries older than `before` where `change` gives new ones."""
        ...
