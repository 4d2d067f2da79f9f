"""The ports the core needs, in its own words: a PBX to carry out commands and send events
back, the shop's backend for lookups, a sink for journal notes, a store for callback tasks.

Their adapters live outside the core: ivr/pbx/{ari,ami,sim}, ivr/lookups/{http,sim},
ivr/journal/ (the notes' fan-out) and ivr/store/ (SQLite, Redis).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from ivr.calls.commands import Lookup, Note, PbxCommand
from ivr.calls.events import CallEvent

EventSink = Callable[[CallEvent], None]


class PbxPort(Protocol):
    """A PBX the core can drive. Commands for one call are carried out in the order sent."""

    def send(self, command: PbxCommand) -> None:
        """Queue `command`; failures come back as events (a vanished call as CallHungUp)."""
        ...


class LookupPort(Protocol):
    """The shop's backend. Each Lookup is answered by exactly one LookupDone, delivered later
    (never from inside send) through the same event sink as the PBX's events."""

    def send(self, command: Lookup) -> None:
        """Start the request; failures and timeouts come back as LookupDone(ok=False)."""
        ...


class NoteSink(Protocol):
    """Where journal notes go (log, metrics, store, listeners)."""

    def record(self, note: Note, at: float) -> None: ...


class CallbackStore(Protocol):
    """Where callback tasks are kept (JSON objects by `id`), so a restart loses none."""

    def save(self, task: dict[str, Any]) -> None:
        """Keep the task as it is now, replacing its earlier state. Returns at once; the
        daemon's store lands it moments later, in order (docs/architecture.md, live state)."""
        ...

    def load(self, since: float) -> list[dict[str, Any]]:
        """Every pending task, and the others requested at or after `since`."""
        ...

    def close(self) -> None:
        """Let go of the file or connection."""
        ...

    def delete(self, task_ids: Iterable[str]) -> int:
        """Forget these tasks (erasure, retention); how many there were."""
        ...


class LiveStore(Protocol):
    """What a restart must not lose of live calls and agents: one record per kind and key,
    each write returning at once and landing in the order made, moments later in the daemon
    (a slow store never holds calls: docs/architecture.md, live state)."""

    def put(self, kind: str, key: str, record: dict[str, Any]) -> None:
        """Keep `record`, replacing the one kept for `kind` and `key`."""
        ...

    def drop(self, kind: str, key: str) -> None:
        """Forget the record of `kind` and `key`, if any."""
        ...

    def load(self, kind: str) -> dict[str, dict[str, Any]]:
        """Every record of `kind`, by key."""
        ...

    def close(self) -> None:
        """Let go of the file or connection."""
        ...
