"""Live state in memory: the store port's test double, beside the real ones (SQLite, Redis)."""

from __future__ import annotations

import copy
from typing import Any


class MemoryLive:
    """Records by kind and key in a dict; `writes` counts puts and drops."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, dict[str, Any]]] = {}
        self.writes = 0

    def put(self, kind: str, key: str, record: dict[str, Any]) -> None:
        """Keep a copy, as a real store keeps what was written, not the live object."""
        self.records.setdefault(kind, {})[key] = copy.deepcopy(record)
        self.writes += 1

    def drop(self, kind: str, key: str) -> None:
        """Forget the record, if any."""
        self.records.get(kind, {}).pop(key, None)
        self.writes += 1

    def load(self, kind: str) -> dict[str, dict[str, Any]]:
        """Copies of every record of `kind`."""
        return copy.deepcopy(self.records.get(kind, {}))

    def close(self) -> None:
        """Nothing to let go of."""
